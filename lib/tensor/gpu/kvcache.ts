/**
 * The KV cache on the GPU — the twins of lib/tensor/ops/kvcache.ts's host copies: appending the new positions'
 * keys and values (from the fused projection output, or from (B, Hq, T, D) heads with grouped-query attention),
 * the grouped cache expanded for its query heads, the decoding attention over the cache in place, and the row
 * reorder of beam search. Everything is recorded without waiting; nothing is read back.
 *
 * @module
 */
import { cachedAttentionForwardGpu } from "../../kernels/webgpu/attention.ts";
import type { GpuArray } from "../../kernels/webgpu/runtime.ts";
import { stridedCopyGpu } from "../../kernels/webgpu/strided.ts";
import type { AttentionMask } from "../ops/nn.ts";
import { Tensor } from "../tensor.ts";
import { gpuMask } from "./mask.ts";
import { gpuArrayOf } from "./ops.ts";

/** A cache's arrays on the GPU and its layout: (B, H, capacity, D), the first `length` positions valid. */
export interface GpuCache {
  /** Cached keys. */
  readonly k: GpuArray;
  /** Cached values. */
  readonly v: GpuArray;
  /** Batch rows. */
  readonly B: number;
  /** Key/value heads. */
  readonly H: number;
  /** Positions the arrays hold. */
  readonly capacity: number;
  /** Head size. */
  readonly D: number;
  /** Positions cached. */
  readonly length: number;
}

// Strides of the cache (B, H, capacity, D) over (b, h, t, d), the first position written at `length`.
function cacheSide(a: GpuArray, c: GpuCache): { a: GpuArray; strides: number[]; offset: number } {
  return { a, strides: [c.H * c.capacity * c.D, c.capacity * c.D, c.D, 1], offset: c.length * c.D };
}

/** Appends T positions from the fused projection output qkv (B, T, 3C) (k, v: its second and third thirds). */
export function appendPackedGpu(qkv: Tensor, c: GpuCache): void {
  const q = gpuArrayOf(qkv, "KVCache.appendPacked"), gpu = q.gpu;
  const { B, H, D } = c, T = qkv.shape[1], C = H * D;
  const strides = [T * 3 * C, D, 3 * C, 1]; // (b, h, t, d) in (B, T, 3C)
  stridedCopyGpu(gpu, [B, H, T, D], { a: q, strides, offset: C }, cacheSide(c.k, c));
  stridedCopyGpu(gpu, [B, H, T, D], { a: q, strides, offset: 2 * C }, cacheSide(c.v, c));
}

/**
 * Appends T positions from k, v (B, Hq, T, D) — the first query head of each group of Hq / H — and returns the
 * whole cached k and v repeated for each query head, (B, Hq, length + T, D) (arrays of the step).
 */
export function appendHeadsGpu(k: Tensor, v: Tensor, c: GpuCache): [Tensor, Tensor] {
  const ka = gpuArrayOf(k, "KVCache.append"), va = gpuArrayOf(v, "KVCache.append"), gpu = ka.gpu;
  const { B, H, capacity, D } = c, Hq = k.shape[1], T = k.shape[2], group = Hq / H, L = c.length + T;
  const heads = [Hq * T * D, group * T * D, D, 1]; // (b, h, t, d) of the group's first query head
  stridedCopyGpu(gpu, [B, H, T, D], { a: ka, strides: heads, offset: 0 }, cacheSide(c.k, c));
  stridedCopyGpu(gpu, [B, H, T, D], { a: va, strides: heads, offset: 0 }, cacheSide(c.v, c));
  const expand = (cache: GpuArray): Tensor => {
    const out = gpu.array(B * Hq * L * D);
    stridedCopyGpu(
      gpu,
      [B, H, group, L, D],
      { a: cache, strides: [H * capacity * D, capacity * D, 0, D, 1], offset: 0 },
      { a: out, strides: [Hq * L * D, group * L * D, L * D, D, 1], offset: 0 },
    );
    const t = new Tensor(out, [B, Hq, L, D]);
    t.device = k.device;
    return t;
  };
  return [expand(c.k), expand(c.v)];
}

/**
 * Decoding over the cache in place: the T new positions of qkv (B, T, 3C), whose keys and values are already
 * appended (the cache's length counts them), attend over the cache; returns the heads' outputs (B, T, C) (no
 * gradient). `mask` is (T, length), checked by the caller.
 */
export function cachedSelfAttentionGpu(qkv: Tensor, c: GpuCache, mask: AttentionMask): Tensor {
  const q = gpuArrayOf(qkv, "cachedSelfAttention"), gpu = q.gpu;
  const { B, H, D } = c, T = qkv.shape[1], Tk = c.length;
  const probs = gpu.array(B * H * T * Tk), y = gpu.array(B * T * H * D);
  const dims = { BH: B * H, H, Tq: T, Tk, D, scale: 1 / Math.sqrt(D) };
  cachedAttentionForwardGpu(gpu, q, c.k, c.v, c.capacity, gpuMask(gpu, mask), probs, y, dims);
  gpu.release(probs); // the dispatches recorded after this one may reuse it
  const out = new Tensor(y, [B, T, H * D]);
  out.device = qkv.device;
  return out;
}

/**
 * Row b of the B rows of `rowSize` elements of `a` becomes old row rows[b], in place: the rows are copied aside
 * once, then copied back in their new order (B buffer copies).
 */
export function pickRowsGpu(a: GpuArray, B: number, rowSize: number, rows: ArrayLike<number>): void {
  const gpu = a.gpu, old = gpu.array(B * rowSize);
  gpu.copy(a, old, B * rowSize);
  for (let b = 0; b < B; b++) gpu.copy(old, a, rowSize, rows[b] * rowSize, b * rowSize);
  gpu.release(old);
}
