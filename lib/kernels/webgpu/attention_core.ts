/**
 * The engine behind the WebGPU attention kernels (standard, packed, cached and T5's biased attention): scaled
 * dot-product attention over (batch·head) slices whose rows sit anywhere in their buffers through a
 * {@link RowLayout} (contiguous (BH, T, D), the fused projection (B, T, 3C), the merged heads (B, T, C), a KV
 * cache (B, H, capacity, D)), with a causal or explicit mask, per-batch key lengths, an additive (H, Tq, Tk) bias
 * and inverted dropout on the probabilities. The WGSL is generated per combination of those features (each
 * variant a cached pipeline), so every declared binding is used.
 *
 * Launch shapes (64 threads per workgroup):
 * - forward: one workgroup per query row (BH·Tq, spread by {@link grid}): the threads take the row's keys in a
 *   stride of 64 (scores, then max and sum by a fixed-order tree), then one output feature each (·V, keys in
 *   order). A causal row stops at its last visible key, so the masked half is never computed.
 * - backward pass 1: one workgroup per query row: dP = dy·vᵀ (through dropout), Σ P·dP by the same tree,
 *   dS = P ⊙ (dP − Σ) into a (BH, Tq, Tk) scratch array, then dq = scale · dS·k (keys in order).
 * - backward pass 2: one workgroup per ⌊64 / min(D, 64)⌋ key rows, a thread per (key row, feature): dk = scale ·
 *   dSᵀ·q and dv = P'ᵀ·dy summed over the query rows in order (no atomics; causal columns start at their first
 *   visible query).
 * - bias gradient: a thread per (h, i, j), the batch summed in order.
 *
 * @module
 */
import { type Gpu, type GpuArray, grid } from "./runtime.ts";

/** Threads per workgroup of every attention kernel. */
const WG = 64;
/** Largest head dimension: one q (or dy) row is copied into workgroup memory. */
export const MAX_HEAD_DIM = 128;
/** Stand-in for −∞ in the running maximum (no finite score reaches it). */
const NEG = "-3.0e38";

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

// The uniform struct every kernel here shares.
const PARAMS = /* wgsl */ `
struct P {
  BH: u32, H: u32, Tq: u32, Tk: u32, D: u32, off: i32, scale: f32, keepScale: f32, rows: u32, b0: u32,
  qo: u32, qb: u32, qh: u32, qr: u32,
  ko: u32, kb: u32, kh: u32, kr: u32,
  vo: u32, vb: u32, vh: u32, vr: u32,
  yo: u32, yb: u32, yh: u32, yr: u32,
}
// first element of slice bh in a layout (offset, batch, head)
fn sliceAt(o: u32, b: u32, h: u32, bh: u32) -> u32 {
  let bb = bh / p.H;
  return o + bb * b + (bh - bb * p.H) * h;
}`;

// The fixed-order tree over the workgroup's 64 partials in red[] (every thread calls it; the result is uniform).
const TREE = /* wgsl */ `
var<workgroup> red: array<f32, ${WG}>;
fn treeMax(l: u32, x: f32) -> f32 {
  workgroupBarrier(); // every thread has read the previous result
  red[l] = x;
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (l < s) { red[l] = max(red[l], red[l + s]); }
  }
  let r = workgroupUniformLoad(&red[0]);
  return r;
}
fn treeSum(l: u32, x: f32) -> f32 {
  workgroupBarrier();
  red[l] = x;
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (l < s) { red[l] = red[l] + red[l + s]; }
  }
  let r = workgroupUniformLoad(&red[0]);
  return r;
}`;

function ro(name: string, binding: number, type = "f32"): string {
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${type}>;`;
}
function rw(name: string, binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<f32>;`;
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

function forwardWgsl(f: ForwardVariant): string {
  const decl: string[] = [ro("q", 0), ro("k", 1), ro("v", 2)];
  let b = 3;
  if (f.maskArray) decl.push(ro("mask", b++, "u32"));
  if (f.lengths) decl.push(ro("lengths", b++, "i32"));
  if (f.bias) decl.push(ro("bias", b++));
  if (f.keep) decl.push(ro("keep", b++, "u32"));
  decl.push(rw("probs", b++), rw("y", b++), `@group(0) @binding(${b}) var<uniform> p: P;`);
  const visible = f.maskArray ? "mask[i * p.Tk + j] != 0u" : "true";
  const bias = f.bias ? " + bias[((bh % p.H) * p.Tq + i) * p.Tk + j]" : "";
  return /* wgsl */ `${PARAMS}
${decl.join("\n")}
${TREE}
${keyEnd(f.causal, f.lengths)}
var<workgroup> qs: array<f32, ${MAX_HEAD_DIM}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let row = wid.y * nwg.x + wid.x; // bh·Tq + i
  if (row >= p.BH * p.Tq) { return; }
  let bh = row / p.Tq;
  let i = row - bh * p.Tq;
  let qa = sliceAt(p.qo, p.qb, p.qh, bh) + i * p.qr;
  let kb = sliceAt(p.ko, p.kb, p.kh, bh);
  let vb = sliceAt(p.vo, p.vb, p.vh, bh);
  let ya = sliceAt(p.yo, p.yb, p.yh, bh) + i * p.yr;
  let po = row * p.Tk;
  for (var d = l; d < p.D; d += ${WG}u) { qs[d] = q[qa + d]; }
  workgroupBarrier();
  let end = keyEnd(bh, i);
  for (var j = end + l; j < p.Tk; j += ${WG}u) { probs[po + j] = 0.0; }
  var mx = ${NEG};
  for (var j = l; j < end; j += ${WG}u) {
    if (${visible}) {
      let ka = kb + j * p.kr;
      var s = 0.0;
      for (var d = 0u; d < p.D; d++) { s += qs[d] * k[ka + d]; }
      s = s * p.scale${bias};
      probs[po + j] = s;
      mx = max(mx, s);
    }
  }
  mx = treeMax(l, mx);
  if (mx <= ${NEG}) { // nothing visible: zero probabilities and output
    for (var j = l; j < end; j += ${WG}u) { probs[po + j] = 0.0; }
    for (var d = l; d < p.D; d += ${WG}u) { y[ya + d] = 0.0; }
    return;
  }
  var sum = 0.0;
  for (var j = l; j < end; j += ${WG}u) {
    var e = 0.0;
    if (${visible}) { e = exp(probs[po + j] - mx); }
    probs[po + j] = e;
    sum += e;
  }
  let inv = 1.0 / treeSum(l, sum);
  for (var j = l; j < end; j += ${WG}u) { probs[po + j] = probs[po + j] * inv; }
  storageBarrier();
  for (var d = l; d < p.D; d += ${WG}u) {
    var acc = 0.0;
    for (var j = 0u; j < end; j++) {
      acc += probs[po + j] * ${kept(f.keep, "po + j")} * v[vb + j * p.vr + d];
    }
    y[ya + d] = acc;
  }
}`;
}

// Backward pass 1: dS into the scratch, dq.
function dqWgsl(causal: boolean, lengths: boolean, keep: boolean): string {
  const decl: string[] = [ro("k", 0), ro("v", 1), ro("dy", 2), ro("probs", 3)];
  let b = 4;
  if (lengths) decl.push(ro("lengths", b++, "i32"));
  if (keep) decl.push(ro("keep", b++, "u32"));
  decl.push(rw("ds", b++), rw("dq", b++), `@group(0) @binding(${b}) var<uniform> p: P;`);
  return /* wgsl */ `${PARAMS}
${decl.join("\n")}
${TREE}
${keyEnd(causal, lengths)}
var<workgroup> gs: array<f32, ${MAX_HEAD_DIM}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.BH * p.Tq) { return; }
  let bh = row / p.Tq;
  let i = row - bh * p.Tq;
  let qa = sliceAt(p.qo, p.qb, p.qh, bh) + i * p.qr;
  let kb = sliceAt(p.ko, p.kb, p.kh, bh);
  let vb = sliceAt(p.vo, p.vb, p.vh, bh);
  let ya = sliceAt(p.yo, p.yb, p.yh, bh) + i * p.yr;
  let po = row * p.Tk;
  for (var d = l; d < p.D; d += ${WG}u) { gs[d] = dy[ya + d]; }
  workgroupBarrier();
  let end = keyEnd(bh, i);
  for (var j = end + l; j < p.Tk; j += ${WG}u) { ds[po + j] = 0.0; }
  var dot = 0.0;
  for (var j = l; j < end; j += ${WG}u) {
    let va = vb + j * p.vr;
    var gv = 0.0;
    for (var d = 0u; d < p.D; d++) { gv += gs[d] * v[va + d]; }
    let dp = gv * ${kept(keep, "po + j")};
    ds[po + j] = dp;
    dot += probs[po + j] * dp;
  }
  dot = treeSum(l, dot);
  for (var j = l; j < end; j += ${WG}u) { ds[po + j] = probs[po + j] * (ds[po + j] - dot); }
  storageBarrier();
  for (var d = l; d < p.D; d += ${WG}u) {
    var acc = 0.0;
    for (var j = 0u; j < end; j++) { acc += ds[po + j] * k[kb + j * p.kr + d]; }
    dq[qa + d] = acc * p.scale;
  }
}`;
}

// Backward pass 2: dk and dv per (key row, feature), summing over the query rows in order.
function dkvWgsl(causal: boolean, keep: boolean, shared: boolean): string {
  const decl: string[] = [ro("q", 0), ro("dy", 1), ro("probs", 2)];
  let b = 3;
  if (keep) decl.push(ro("keep", b++, "u32"));
  decl.push(ro("ds", b++), rw("dk", b++));
  if (!shared) decl.push(rw("dv", b++));
  decl.push(`@group(0) @binding(${b}) var<uniform> p: P;`);
  const start = causal ? "u32(max(i32(j) - p.off, 0))" : "0u";
  return /* wgsl */ `${PARAMS}
${decl.join("\n")}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let per = min(p.D, ${WG}u);
  let r = l / per;
  let key = (wid.y * nwg.x + wid.x) * p.rows + r; // bh·Tk + j
  if (r >= p.rows || key >= p.BH * p.Tk) { return; }
  let bh = key / p.Tk;
  let j = key - bh * p.Tk;
  let qb = sliceAt(p.qo, p.qb, p.qh, bh);
  let yb = sliceAt(p.yo, p.yb, p.yh, bh);
  let ka = sliceAt(p.ko, p.kb, p.kh, bh) + j * p.kr;
  let va = sliceAt(p.vo, p.vb, p.vh, bh) + j * p.vr;
  for (var d = l % per; d < p.D; d += per) {
    var gk = 0.0;
    var gv = 0.0;
    for (var i = ${start}; i < p.Tq; i++) {
      let at = (bh * p.Tq + i) * p.Tk + j;
      gk += ds[at] * q[qb + i * p.qr + d];
      gv += probs[at] * ${kept(keep, "at")} * dy[yb + i * p.yr + d];
    }
    dk[ka + d] = gk * p.scale;
    ${shared ? "dk" : "dv"}[va + d] = gv;
  }
}`;
}

// The bias gradient: dbias[h, i, j] += Σ_b ds[b, h, i, j], b in order.
const DBIAS = /* wgsl */ `${PARAMS}
${ro("ds", 0)}
${rw("dbias", 1)}
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let n = p.Tq * p.Tk;
  let t = (wid.y * nwg.x + wid.x) * ${WG}u + l; // h·n + (i·Tk + j)
  if (t >= p.H * n) { return; }
  var acc = 0.0;
  for (var b = 0u; b < p.BH / p.H; b++) { acc += ds[b * p.H * n + t]; }
  dbias[t] = dbias[t] + acc;
}`;

function params(gpu: Gpu, d: CoreDims, b0: number, L: RowLayout[], keepScale: number, rows = 0) {
  const pr = gpu.params().u32(d.BH, d.H, d.Tq, d.Tk, d.D).i32(d.Tk - d.Tq).f32(d.scale, keepScale).u32(
    rows,
    b0,
  );
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
  }));
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
    gpu.dispatch(pipeline, arrays, grid(dn.BH * d.Tq), pr);
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
  const rows = Math.floor(WG / Math.min(d.D, WG));
  const dqPipeline = gpu.pipeline(dqWgsl(causal, o.lengths !== null, keep));
  const dkvPipeline = gpu.pipeline(dkvWgsl(causal, keep, shared));
  for (let b0 = 0; b0 < batches; b0 += nb) {
    const n = Math.min(nb, batches - b0), whole = n === batches, dn = { ...d, BH: n * d.H };
    const cut = (a: GpuArray, r: Rows) => part(a, r.L.batch, b0, n, whole);
    const probs = part(o.probs, ps, b0, n, whole), dy = cut(o.dy.a, o.dy);
    const kept = keep ? [part(o.keep!, ps, b0, n, whole)] : [];
    const lengths = o.lengths === null ? [] : [o.lengths];
    gpu.dispatch(
      dqPipeline,
      [cut(o.k.a, o.k), cut(o.v.a, o.v), dy, probs, ...lengths, ...kept, ds, cut(o.dq, o.q)],
      grid(dn.BH * d.Tq),
      params(gpu, dn, b0, L, o.keepScale),
    );
    gpu.dispatch(
      dkvPipeline,
      [cut(o.q.a, o.q), dy, probs, ...kept, ds, cut(o.dk, o.k), ...(shared ? [] : [cut(o.dv, o.v)])],
      grid(Math.ceil((dn.BH * d.Tk) / rows)),
      params(gpu, dn, b0, L, o.keepScale, rows),
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
