/**
 * The engine behind the WebGPU attention kernels (standard, packed, cached and T5's biased attention): scaled
 * dot-product attention over (batch·head) slices whose rows sit anywhere in their buffers through a
 * {@link RowLayout} (contiguous (BH, T, D), the fused projection (B, T, 3C), the merged heads (B, T, C), a KV
 * cache (B, H, capacity, D)), with a causal or explicit mask, per-batch key lengths, an additive (H, Tq, Tk) bias
 * and inverted dropout on the probabilities. The WGSL is generated per combination of those features (each
 * variant a cached pipeline), so every declared binding is used.
 *
 * Launch shapes: 64 threads per workgroup, a workgroup per (slice, block of 64 rows) (spread by {@link grid}), a
 * thread per row; the head dimension D is compiled in (rows as vec4s in registers, the products over D written
 * out: attention_wgsl.ts), and tiles of K, V (or q, dy) rows go through workgroup memory, so each block reads K
 * and V once per pass.
 * - forward: pass 1 runs each query row's maximum and sum of exponentials (rescaled tile by tile), pass 2
 *   recomputes the scores, writes the probabilities and sums P'·V, keys in order. A causal block stops at its
 *   last row's last visible key (the masked half is never computed).
 * - backward pass 1 (a thread per query row): Σ_j P·dP (dP = dy·vᵀ through dropout), then dS = P ⊙ (dP − Σ)
 *   into a (BH, Tq, Tk) scratch array and dq = scale · dS·k, keys in order.
 * - backward pass 2 (a thread per key row): dk = scale · dSᵀ·q and dv = P'ᵀ·dy over tiles of query rows, in
 *   order (no atomics); a causal block starts at its first key's first visible query.
 * - bias gradient: a thread per (h, i, j), the batch summed in order.
 * Batches are split over several dispatches when a per-batch array exceeds one binding.
 *
 * @module
 */
import {
  axpyRow,
  blockMain,
  dotRow,
  loadRow,
  loadTile,
  NEG,
  storeRow,
  tileRows,
  tiles,
  WG,
} from "./attention_wgsl.ts";
import { type Gpu, type GpuArray, grid } from "./runtime.ts";
import { type Binding, bindings, LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

/** Largest head dimension (rows are held in registers as vec4s, tiles of rows in workgroup memory). */
export const MAX_HEAD_DIM = 128;

/** A mask: "causal" (query i sees key j iff j ≤ i + Tk − Tq, from the indices) or a u32 (Tq, Tk) array, 1 = attend. */
export type GpuMask = "causal" | GpuArray;

/**
 * Where the rows of slice bh = b·H + h lie in a buffer: row t of the slice starts at
 * `offset + b·batch + h·head + t·row` (elements); its D features are contiguous.
 */
export interface RowLayout {
  offset: number;
  batch: number;
  head: number;
  row: number;
}

/** The contiguous (BH, T, D) layout (H = 1 in the dims, or any H with head = T·D). */
export function contiguous(T: number, D: number): RowLayout {
  return { offset: 0, batch: T * D, head: 0, row: D };
}

/** Sizes of one attention call: BH = B·H slices of Tq query and Tk key rows of D features. */
export interface CoreDims {
  BH: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  /** Multiplies q·kᵀ. */
  scale: number;
}

/** An array and the layout of its rows. */
export interface Rows {
  a: GpuArray;
  L: RowLayout;
}

/** What the forward reads and writes. */
export interface ForwardOperands {
  q: Rows;
  k: Rows;
  v: Rows;
  y: Rows;
  /** (BH, Tq, Tk), written in full. */
  probs: GpuArray;
  mask: GpuMask | null;
  /** i32 per batch row: key j visible iff j < lengths[b]; null for all. */
  lengths: GpuArray | null;
  /** (H, Tq, Tk) added to the scaled scores; null for none. */
  bias: GpuArray | null;
  /** u32 per probability (1 = kept), or null. */
  keep: GpuArray | null;
  keepScale: number;
}

/** What the backward reads and writes; dq/dk/dv have the layouts of q/k/v and are written in full. */
export interface BackwardOperands {
  q: Rows;
  k: Rows;
  v: Rows;
  /** dy, in y's layout. */
  dy: Rows;
  probs: GpuArray;
  dq: GpuArray;
  dk: GpuArray;
  /** May be the same array as dk (packed: one output binding then). */
  dv: GpuArray;
  /** Only "causal" is used (to skip the masked half); P is zero wherever an explicit mask blocks. */
  mask: GpuMask | null;
  /** As in the forward (skips the padded keys), or null. */
  lengths: GpuArray | null;
  keep: GpuArray | null;
  keepScale: number;
  /** (H, Tq, Tk) into which the score gradient summed over the batch is added, or null. */
  dbias: GpuArray | null;
}

// The fields of the uniform struct every kernel here shares (wgsl.ts bindings), and the slice offsets.
const FIELDS = "BH: u32, H: u32, Tq: u32, Tk: u32, D: u32, off: i32, scale: f32, keepScale: f32, b0: u32, " +
  "qo: u32, qb: u32, qh: u32, qr: u32, ko: u32, kb: u32, kh: u32, kr: u32, " +
  "vo: u32, vb: u32, vh: u32, vr: u32, yo: u32, yb: u32, yh: u32, yr: u32";

// The declarations of a kernel's arrays (in binding order) and parameters, with sliceAt.
function declare(arrays: readonly Binding[]): string {
  return /* wgsl */ `${bindings(arrays, FIELDS)}
// first element of slice bh in a layout (offset, batch, head)
fn sliceAt(o: u32, b: u32, h: u32, bh: u32) -> u32 {
  let bb = bh / p.H;
  return o + bb * b + (bh - bb * p.H) * h;
}`;
}

// The end of query row i's visible keys (causal and lengths); for keys below it the explicit mask decides.
function keyEnd(causal: boolean, lengths: boolean): string {
  return /* wgsl */ `
fn keyEnd(bh: u32, i: u32) -> u32 {
  var e = p.Tk;
  ${causal ? "e = u32(clamp(i32(i) + p.off + 1, 0, i32(p.Tk)));" : ""}
  ${lengths ? "e = min(e, u32(max(lengths[p.b0 + bh / p.H], 0)));" : ""}
  return e;
}`;
}

// Dropout factor of probability `at`.
function kept(keep: boolean, at: string): string {
  return keep ? `select(0.0, p.keepScale, keep[${at}] != 0u)` : "1.0";
}

interface ForwardVariant {
  causal: boolean;
  maskArray: boolean;
  lengths: boolean;
  bias: boolean;
  keep: boolean;
}

function forwardWgsl(f: ForwardVariant, D: number): string {
  const arrays: Binding[] = [["q", "read"], ["k", "read"], ["v", "read"]];
  if (f.maskArray) arrays.push(["mask", "read", "u32"]);
  if (f.lengths) arrays.push(["lengths", "read", "i32"]);
  if (f.bias) arrays.push(["bias", "read"]);
  if (f.keep) arrays.push(["keep", "read", "u32"]);
  arrays.push(["probs", "read_write"], ["y", "read_write"]);
  const visible = f.maskArray ? "mask[r * p.Tk + j] != 0u" : "true";
  const bias = f.bias ? " + bias[((bh % p.H) * p.Tq + r) * p.Tk + j]" : "";
  const score = `(${dotRow("qr", "", "kt", "c * V", D)}) * p.scale${bias}`;
  return /* wgsl */ `${declare(arrays)}
${keyEnd(f.causal, f.lengths)}
${tiles(tileRows(D), D, "kt", "vt")}
${blockMain("p.BH", "p.Tq")}
  let kb = sliceAt(p.ko, p.kb, p.kh, bh);
  let vb = sliceAt(p.vo, p.vb, p.vh, bh);
  var qr: array<vec4<f32>, V>;
  var acc: array<vec4<f32>, V>;
  var s: array<f32, KT>;
  var end = 0u;
  let po = (bh * p.Tq + r) * p.Tk;
  if (live) {
    ${loadRow("qr", "q", "sliceAt(p.qo, p.qb, p.qh, bh) + r * p.qr", D)}
    end = keyEnd(bh, r);
  }
  let blockEnd = keyEnd(bh, min(r0 + ${WG - 1}u, p.Tq - 1u)); // the block's last row sees the most keys
  // pass 1: each row's maximum and sum of exponentials, rescaled tile by tile
  var mx = ${NEG};
  var sum = 0.0;
  for (var t0 = 0u; t0 < blockEnd; t0 += KT) {
    let n = min(KT, blockEnd - t0);
    workgroupBarrier();
    ${loadTile("kt", "k", "kb", "p.kr", D)}
    workgroupBarrier();
    if (live && t0 < end) {
      let m = min(n, end - t0);
      var tmax = ${NEG};
      for (var c = 0u; c < m; c++) {
        let j = t0 + c;
        s[c] = ${NEG};
        if (${visible}) {
          s[c] = ${score};
          tmax = max(tmax, s[c]);
        }
      }
      if (tmax > ${NEG}) {
        let mn = max(mx, tmax);
        sum *= exp(mx - mn);
        for (var c = 0u; c < m; c++) {
          if (s[c] > ${NEG}) { sum += exp(s[c] - mn); }
        }
        mx = mn;
      }
    }
  }
  let inv = select(0.0, 1.0 / sum, sum > 0.0);
  // pass 2: the probabilities (scores recomputed) and P'·V
  for (var t0 = 0u; t0 < blockEnd; t0 += KT) {
    let n = min(KT, blockEnd - t0);
    workgroupBarrier();
    ${loadTile("kt", "k", "kb", "p.kr", D)}
    ${loadTile("vt", "v", "vb", "p.vr", D)}
    workgroupBarrier();
    if (live && t0 < end) {
      for (var c = 0u; c < min(n, end - t0); c++) {
        let j = t0 + c;
        var pr = 0.0;
        if (${visible}) { pr = exp(${score} - mx) * inv; }
        probs[po + j] = pr;
        let pd = pr * ${kept(f.keep, "po + j")};
        ${axpyRow("acc", "pd", "vt", "c * V", D)}
      }
    }
  }
  if (live) {
    for (var j = end; j < p.Tk; j++) { probs[po + j] = 0.0; }
    ${storeRow("y", "sliceAt(p.yo, p.yb, p.yh, bh) + r * p.yr", "acc", D)}
  }
}`;
}

// Backward pass 1, a thread per query row: Σ_j P·dP, then dS = P ⊙ (dP − Σ) into the scratch and dq.
function dqWgsl(causal: boolean, lengths: boolean, keep: boolean, D: number): string {
  const arrays: Binding[] = [["k", "read"], ["v", "read"], ["dy", "read"], ["probs", "read"]];
  if (lengths) arrays.push(["lengths", "read", "i32"]);
  if (keep) arrays.push(["keep", "read", "u32"]);
  arrays.push(["ds", "read_write"], ["dq", "read_write"]);
  const dp = `(${dotRow("gs", "", "vt", "c * V", D)}) * ${kept(keep, "po + j")}`;
  return /* wgsl */ `${declare(arrays)}
${keyEnd(causal, lengths)}
${tiles(tileRows(D), D, "kt", "vt")}
${blockMain("p.BH", "p.Tq")}
  let kb = sliceAt(p.ko, p.kb, p.kh, bh);
  let vb = sliceAt(p.vo, p.vb, p.vh, bh);
  var gs: array<vec4<f32>, V>;
  var acc: array<vec4<f32>, V>;
  var end = 0u;
  let po = (bh * p.Tq + r) * p.Tk;
  if (live) {
    ${loadRow("gs", "dy", "sliceAt(p.yo, p.yb, p.yh, bh) + r * p.yr", D)}
    end = keyEnd(bh, r);
  }
  let blockEnd = keyEnd(bh, min(r0 + ${WG - 1}u, p.Tq - 1u));
  var pdp = 0.0; // Σ_j P·dP
  for (var t0 = 0u; t0 < blockEnd; t0 += KT) {
    let n = min(KT, blockEnd - t0);
    workgroupBarrier();
    ${loadTile("vt", "v", "vb", "p.vr", D)}
    workgroupBarrier();
    if (live && t0 < end) {
      for (var c = 0u; c < min(n, end - t0); c++) {
        let j = t0 + c;
        let pr = probs[po + j];
        if (pr != 0.0) { pdp += pr * ${dp}; }
      }
    }
  }
  for (var t0 = 0u; t0 < blockEnd; t0 += KT) {
    let n = min(KT, blockEnd - t0);
    workgroupBarrier();
    ${loadTile("kt", "k", "kb", "p.kr", D)}
    ${loadTile("vt", "v", "vb", "p.vr", D)}
    workgroupBarrier();
    if (live && t0 < end) {
      for (var c = 0u; c < min(n, end - t0); c++) {
        let j = t0 + c;
        let pr = probs[po + j];
        var g = 0.0;
        if (pr != 0.0) {
          g = pr * (${dp} - pdp);
          ${axpyRow("acc", "g", "kt", "c * V", D)}
        }
        ds[po + j] = g;
      }
    }
  }
  if (live) {
    for (var j = end; j < p.Tk; j++) { ds[po + j] = 0.0; }
    ${storeRow("dq", "sliceAt(p.qo, p.qb, p.qh, bh) + r * p.qr", "acc", D, "p.scale")}
  }
}`;
}

// Backward pass 2, a thread per key row: dk and dv over tiles of query rows (q and dy in workgroup memory).
function dkvWgsl(causal: boolean, keep: boolean, shared: boolean, D: number): string {
  const arrays: Binding[] = [["q", "read"], ["dy", "read"], ["probs", "read"]];
  if (keep) arrays.push(["keep", "read", "u32"]);
  arrays.push(["ds", "read"], ["dk", "read_write"]);
  if (!shared) arrays.push(["dv", "read_write"]);
  // causal: query i sees key j iff i ≥ j − off, so the block's first key bounds the first query row
  const start = causal ? `u32(max(i32(r0) - p.off, 0))` : "0u";
  return /* wgsl */ `${declare(arrays)}
${tiles(tileRows(D), D, "qt", "gt")}
${blockMain("p.BH", "p.Tk")}
  let qb = sliceAt(p.qo, p.qb, p.qh, bh);
  let yb = sliceAt(p.yo, p.yb, p.yh, bh);
  var gk: array<vec4<f32>, V>;
  var gv: array<vec4<f32>, V>;
  for (var t0 = ${start}; t0 < p.Tq; t0 += KT) {
    let n = min(KT, p.Tq - t0);
    workgroupBarrier();
    ${loadTile("qt", "q", "qb", "p.qr", D)}
    ${loadTile("gt", "dy", "yb", "p.yr", D)}
    workgroupBarrier();
    if (live) {
      for (var c = 0u; c < n; c++) {
        let at = (bh * p.Tq + t0 + c) * p.Tk + r;
        let g = ds[at];
        let pd = probs[at] * ${kept(keep, "at")};
        if (g == 0.0 && pd == 0.0) { continue; }
        ${axpyRow("gk", "g", "qt", "c * V", D)}
        ${axpyRow("gv", "pd", "gt", "c * V", D)}
      }
    }
  }
  if (live) {
    ${storeRow("dk", "sliceAt(p.ko, p.kb, p.kh, bh) + r * p.kr", "gk", D, "p.scale")}
    ${storeRow(shared ? "dk" : "dv", "sliceAt(p.vo, p.vb, p.vh, bh) + r * p.vr", "gv", D)}
  }
}`;
}

// The bias gradient: dbias[h, i, j] += Σ_b ds[b, h, i, j], b in order.
const DBIAS = /* wgsl */ `${declare([["ds", "read"], ["dbias", "read_write"]])}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let n = p.Tq * p.Tk;
  let t = ${LINEAR_WG} * ${WG}u + lid; // h·n + (i·Tk + j)
  if (t >= p.H * n) { return; }
  var acc = 0.0;
  for (var b = 0u; b < p.BH / p.H; b++) { acc += ds[b * p.H * n + t]; }
  dbias[t] = dbias[t] + acc;
}`;

function params(gpu: Gpu, d: CoreDims, b0: number, L: RowLayout[], keepScale: number) {
  const pr = gpu.params().u32(d.BH, d.H, d.Tq, d.Tk, d.D).i32(d.Tk - d.Tq).f32(d.scale, keepScale).u32(b0);
  for (const x of L) pr.u32(x.offset, x.batch, x.head, x.row);
  return pr;
}

function checkDims(d: CoreDims, who: string): void {
  if (d.D < 1 || d.D > MAX_HEAD_DIM) {
    throw new Error(`${who}: head dimension ${d.D} outside 1…${MAX_HEAD_DIM}`);
  }
  if (d.BH % d.H !== 0) throw new Error(`${who}: BH = ${d.BH} is not a multiple of H = ${d.H}`);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Batches per dispatch: all of them when every per-batch array fits one binding, else the most that fit with
 * each chunk starting at a multiple of 64 elements (views bind at 256-byte steps). `strides` are the arrays'
 * elements per batch.
 */
function batchesPerChunk(gpu: Gpu, batches: number, strides: number[], who: string): number {
  const limit = gpu.info.maxBinding / 4;
  if (strides.every((s) => batches * s <= limit)) return batches;
  const step = strides.reduce((m, s) => {
    const need = 64 / gcd(s, 64);
    return (m * need) / gcd(m, need);
  }, 1);
  const fit = Math.floor(limit / Math.max(...strides) / step) * step;
  if (fit < 1) {
    throw new Error(
      `${who}: a chunk of ${step} batch rows (aligned to 64 elements) exceeds the largest binding (${
        limit * 4
      } bytes)`,
    );
  }
  return fit;
}

// The part of a per-batch array (stride s elements per batch) that batches b0 … b0 + n − 1 use.
function part(a: GpuArray, s: number, b0: number, n: number, whole: boolean): GpuArray {
  return whole ? a : a.view(b0 * s, Math.min(n * s, a.length - b0 * s));
}

/**
 * Records the attention forward: y and probs written in full (see the module's launch shapes). Batches are split
 * over several dispatches when a per-batch array (q, k, v, y, probs, keep) exceeds one binding.
 */
export function attentionForwardCore(gpu: Gpu, d: CoreDims, o: ForwardOperands): void {
  checkDims(d, "attention forward");
  const causal = o.mask === "causal", maskArray = o.mask !== null && o.mask !== "causal";
  const pipeline = gpu.pipeline(forwardWgsl({
    causal,
    maskArray,
    lengths: o.lengths !== null,
    bias: o.bias !== null,
    keep: o.keep !== null,
  }, d.D));
  const batches = d.BH / d.H, ps = d.H * d.Tq * d.Tk;
  const nb = batchesPerChunk(
    gpu,
    batches,
    [o.q.L.batch, o.k.L.batch, o.v.L.batch, o.y.L.batch, ps],
    "attention",
  );
  for (let b0 = 0; b0 < batches; b0 += nb) {
    const n = Math.min(nb, batches - b0), whole = n === batches;
    const cut = (r: Rows) => part(r.a, r.L.batch, b0, n, whole);
    const arrays: GpuArray[] = [cut(o.q), cut(o.k), cut(o.v)];
    if (maskArray) arrays.push(o.mask as GpuArray);
    if (o.lengths !== null) arrays.push(o.lengths);
    if (o.bias !== null) arrays.push(o.bias);
    if (o.keep !== null) arrays.push(part(o.keep, ps, b0, n, whole));
    arrays.push(part(o.probs, ps, b0, n, whole), cut(o.y));
    const dn = { ...d, BH: n * d.H };
    const pr = params(gpu, dn, b0, [o.q.L, o.k.L, o.v.L, o.y.L], o.keepScale);
    gpu.dispatch(pipeline, arrays, grid(dn.BH * Math.ceil(d.Tq / WG)), pr);
  }
}

/**
 * Records the attention backward: dq, dk, dv written in full, dbias added into (see the launch shapes); split
 * over batches as the forward.
 */
export function attentionBackwardCore(gpu: Gpu, d: CoreDims, o: BackwardOperands): void {
  checkDims(d, "attention backward");
  const causal = o.mask === "causal", keep = o.keep !== null, shared = o.dk === o.dv;
  const batches = d.BH / d.H, ps = d.H * d.Tq * d.Tk;
  const strides = [o.q.L.batch, o.k.L.batch, o.v.L.batch, o.dy.L.batch, ps];
  const nb = batchesPerChunk(gpu, batches, strides, "attention backward");
  const ds = gpu.array(nb * ps);
  const L = [o.q.L, o.k.L, o.v.L, o.dy.L];
  const dqPipeline = gpu.pipeline(dqWgsl(causal, o.lengths !== null, keep, d.D));
  const dkvPipeline = gpu.pipeline(dkvWgsl(causal, keep, shared, d.D));
  for (let b0 = 0; b0 < batches; b0 += nb) {
    const n = Math.min(nb, batches - b0), whole = n === batches, dn = { ...d, BH: n * d.H };
    const cut = (a: GpuArray, r: Rows) => part(a, r.L.batch, b0, n, whole);
    const probs = part(o.probs, ps, b0, n, whole), dy = cut(o.dy.a, o.dy);
    const kept = keep ? [part(o.keep!, ps, b0, n, whole)] : [];
    const lengths = o.lengths === null ? [] : [o.lengths];
    gpu.dispatch(
      dqPipeline,
      [cut(o.k.a, o.k), cut(o.v.a, o.v), dy, probs, ...lengths, ...kept, ds, cut(o.dq, o.q)],
      grid(dn.BH * Math.ceil(d.Tq / WG)),
      params(gpu, dn, b0, L, o.keepScale),
    );
    gpu.dispatch(
      dkvPipeline,
      [cut(o.q.a, o.q), dy, probs, ...kept, ds, cut(o.dk, o.k), ...(shared ? [] : [cut(o.dv, o.v)])],
      grid(dn.BH * Math.ceil(d.Tk / WG)),
      params(gpu, dn, b0, L, o.keepScale),
    );
    if (o.dbias !== null) {
      gpu.dispatch(
        gpu.pipeline(DBIAS),
        [ds, o.dbias],
        grid(Math.ceil(ps / WG)),
        params(gpu, dn, b0, L, o.keepScale),
      );
    }
  }
  gpu.release(ds);
}
