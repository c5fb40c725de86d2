/**
 * Scaled dot-product attention with an explicit mask, forward and backward, on flat buffers.
 *
 * Shapes: q (BH, Tq, D), k and v (BH, Tk, D), mask (Tq, Tk) with 1 = may attend, 0 = blocked; the same mask
 * applies to every batch·head slice. The probabilities P (BH, Tq, Tk) are saved for the backward pass.
 *
 * @module
 */
import {
  commitSlices,
  headsLayout,
  maskRanges,
  runSlices,
  setLayout,
  type SliceLayout,
  SLOT,
  useWasm,
} from "./attention_wasm.ts";
import { gemm } from "./matmul.ts";
import { softmaxBackward } from "./softmax.ts";
import type { Float } from "./types.ts";
import { sumRows } from "./wasm/jobs.ts";
import { OP_ATTN_BWD, OP_ATTN_FWD } from "./wasm/protocol.ts";
import { wasmKernels } from "./wasm/runtime.ts";
import { Staging } from "./wasm/staging.ts";

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

/** The operands of one wasm attention call; q, k, v (and dq, dk, dv) may share one storage. */
export interface WasmOperands {
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

/** What T5's biased attention adds to a wasm attention call (see `relpos.ts`). */
export interface BiasOperands {
  /** (H, Tq, Tk) added to the scaled scores (shared by the batch), or null. */
  bias: Float32Array | null;
  /** Per batch row: key j is visible iff j < lengths[b]; null for all keys. */
  lengths: Int32Array | null;
  /** Backward: (H, Tq, Tk) into which the bias gradient is added, or null. */
  dbias: Float32Array | null;
}

/**
 * Runs attn_fwd or attn_bwd: stages the distinct storages in the kernel memory once each, writes the descriptor,
 * splits the slices over the pool, and copies the outputs (y and probs, or dq, dk, dv) back. `extra` adds a
 * score bias, key lengths and the bias gradient: each slice writes its score gradient, and the batch entries are
 * then summed into dbias in batch order (the same sums whatever the thread count).
 */
export function attentionWasm(
  dir: "fwd" | "bwd",
  d: PackedAttentionDims,
  o: WasmOperands,
  mask: Uint8Array | null,
  probs: Float32Array,
  keep: Uint8Array | null,
  keepScale: number,
  extra: BiasOperands | null = null,
): void {
  const kern = wasmKernels()!;
  const st = new Staging(SLOT.COUNT);
  const inputs = dir === "fwd" ? [o.q, o.k, o.v] : [o.q, o.k, o.v, o.y];
  for (const a of inputs) st.add(a as Float32Array, "in");
  const outputs = dir === "fwd" ? [o.y] : [o.dq!, o.dk!, o.dv!];
  for (const a of outputs) st.add(a as Float32Array, "out");
  st.add(probs, dir === "fwd" ? "out" : "in");
  const ranges = maskRanges(mask, d.Tq, d.Tk);
  st.add(ranges, "in");
  if (dir === "fwd" && mask !== null) st.add(mask, "in"); // only the forward reads it
  if (keep !== null) st.add(keep, "in");
  const bias = extra?.bias ?? null, lengths = extra?.lengths ?? null;
  const dbias = dir === "bwd" ? extra?.dbias ?? null : null, n = d.H * d.Tq * d.Tk;
  if (bias !== null) st.add(bias, "in");
  if (lengths !== null) st.add(lengths, "in");
  if (dbias !== null) st.add(dbias, "inout");
  const dsArea = dbias === null ? -1 : st.reserve(d.BH * d.Tq * d.Tk * 4);
  const call = commitSlices(st, d, kern.attn_scratch_bytes);
  setLayout(call, SLOT.Q, o.q, o.qL);
  setLayout(call, SLOT.K, o.k, o.kL);
  setLayout(call, SLOT.V, o.v, o.vL);
  setLayout(call, SLOT.Y, o.y, o.yL);
  const { desc, descF } = call;
  desc[SLOT.PROBS] = call.ptr(probs);
  if (dir === "fwd" && mask !== null) desc[SLOT.MASK] = call.ptr(mask);
  if (keep !== null) desc[SLOT.KEEP] = call.ptr(keep);
  descF[SLOT.SCALE] = d.scale;
  descF[SLOT.KEEP_SCALE] = keepScale;
  desc[SLOT.RANGES] = call.ptr(ranges);
  if (dir === "bwd") {
    const at = (a: Float, L: SliceLayout) => call.ptr(a as Float32Array) + L.offset * 4;
    desc.set([at(o.y, o.yL), at(o.dq!, o.qL), at(o.dk!, o.kL), at(o.dv!, o.vL)], SLOT.DY);
  }
  if (bias !== null) desc[SLOT.BIAS] = call.ptr(bias);
  if (lengths !== null) desc[SLOT.LENGTHS] = call.ptr(lengths);
  if (dbias !== null) desc[SLOT.DS] = call.at(dsArea);
  const reduce = dbias === null ? undefined : () => sumRows(d.BH / d.H, n, call.at(dsArea), call.ptr(dbias));
  runSlices(dir === "fwd" ? OP_ATTN_FWD : OP_ATTN_BWD, call, d, reduce);
}
