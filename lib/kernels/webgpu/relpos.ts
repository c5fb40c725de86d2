/**
 * T5's relative position attention on the GPU, mirroring lib/kernels/relpos.ts: the gather of the learned
 * (numBuckets, H) table into a bias (H, Tq, Tk), its deterministic scatter-add backward, and attention with an
 * additive bias, padding lengths and an optional mask (the attention kernels of attention_core.ts with the bias
 * and lengths compiled in). The buckets themselves are computed on the host (relativePositionBuckets) and
 * uploaded as an i32 array: they depend on the shapes only.
 *
 * Launch shapes (64 threads per workgroup): the gather a thread per output element; the scatter a workgroup
 * per (bucket, head) that scans the n positions in a fixed stride and sums the matches by a fixed-order tree
 * (no atomics: two runs give the same bits); the attention as in attention_core.ts.
 *
 * @module
 */
import type { BiasedAttentionDims } from "../relpos.ts";
import {
  attentionBackwardCore,
  attentionForwardCore,
  type GpuMask,
  type RowLayout,
} from "./attention_core.ts";
import { WG } from "./attention_wgsl.ts";
import { type Gpu, type GpuArray, grid } from "./runtime.ts";
import { bindings, LINEAR_ARGS, LINEAR_WG, workgroupReduce } from "./wgsl.ts";

const GATHER = /* wgsl */ `
${bindings([["w", "read"], ["buckets", "read", "i32"], ["out", "read_write"]], "H: u32, n: u32")}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let t = ${LINEAR_WG} * ${WG}u + lid; // h·n + position
  if (t >= p.H * p.n) { return; }
  let h = t / p.n;
  out[t] = w[u32(buckets[t - h * p.n]) * p.H + h];
}`;

const SCATTER = /* wgsl */ `
${bindings([["g", "read"], ["buckets", "read", "i32"], ["gw", "read_write"]], "H: u32, n: u32, buckets: u32")}
${workgroupReduce("total", "f32", "a + b", WG)}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let cell = ${LINEAR_WG}; // bucket·H + h
  if (cell >= p.buckets * p.H) { return; }
  let bucket = i32(cell / p.H);
  let h = cell % p.H;
  var acc = 0.0;
  for (var t = lid; t < p.n; t += ${WG}u) {
    if (buckets[t] == bucket) { acc += g[h * p.n + t]; }
  }
  let sum = total(acc, lid);
  if (lid == 0u) { gw[cell] = gw[cell] + sum; }
}`;

/**
 * bias[h, i, j] = table[buckets[i·Tk + j], h]: the table w (numBuckets, H) gathered into out (H, n), n = Tq·Tk;
 * buckets is an i32 array of n entries. Mirrors `relativeBiasGather`.
 */
export function relativeBiasGatherGpu(
  gpu: Gpu,
  w: GpuArray,
  buckets: GpuArray,
  out: GpuArray,
  H: number,
  n: number,
): void {
  gpu.dispatch(
    gpu.pipeline(GATHER),
    [w, buckets, out],
    grid(Math.ceil((H * n) / WG)),
    gpu.params().u32(H, n),
  );
}

/**
 * The backward of {@link relativeBiasGatherGpu}: the bias gradient g (H, n) added into gw (numBuckets, H), with
 * numBuckets = gw.length / H; each cell sums its positions in a fixed order. Mirrors `relativeBiasScatter`.
 */
export function relativeBiasScatterGpu(
  gpu: Gpu,
  g: GpuArray,
  buckets: GpuArray,
  gw: GpuArray,
  H: number,
  n: number,
): void {
  const numBuckets = Math.floor(gw.length / H);
  const p = gpu.params().u32(H, n, numBuckets);
  gpu.dispatch(gpu.pipeline(SCATTER), [g, buckets, gw], grid(numBuckets * H), p);
}

// q, k, v, y as (B, H, T, D).
function layout(d: BiasedAttentionDims, T: number): RowLayout {
  return { offset: 0, batch: d.H * T * d.D, head: T * d.D, row: d.D };
}

function coreDims(d: BiasedAttentionDims) {
  return { BH: d.B * d.H, H: d.H, Tq: d.Tq, Tk: d.Tk, D: d.D, scale: d.scale };
}

/**
 * y (B, H, Tq, D) = dropout(softmax(scale·q·kᵀ + bias under the masks)) · v, written in full; probs (B, H, Tq,
 * Tk) the probabilities before dropout. bd (H, Tq, Tk) or null; md a {@link GpuMask} or null (all visible);
 * lengths an i32 array per batch row (key j visible iff j < lengths[b]) or null. A row with no visible key gets
 * zero probabilities and output. Mirrors `biasedAttentionForward` (whose y and probs are zero on entry).
 */
export function biasedAttentionForwardGpu(
  gpu: Gpu,
  qd: GpuArray,
  kd: GpuArray,
  vd: GpuArray,
  bd: GpuArray | null,
  md: GpuMask | null,
  lengths: GpuArray | null,
  probs: GpuArray,
  y: GpuArray,
  dims: BiasedAttentionDims,
  keep: GpuArray | null,
  ks: number,
): void {
  const Lq = layout(dims, dims.Tq), Lk = layout(dims, dims.Tk);
  attentionForwardCore(gpu, coreDims(dims), {
    q: { a: qd, L: Lq },
    k: { a: kd, L: Lk },
    v: { a: vd, L: Lk },
    y: { a: y, L: Lq },
    probs,
    mask: md,
    lengths,
    bias: bd,
    keep,
    keepScale: ks,
  });
}

/**
 * The backward of {@link biasedAttentionForwardGpu} from the output gradient g and the forward's probs: dq, dk,
 * dv written in full, and, when db is not null, the bias gradient (H, Tq, Tk) added into db (the batch summed in
 * order). `lengths` and `md` "causal" only skip the blocked keys (the probabilities are zero wherever the
 * masks block, so an explicit mask need not be passed). Mirrors `biasedAttentionBackward` (whose dq, dk, dv are zero on entry).
 */
export function biasedAttentionBackwardGpu(
  gpu: Gpu,
  qd: GpuArray,
  kd: GpuArray,
  vd: GpuArray,
  probs: GpuArray,
  g: GpuArray,
  dq: GpuArray,
  dk: GpuArray,
  dv: GpuArray,
  db: GpuArray | null,
  lengths: GpuArray | null,
  dims: BiasedAttentionDims,
  keep: GpuArray | null,
  ks: number,
  md: GpuMask | null = null,
): void {
  const Lq = layout(dims, dims.Tq), Lk = layout(dims, dims.Tk);
  attentionBackwardCore(gpu, coreDims(dims), {
    q: { a: qd, L: Lq },
    k: { a: kd, L: Lk },
    v: { a: vd, L: Lk },
    dy: { a: g, L: Lq },
    probs,
    dq,
    dk,
    dv,
    mask: md,
    lengths,
    keep,
    keepScale: ks,
    dbias: db,
  });
}
