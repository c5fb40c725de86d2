/**
 * Scaled dot-product attention with an explicit mask, forward and backward, on flat buffers.
 *
 * Shapes: q (BH, Tq, D), k and v (BH, Tk, D), mask (Tq, Tk) with 1 = may attend, 0 = blocked; the same mask
 * applies to every batch·head slice. The probabilities P (BH, Tq, Tk) are saved for the backward pass.
 *
 * @module
 */
import { getBackend } from "./backend.ts";
import { gemm } from "./matmul.ts";
import { softmaxBackward } from "./softmax.ts";
import type { Float } from "./types.ts";
import { attentionParallel, getThreads } from "./wasm/pool.ts";
import { OP_ATTN_BWD, OP_ATTN_FWD } from "./wasm/protocol.ts";
import { residentAddress, wasmAvailable, wasmHeap, wasmKernels } from "./wasm/runtime.ts";

// The probabilities of one head after inverted dropout: P itself (at offset po) when there is no dropout, else the
// kept entries scaled into `out` (at offset 0).
function afterDropout(
  P: Float,
  po: number,
  n: number,
  keep: Uint8Array | null,
  keepScale: number,
  out: Float | null,
): [Float, number] {
  if (keep === null || out === null) return [P, po];
  for (let t = 0; t < n; t++) out[t] = keep[po + t] ? P[po + t] * keepScale : 0;
  return [out, 0];
}

/** Sizes shared by the attention kernels. */
export interface AttentionDims {
  /** Batch × heads. */
  BH: number;
  /** Query positions. */
  Tq: number;
  /** Key/value positions. */
  Tk: number;
  /** Head dimension. */
  D: number;
  /** Score scale, usually 1/√D. */
  scale: number;
}

/**
 * y = dropout(softmax(mask(q·kᵀ·scale))) · v. Fills `probs` with the softmax (before dropout). `keep`, when given,
 * holds one 0/1 byte per probability and `keepScale` = 1/(1−p) multiplies the kept ones (inverted dropout).
 * A row whose mask is all zero gets all-zero probabilities (and output). Runs on the WASM kernels for float32
 * storage unless the backend is `js`.
 */
export function attentionForward(
  q: Float,
  k: Float,
  v: Float,
  mask: Uint8Array,
  probs: Float,
  y: Float,
  d: AttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  if (useWasm(q)) {
    const L = headsLayout(d.Tq, d.D), Lk = headsLayout(d.Tk, d.D);
    const ops = { q, k, v, y, qL: L, kL: Lk, vL: Lk, yL: L };
    attentionWasm("fwd", { ...d, H: 1 }, ops, mask, probs as Float32Array, keep, keepScale);
    return;
  }
  attentionForwardJs(q, k, v, mask, probs, y, d, keep, keepScale);
}

/** The plain TypeScript forward (the `js` backend and float64). */
export function attentionForwardJs(
  q: Float,
  k: Float,
  v: Float,
  mask: Uint8Array,
  probs: Float,
  y: Float,
  d: AttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  const { BH, Tq, Tk, D, scale } = d;
  const P = probs;
  const dropped = keep === null ? null : new (P.constructor as { new (n: number): Float })(Tq * Tk);
  for (let h = 0; h < BH; h++) {
    const po = h * Tq * Tk;
    gemm({
      transA: false,
      transB: true,
      M: Tq,
      N: Tk,
      K: D,
      A: q,
      aOff: h * Tq * D,
      B: k,
      bOff: h * Tk * D,
      C: P,
      cOff: po,
      accumulate: false,
    });
    for (let i = 0; i < Tq; i++) {
      const o = po + i * Tk, mo = i * Tk;
      let max = -Infinity;
      for (let j = 0; j < Tk; j++) {
        if (mask[mo + j] === 0) continue;
        const s = P[o + j] * scale;
        P[o + j] = s;
        if (s > max) max = s;
      }
      if (max === -Infinity) {
        P.fill(0, o, o + Tk);
        continue;
      }
      let sum = 0;
      for (let j = 0; j < Tk; j++) {
        if (mask[mo + j] === 0) {
          P[o + j] = 0;
          continue;
        }
        const e = Math.exp(P[o + j] - max);
        P[o + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < Tk; j++) P[o + j] *= inv;
    }
    const [src, srcOff] = afterDropout(P, po, Tq * Tk, keep, keepScale, dropped);
    gemm({
      transA: false,
      transB: false,
      M: Tq,
      N: D,
      K: Tk,
      A: src,
      aOff: srcOff,
      B: v,
      bOff: h * Tk * D,
      C: y,
      cOff: h * Tq * D,
      accumulate: false,
    });
  }
}

/**
 * Gradients of {@link attentionForward}: writes dq, dk, dv (overwriting them). Passing the forward's `mask` lets
 * the kernels skip the blocked part of the products (without it they compute everything).
 */
export function attentionBackward(
  q: Float,
  k: Float,
  v: Float,
  probs: Float,
  dy: Float,
  dq: Float,
  dk: Float,
  dv: Float,
  d: AttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
  mask: Uint8Array | null = null,
): void {
  if (useWasm(q)) {
    const L = headsLayout(d.Tq, d.D), Lk = headsLayout(d.Tk, d.D);
    const ops = { q, k, v, y: dy, qL: L, kL: Lk, vL: Lk, yL: L, dq, dk, dv };
    attentionWasm("bwd", { ...d, H: 1 }, ops, mask, probs as Float32Array, keep, keepScale);
    return;
  }
  attentionBackwardJs(q, k, v, probs, dy, dq, dk, dv, d, keep, keepScale);
}

/** The plain TypeScript backward (the `js` backend and float64). */
export function attentionBackwardJs(
  q: Float,
  k: Float,
  v: Float,
  probs: Float,
  dy: Float,
  dq: Float,
  dk: Float,
  dv: Float,
  d: AttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  const { BH, Tq, Tk, D, scale } = d;
  const Ctor = probs.constructor as { new (n: number): Float };
  const dP = new Ctor(Tq * Tk);
  const dS = new Ctor(Tq * Tk);
  const dropped = keep === null ? null : new Ctor(Tq * Tk);
  for (let h = 0; h < BH; h++) {
    const po = h * Tq * Tk, qo = h * Tq * D, ko = h * Tk * D;
    // dv = P'ᵀ · dy, with P' the probabilities after dropout.
    const [src, srcOff] = afterDropout(probs, po, Tq * Tk, keep, keepScale, dropped);
    gemm({
      transA: true,
      transB: false,
      M: Tk,
      N: D,
      K: Tq,
      A: src,
      aOff: srcOff,
      B: dy,
      bOff: qo,
      C: dv,
      cOff: ko,
      accumulate: false,
    });
    // dP' = dy · vᵀ, then through dropout and softmax.
    gemm({
      transA: false,
      transB: true,
      M: Tq,
      N: Tk,
      K: D,
      A: dy,
      aOff: qo,
      B: v,
      bOff: ko,
      C: dP,
      cOff: 0,
      accumulate: false,
    });
    if (keep !== null) { for (let t = 0; t < Tq * Tk; t++) dP[t] = keep[po + t] ? dP[t] * keepScale : 0; }
    softmaxBackward(probs.subarray(po, po + Tq * Tk), dP, dS, Tq, Tk);
    for (let t = 0; t < Tq * Tk; t++) dS[t] *= scale;
    gemm({
      transA: false,
      transB: false,
      M: Tq,
      N: D,
      K: Tk,
      A: dS,
      aOff: 0,
      B: k,
      bOff: ko,
      C: dq,
      cOff: qo,
      accumulate: false,
    });
    gemm({
      transA: true,
      transB: false,
      M: Tk,
      N: D,
      K: Tq,
      A: dS,
      aOff: 0,
      B: q,
      bOff: qo,
      C: dk,
      cOff: ko,
      accumulate: false,
    });
  }
}

/**
 * Where the (batch, head) slices of one operand live in its flat storage: element (b, h, t, d) sits at
 * `offset + b·batch + h·head + t·row + d`.
 */
export interface SliceLayout {
  /** First element. */
  offset: number;
  /** Elements between batch entries. */
  batch: number;
  /** Elements between heads. */
  head: number;
  /** Elements between positions. */
  row: number;
}

// Contiguous (BH, T, D) slices, seen as BH batch entries of one head each.
function headsLayout(T: number, D: number): SliceLayout {
  return { offset: 0, batch: T * D, head: T * D, row: D };
}

/** Dimensions of the packed attention: {@link AttentionDims} plus the batch and head counts (BH = B·H). */
export interface PackedAttentionDims extends AttentionDims {
  /** Heads. */
  H: number;
}

// Layouts of q, k, v inside the fused projection output (B, T, 3C) and of the merged output (B, T, C).
function packedLayouts(
  d: PackedAttentionDims,
): { q: SliceLayout; k: SliceLayout; v: SliceLayout; y: SliceLayout } {
  const C = d.H * d.D, T = d.Tq;
  const part = (i: number): SliceLayout => ({ offset: i * C, batch: T * 3 * C, head: d.D, row: 3 * C });
  return { q: part(0), k: part(1), v: part(2), y: { offset: 0, batch: T * C, head: d.D, row: C } };
}

/**
 * Self-attention on the fused projection output: qkv (B, T, 3C) holds q, k, v side by side in each row (nanoGPT's
 * c_attn split), y (B, T, C) receives the heads merged back (the input of c_proj). Same semantics as
 * {@link attentionForward} with Tq = Tk = T and C = H·D, without any permute or copy of the heads.
 */
export function packedAttentionForward(
  qkv: Float,
  mask: Uint8Array,
  probs: Float,
  y: Float,
  d: PackedAttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  const L = packedLayouts(d);
  if (useWasm(qkv)) {
    const ops = { q: qkv, k: qkv, v: qkv, y, qL: L.q, kL: L.k, vL: L.v, yL: L.y };
    attentionWasm("fwd", d, ops, mask, probs as Float32Array, keep, keepScale);
    return;
  }
  const q = gather(qkv, L.q, d), k = gather(qkv, L.k, d), v = gather(qkv, L.v, d);
  const yh = new (qkv.constructor as { new (n: number): Float })(q.length);
  attentionForwardJs(q, k, v, mask, probs, yh, d, keep, keepScale);
  scatter(yh, y, L.y, d);
}

/**
 * Gradient of {@link packedAttentionForward}: writes dqkv (B, T, 3C) from dy (B, T, C), overwriting it. `mask` as
 * in {@link attentionBackward}.
 */
export function packedAttentionBackward(
  qkv: Float,
  probs: Float,
  dy: Float,
  dqkv: Float,
  d: PackedAttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
  mask: Uint8Array | null = null,
): void {
  const L = packedLayouts(d);
  if (useWasm(qkv)) {
    const ops = {
      q: qkv,
      k: qkv,
      v: qkv,
      y: dy,
      qL: L.q,
      kL: L.k,
      vL: L.v,
      yL: L.y,
      dq: dqkv,
      dk: dqkv,
      dv: dqkv,
    };
    attentionWasm("bwd", d, ops, mask, probs as Float32Array, keep, keepScale);
    return;
  }
  const q = gather(qkv, L.q, d), k = gather(qkv, L.k, d), v = gather(qkv, L.v, d), g = gather(dy, L.y, d);
  const Ctor = qkv.constructor as { new (n: number): Float };
  const dq = new Ctor(q.length), dk = new Ctor(q.length), dv = new Ctor(q.length);
  attentionBackwardJs(q, k, v, probs, g, dq, dk, dv, d, keep, keepScale);
  scatter(dq, dqkv, L.q, d);
  scatter(dk, dqkv, L.k, d);
  scatter(dv, dqkv, L.v, d);
}

/**
 * Attention of T new positions over a KV cache, in place (inference; WASM kernels only, see
 * {@link cachedAttentionSupported}): q comes from the fused projection output qkv (B, T, 3C), keys and values from
 * the cache buffers kCache / vCache (B, H, capacity, D), of which the first `d.Tk` positions are valid (the new
 * ones already appended). Writes y (B, T, C) and the probabilities (B·H, T, Tk).
 */
export function cachedAttentionForward(
  qkv: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  capacity: number,
  mask: Uint8Array,
  probs: Float32Array,
  y: Float32Array,
  d: PackedAttentionDims,
): void {
  const L = packedLayouts(d);
  const cacheL: SliceLayout = { offset: 0, batch: d.H * capacity * d.D, head: capacity * d.D, row: d.D };
  const ops = { q: qkv, k: kCache, v: vCache, y, qL: L.q, kL: cacheL, vL: cacheL, yL: L.y };
  attentionWasm("fwd", d, ops, mask, probs, null, 1);
}

/** Whether {@link cachedAttentionForward} can run on this storage (float32, WASM kernels, backend not `js`). */
export function cachedAttentionSupported(x: Float): x is Float32Array {
  return useWasm(x);
}

// Calls `f(o, c)` for every row of every slice: `o` is the row's offset in a buffer of layout L, `c` its offset
// in a contiguous (BH, T, D) buffer.
function forEachRow(L: SliceLayout, d: PackedAttentionDims, f: (o: number, c: number) => void): void {
  const { BH, H, Tq: T, D } = d;
  for (let bh = 0; bh < BH; bh++) {
    const b = Math.floor(bh / H), base = L.offset + b * L.batch + (bh - b * H) * L.head;
    for (let t = 0; t < T; t++) f(base + t * L.row, (bh * T + t) * D);
  }
}

// Copies the slices of `src` (layout L) into a contiguous (BH, T, D) buffer.
function gather(src: Float, L: SliceLayout, d: PackedAttentionDims): Float {
  const out = new (src.constructor as { new (n: number): Float })(d.BH * d.Tq * d.D);
  forEachRow(L, d, (o, c) => out.set(src.subarray(o, o + d.D), c));
  return out;
}

// The inverse of gather: contiguous (BH, T, D) slices into `dst` (layout L).
function scatter(src: Float, dst: Float, L: SliceLayout, d: PackedAttentionDims): void {
  forEachRow(L, d, (o, c) => dst.set(src.subarray(c, c + d.D), o));
}

function useWasm(x: Float): x is Float32Array {
  return x instanceof Float32Array && getBackend() !== "js" && wasmAvailable();
}

/** The operands of one wasm attention call; q, k, v (and dq, dk, dv) may share one storage. */
interface WasmOperands {
  q: Float;
  k: Float;
  v: Float;
  /** y for the forward, dy for the backward. */
  y: Float;
  qL: SliceLayout;
  kL: SliceLayout;
  vL: SliceLayout;
  yL: SliceLayout;
  dq?: Float;
  dk?: Float;
  dv?: Float;
}

const rangesCache = new WeakMap<Uint8Array, Int32Array>();

// For each query row the span [lo, hi) of its allowed keys, and for each key the span of the queries allowed to
// see it (empty rows: 0, 0), as rowLo, rowHi, colLo, colHi back to back; no mask means everything.
function maskRanges(mask: Uint8Array | null, Tq: number, Tk: number): Int32Array {
  const cached = mask === null ? undefined : rangesCache.get(mask);
  if (cached !== undefined && cached.length === 2 * (Tq + Tk)) return cached;
  const r = new Int32Array(2 * (Tq + Tk));
  const rowLo = r.subarray(0, Tq), rowHi = r.subarray(Tq, 2 * Tq);
  const colLo = r.subarray(2 * Tq, 2 * Tq + Tk), colHi = r.subarray(2 * Tq + Tk);
  if (mask === null) {
    rowHi.fill(Tk);
    colHi.fill(Tq);
    return r;
  }
  colLo.fill(Tq);
  for (let i = 0; i < Tq; i++) {
    let lo = Tk, hi = 0;
    for (let j = 0, o = i * Tk; j < Tk; j++) {
      if (mask[o + j] === 0) continue;
      if (lo === Tk) lo = j;
      hi = j + 1;
      if (colLo[j] > i) colLo[j] = i;
      colHi[j] = i + 1;
    }
    rowLo[i] = hi > 0 ? lo : 0;
    rowHi[i] = hi;
  }
  for (let j = 0; j < Tk; j++) if (colHi[j] === 0) colLo[j] = 0;
  rangesCache.set(mask, r);
  return r;
}

/** Slots of the descriptor read by attn_fwd / attn_bwd (see assembly/attention.ts). */
const DESC_SLOTS = 32;

// Runs attn_fwd or attn_bwd: copies the distinct storages into the kernel memory once each, writes the
// descriptor, splits the slices over the pool, and copies the outputs (y and probs, or dq, dk, dv) back.
function attentionWasm(
  dir: "fwd" | "bwd",
  d: PackedAttentionDims,
  o: WasmOperands,
  mask: Uint8Array | null,
  probs: Float32Array,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  const kern = wasmKernels()!;
  const { BH, Tq, Tk, D } = d;
  // float offsets: the descriptor first, then each distinct input storage, the outputs, probs, byte masks
  // (storages that already live in the kernel memory, like a KV cache, are read and written in place)
  let top = DESC_SLOTS;
  const placed = new Map<Float, number>();
  const resident = new Map<Float, number>();
  const place = (a: Float): number => {
    let at = placed.get(a);
    if (at === undefined) {
      const r = residentAddress(a);
      if (r >= 0) resident.set(a, r);
      at = top;
      placed.set(a, at);
      if (r < 0) top = (top + a.length + 3) & ~3;
    }
    return at;
  };
  const inputs = dir === "fwd" ? [o.q, o.k, o.v] : [o.q, o.k, o.v, o.y];
  for (const a of inputs) place(a);
  const outputs = dir === "fwd" ? [o.y] : [o.dq!, o.dk!, o.dv!];
  for (const a of outputs) place(a);
  const probsAt = place(probs);
  const ranges = maskRanges(mask, Tq, Tk);
  const rangesAt = top;
  top += ranges.length + 3 & ~3;
  const maskAt = top, maskBytes = dir === "fwd" && mask !== null ? Tq * Tk : 0; // only the forward reads it
  const keepAt = maskAt + ((maskBytes + 15) >> 2 & ~3), keepBytes = keep === null ? 0 : BH * Tq * Tk;
  const scratchAt = keepAt + ((keepBytes + 15) >> 2 & ~3);
  // the per-thread scratch size comes from the kernel (it only reads the dimensions)
  const dims = wasmHeap(DESC_SLOTS);
  new Int32Array(dims.buffer, dims.byteOffset, 4).set([d.H, Tq, Tk, D]);
  const stride = kern.attn_scratch_bytes(dims.byteOffset) >> 2;
  const heap = wasmHeap(scratchAt + stride * getThreads()), base = heap.byteOffset;
  const desc = new Int32Array(heap.buffer, base, DESC_SLOTS);
  const descF = new Float32Array(heap.buffer, base, DESC_SLOTS);
  const ptr = (a: Float, L: SliceLayout) => (resident.get(a) ?? base + placed.get(a)! * 4) + L.offset * 4;
  const layout = (slot: number, a: Float, L: SliceLayout) => {
    desc.set([ptr(a, L), L.batch, L.head, L.row], slot);
  };
  desc.set([d.H, Tq, Tk, D]);
  layout(4, o.q, o.qL);
  layout(8, o.k, o.kL);
  layout(12, o.v, o.vL);
  layout(16, o.y, o.yL);
  desc[20] = ptr(probs, { offset: 0, batch: 0, head: 0, row: 0 });
  desc[21] = base + maskAt * 4;
  desc[22] = keep === null ? 0 : base + keepAt * 4;
  descF[23] = d.scale;
  descF[24] = keepScale;
  desc[29] = base + rangesAt * 4;
  new Int32Array(heap.buffer, base + rangesAt * 4, ranges.length).set(ranges);
  if (dir === "bwd") desc.set([ptr(o.y, o.yL), ptr(o.dq!, o.qL), ptr(o.dk!, o.kL), ptr(o.dv!, o.vL)], 25);
  for (const a of new Set(inputs)) if (!resident.has(a)) heap.set(a as Float32Array, placed.get(a)!);
  if (dir === "bwd" && !resident.has(probs)) heap.set(probs, probsAt);
  const bytes = new Uint8Array(heap.buffer, base);
  if (maskBytes > 0) bytes.set(mask!, maskAt * 4);
  if (keep !== null) bytes.set(keep, keepAt * 4);
  const work = BH * Tq * Tk * D;
  attentionParallel(
    dir === "fwd" ? OP_ATTN_FWD : OP_ATTN_BWD,
    base,
    BH,
    base + scratchAt * 4,
    stride * 4,
    work,
  );
  for (const a of new Set(outputs)) {
    if (resident.has(a)) continue;
    const at = placed.get(a)!;
    (a as Float32Array).set(heap.subarray(at, at + a.length));
  }
  if (dir === "fwd" && !resident.has(probs)) probs.set(heap.subarray(probsAt, probsAt + probs.length));
}
