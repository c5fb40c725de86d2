/**
 * Scaled dot-product attention on the GPU, mirroring lib/kernels/attention.ts: the unpacked kernels (q, k, v as
 * (BH, T, D)), the packed self-attention of the GPT (q, k, v side by side in the fused projection (B, T, 3C), the
 * heads merged into (B, T, C)) and the cached attention of KV-cache generation. Same semantics as the `js`
 * reference: a fully masked row gets zero probabilities and output; `keep` (one u32 per probability, 1 = kept)
 * and `keepScale` apply inverted dropout after the saved softmax. Kernels and launch shapes: attention_core.ts.
 *
 * Masks ({@link GpuMask}): "causal" (query i sees key j iff j ≤ i + Tk − Tq, computed from the indices: nothing
 * uploaded, and the masked keys are never visited) or a u32 (Tq, Tk) array (1 = attend, AttentionMask.data's
 * semantics) shared by every slice.
 *
 * @module
 */
import type { AttentionDims, PackedAttentionDims } from "../attention.ts";
import {
  attentionBackwardCore,
  attentionForwardCore,
  contiguous,
  type GpuMask,
  type RowLayout,
} from "./attention_core.ts";
import { WG } from "./attention_wgsl.ts";
import { type Gpu, type GpuArray, grid } from "./runtime.ts";
import { bindings, LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

export type { GpuMask } from "./attention_core.ts";

// Layouts of q, k, v in the fused projection output (B, T, 3C) and of the merged output (B, T, C).
function packedLayouts(d: PackedAttentionDims): { q: RowLayout; k: RowLayout; v: RowLayout; y: RowLayout } {
  const C = d.H * d.D, T = d.Tq;
  const part = (i: number): RowLayout => ({ offset: i * C, batch: T * 3 * C, head: d.D, row: 3 * C });
  return { q: part(0), k: part(1), v: part(2), y: { offset: 0, batch: T * C, head: d.D, row: C } };
}

/**
 * y (BH, Tq, D) = dropout(softmax(mask(q·kᵀ·scale))) · v for q (BH, Tq, D), k and v (BH, Tk, D); probs
 * (BH, Tq, Tk) receives the softmax before dropout. Mirrors `attentionForward`.
 */
export function attentionForwardGpu(
  gpu: Gpu,
  q: GpuArray,
  k: GpuArray,
  v: GpuArray,
  mask: GpuMask,
  probs: GpuArray,
  y: GpuArray,
  d: AttentionDims,
  keep: GpuArray | null,
  keepScale: number,
): void {
  const Lq = contiguous(d.Tq, d.D), Lk = contiguous(d.Tk, d.D);
  attentionForwardCore(gpu, { ...d, H: 1 }, {
    q: { a: q, L: Lq },
    k: { a: k, L: Lk },
    v: { a: v, L: Lk },
    y: { a: y, L: Lq },
    probs,
    mask,
    lengths: null,
    bias: null,
    keep,
    keepScale,
  });
}

/**
 * Gradients of {@link attentionForwardGpu}: writes dq, dk, dv in full. `mask` "causal" skips the masked half;
 * an explicit mask array (or null) changes nothing (the saved probabilities are zero where it blocks). Mirrors
 * `attentionBackward`.
 */
export function attentionBackwardGpu(
  gpu: Gpu,
  q: GpuArray,
  k: GpuArray,
  v: GpuArray,
  probs: GpuArray,
  dy: GpuArray,
  dq: GpuArray,
  dk: GpuArray,
  dv: GpuArray,
  d: AttentionDims,
  keep: GpuArray | null,
  keepScale: number,
  mask: GpuMask | null = null,
): void {
  const Lq = contiguous(d.Tq, d.D), Lk = contiguous(d.Tk, d.D);
  attentionBackwardCore(gpu, { ...d, H: 1 }, {
    q: { a: q, L: Lq },
    k: { a: k, L: Lk },
    v: { a: v, L: Lk },
    dy: { a: dy, L: Lq },
    probs,
    dq,
    dk,
    dv,
    mask,
    lengths: null,
    keep,
    keepScale,
    dbias: null,
  });
}

/**
 * Self-attention on the fused projection output qkv (B, T, 3C): y (B, T, C) gets the heads merged, probs
 * (B·H, T, T) the softmax before dropout (d.Tq = d.Tk = T, C = H·D). Mirrors `packedAttentionForward`.
 */
export function packedAttentionForwardGpu(
  gpu: Gpu,
  qkv: GpuArray,
  mask: GpuMask,
  probs: GpuArray,
  y: GpuArray,
  d: PackedAttentionDims,
  keep: GpuArray | null,
  keepScale: number,
): void {
  const L = packedLayouts(d);
  attentionForwardCore(gpu, d, {
    q: { a: qkv, L: L.q },
    k: { a: qkv, L: L.k },
    v: { a: qkv, L: L.v },
    y: { a: y, L: L.y },
    probs,
    mask,
    lengths: null,
    bias: null,
    keep,
    keepScale,
  });
}

/**
 * Gradient of {@link packedAttentionForwardGpu}: dqkv (B, T, 3C) written in full from dy (B, T, C). `mask` as in
 * {@link attentionBackwardGpu}. Mirrors `packedAttentionBackward`.
 */
export function packedAttentionBackwardGpu(
  gpu: Gpu,
  qkv: GpuArray,
  probs: GpuArray,
  dy: GpuArray,
  dqkv: GpuArray,
  d: PackedAttentionDims,
  keep: GpuArray | null,
  keepScale: number,
  mask: GpuMask | null = null,
): void {
  const L = packedLayouts(d);
  attentionBackwardCore(gpu, d, {
    q: { a: qkv, L: L.q },
    k: { a: qkv, L: L.k },
    v: { a: qkv, L: L.v },
    dy: { a: dy, L: L.y },
    probs,
    dq: dqkv,
    dk: dqkv,
    dv: dqkv,
    mask,
    lengths: null,
    keep,
    keepScale,
    dbias: null,
  });
}

/**
 * Attention of T new positions over a KV cache (inference): q from the fused projection qkv (B, T, 3C), keys
 * and values from kCache / vCache (B, H, capacity, D), of which the first d.Tk positions are valid; writes y
 * (B, T, C) and probs (B·H, T, Tk). d.Tq = T. Mirrors `cachedAttentionForward`.
 */
export function cachedAttentionForwardGpu(
  gpu: Gpu,
  qkv: GpuArray,
  kCache: GpuArray,
  vCache: GpuArray,
  capacity: number,
  mask: GpuMask,
  probs: GpuArray,
  y: GpuArray,
  d: PackedAttentionDims,
): void {
  const L = packedLayouts(d);
  const cache: RowLayout = { offset: 0, batch: d.H * capacity * d.D, head: capacity * d.D, row: d.D };
  attentionForwardCore(gpu, d, {
    q: { a: qkv, L: L.q },
    k: { a: kCache, L: cache },
    v: { a: vCache, L: cache },
    y: { a: y, L: L.y },
    probs,
    mask,
    lengths: null,
    bias: null,
    keep: null,
    keepScale: 1,
  });
}

// A thread per cached element: k and v of the new positions from qkv (B, T, 3C) into the (B, H, capacity, D)
// caches at position `at` on.
const APPEND = /* wgsl */ `
${
  bindings(
    [["qkv", "read"], ["kc", "read_write"], ["vc", "read_write"]],
    "B: u32, T: u32, H: u32, D: u32, capacity: u32, at: u32",
  )
}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let e = ${LINEAR_WG} * ${WG}u + lid; // ((b·T + t)·H + h)·D + d: the order of qkv's k part
  let C = p.H * p.D;
  if (e >= p.B * p.T * C) { return; }
  let row = e / C; // b·T + t
  let hd = e - row * C; // h·D + d
  let b = row / p.T;
  let h = hd / p.D;
  let dst = ((b * p.H + h) * p.capacity + p.at + row - b * p.T) * p.D + hd - h * p.D;
  kc[dst] = qkv[row * 3u * C + C + hd];
  vc[dst] = qkv[row * 3u * C + 2u * C + hd];
}`;

/**
 * Appends the keys and values of T new positions from the fused projection qkv (B, T, 3C) to the caches kCache
 * / vCache (B, H, capacity, D) at positions `at` … `at` + T − 1 (KVCache.appendPacked's copy; a thread per
 * element).
 */
export function kvCacheAppendGpu(
  gpu: Gpu,
  qkv: GpuArray,
  kCache: GpuArray,
  vCache: GpuArray,
  B: number,
  T: number,
  H: number,
  D: number,
  capacity: number,
  at: number,
): void {
  if (at + T > capacity) throw new Error(`KV cache full: ${at} + ${T} > ${capacity} positions`);
  const p = gpu.params().u32(B, T, H, D, capacity, at);
  gpu.dispatch(gpu.pipeline(APPEND), [qkv, kCache, vCache], grid(Math.ceil((B * T * H * D) / WG)), p);
}
