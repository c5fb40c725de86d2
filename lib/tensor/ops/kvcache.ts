/**
 * The KV cache of decoding: keys and values of the positions seen so far, in long-lived storage, appended from
 * each step's projections; the decoding fast path that attends over it in place; and the in-place row reorder
 * of beam search. A cache fed tensors on the GPU keeps its keys and values there (lib/tensor/gpu/kvcache.ts).
 *
 * @module
 */
import { cachedAttentionForward, cachedAttentionSupported } from "../../kernels/attention.ts";
import type { Gpu, GpuArray } from "../../kernels/webgpu/runtime.ts";
import {
  appendHeadsGpu,
  appendPackedGpu,
  cachedSelfAttentionGpu,
  type GpuCache,
  pickRowsGpu,
} from "../gpu/kvcache.ts";
import { allocatePersistent } from "../storage.ts";
import { type DType, type Float, Tensor } from "../tensor.ts";
import { type AttentionMask, causalMask } from "./nn.ts";

/**
 * Keys and values of the positions seen so far, for one layer: (B, H, capacity, D) buffers, H the key/value
 * heads (fewer than the query heads with grouped-query attention). The buffers are made on first use: on the GPU
 * when the first tensor appended lives there (persistent arrays, given back by {@link KVCache.free}), else in
 * host memory.
 */
export class KVCache {
  #host: { k: Float; v: Float } | null = null;
  #gpu: { k: GpuArray; v: GpuArray } | null = null;
  /** Number of cached positions. */
  length = 0;

  /** An empty cache (its storage is made on first use). */
  constructor(
    readonly B: number,
    readonly H: number,
    readonly capacity: number,
    readonly D: number,
    readonly dtype: DType,
  ) {}

  /** Cached keys in host memory, (B, H, capacity, D), valid up to `length` (throws for a cache on the GPU). */
  get k(): Float {
    return this.#hostStorage().k;
  }

  /** Cached values in host memory (throws for a cache on the GPU). */
  get v(): Float {
    return this.#hostStorage().v;
  }

  /** Whether the keys and values live on the GPU. */
  get onGpu(): boolean {
    return this.#gpu !== null;
  }

  #hostStorage(): { k: Float; v: Float } {
    if (this.#gpu !== null) {
      throw new Error(
        "KV cache: its keys and values live on the GPU (the model is there); they have no host copy",
      );
    }
    const n = this.B * this.H * this.capacity * this.D;
    // long-lived storage: on the CPU, float32 caches live in the kernel memory, where attention reads them in place
    this.#host ??= { k: allocatePersistent(this.dtype, n), v: allocatePersistent(this.dtype, n) };
    return this.#host;
  }

  /** The cache on `gpu` as the GPU ops take it, at its current length (its arrays made on the first call). */
  gpuCache(gpu: Gpu): GpuCache {
    if (this.#host !== null) {
      throw new Error(
        "KV cache: it holds host memory but the tensors appended live on the GPU (use a new cache)",
      );
    }
    const n = this.B * this.H * this.capacity * this.D;
    this.#gpu ??= { k: gpu.zeros(n, "f32", true), v: gpu.zeros(n, "f32", true) };
    const { B, H, capacity, D, length } = this;
    return { ...this.#gpu, B, H, capacity, D, length };
  }

  /** Gives the arrays of a cache on the GPU back to the pool (the cache is empty and reusable afterwards). */
  free(): void {
    if (this.#gpu !== null) {
      this.#gpu.k.gpu.release(this.#gpu.k);
      this.#gpu.v.gpu.release(this.#gpu.v);
    }
    this.#gpu = null;
    this.length = 0;
  }

  /**
   * Appends T new positions straight from the fused projection output qkv (B, T, 3C) (k and v are its second
   * and third thirds, heads side by side) without forming (B, H, T, D) tensors.
   */
  appendPacked(qkv: Tensor): void {
    const { B, H, capacity, D } = this;
    const T = qkv.shape[1], C = H * D;
    if (qkv.ndim !== 3 || qkv.shape[0] !== B || qkv.shape[2] !== 3 * C) {
      throw new Error(`KVCache.appendPacked: qkv [${qkv.shape}] must be (${B}, T, ${3 * C})`);
    }
    if (this.length + T > capacity) {
      throw new Error(`KV cache full: ${this.length} + ${T} > ${capacity} positions`);
    }
    if (qkv.gpu !== null) {
      appendPackedGpu(qkv, this.gpuCache(qkv.gpu.gpu));
      this.length += T;
      return;
    }
    const { k, v } = this.#hostStorage(), src = qkv.data;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * 3 * C;
        for (let h = 0; h < H; h++) {
          const dst = ((b * H + h) * capacity + this.length + t) * D;
          k.set(src.subarray(row + C + h * D, row + C + (h + 1) * D), dst);
          v.set(src.subarray(row + 2 * C + h * D, row + 2 * C + (h + 1) * D), dst);
        }
      }
    }
    this.length += T;
  }

  /**
   * Appends T new positions (k, v: (B, Hq, T, D)) and returns the whole cached k and v as (B, Hq, length, D).
   * Hq is a multiple of the cache's H: with grouped-query attention the Hq/H query heads of a group carry equal
   * copies of their key/value head, the cache keeps one and the result repeats it for each query head.
   */
  append(k: Tensor, v: Tensor): [Tensor, Tensor] {
    const { B, H, capacity, D } = this;
    const Hq = k.shape[1], T = k.shape[2], group = Hq / H;
    if (k.ndim !== 4 || k.shape[0] !== B || !Number.isInteger(group) || k.shape[3] !== D) {
      throw new Error(`KVCache.append: k [${k.shape}] must be (${B}, a multiple of ${H} heads, T, ${D})`);
    }
    if (this.length + T > capacity) {
      throw new Error(`KV cache full: ${this.length} + ${T} > ${capacity} positions`);
    }
    if (k.gpu !== null) {
      const kv = appendHeadsGpu(k, v, this.gpuCache(k.gpu.gpu));
      this.length += T;
      return kv;
    }
    const host = this.#hostStorage();
    for (let bh = 0; bh < B * H; bh++) {
      const src = bh * group * T * D, dst = (bh * capacity + this.length) * D; // the group's first query head
      host.k.set(k.data.subarray(src, src + T * D), dst);
      host.v.set(v.data.subarray(src, src + T * D), dst);
    }
    this.length += T;
    const L = this.length;
    const kk = Tensor.zeros([B, Hq, L, D], k.dtype), vv = Tensor.zeros([B, Hq, L, D], k.dtype);
    for (let bq = 0; bq < B * Hq; bq++) {
      const bh = Math.floor(bq / group); // (b·Hq + h) / group = b·H + ⌊h/group⌋
      kk.data.set(host.k.subarray(bh * capacity * D, (bh * capacity + L) * D), bq * L * D);
      vv.data.set(host.v.subarray(bh * capacity * D, (bh * capacity + L) * D), bq * L * D);
    }
    return [kk, vv];
  }

  /** Reorders (and may repeat) the batch rows in place: row b becomes old row `rows[b]` (beam search). */
  reorder(rows: ArrayLike<number>): void {
    const rowSize = this.H * this.capacity * this.D;
    if (this.#gpu !== null) {
      pickRowsGpu(this.#gpu.k, this.B, rowSize, rows);
      pickRowsGpu(this.#gpu.v, this.B, rowSize, rows);
      return;
    }
    const { k, v } = this.#hostStorage();
    pickRows(k, this.B, rowSize, rows);
    pickRows(v, this.B, rowSize, rows);
  }
}

// Row b of the B rows of `rowSize` elements in `buf` becomes old row rows[b], in place.
function pickRows(buf: Float, B: number, rowSize: number, rows: ArrayLike<number>): void {
  const old = buf.slice(0, B * rowSize);
  for (let b = 0; b < B; b++) buf.set(old.subarray(rows[b] * rowSize, (rows[b] + 1) * rowSize), b * rowSize);
}

/**
 * Reorders (and may repeat) the rows of `t` along its first dimension in place: row b becomes old row
 * `rows[b]` (beam search over a decoding state). `rows` has one entry per row.
 */
export function reorderRows(t: Tensor, rows: ArrayLike<number>): void {
  const B = t.shape[0];
  if (rows.length !== B) throw new Error(`reorderRows: ${rows.length} rows for [${t.shape}]`);
  if (t.gpu !== null) pickRowsGpu(t.gpu, B, t.size / B, rows);
  else pickRows(t.data, B, t.size / B, rows);
}

/**
 * Decoding with a cache on the fast path: appends k and v of the T new positions straight from the fused
 * projection output qkv (B, T, 3C) and attends over the cache in place (no gradient, no dropout), returning
 * the heads' outputs (B, T, C) and handing `onProbs` the probabilities (B, H, T, length). Null (and nothing
 * appended) where the path does not apply: a grouped cache, or host storage the kernel cannot read in place.
 * On the GPU (qkv there) it always applies; `onProbs` is not available there.
 */
export function cachedSelfAttention(
  qkv: Tensor,
  cache: KVCache,
  H: number,
  mask: AttentionMask | undefined,
  onProbs?: (probs: Float32Array | Float64Array) => void,
): Tensor | null {
  if (cache.H !== H) return null;
  const [B, T] = qkv.shape, C = qkv.shape[2] / 3, D = C / H;
  const Tk = cache.length + T;
  if (qkv.gpu !== null) {
    if (onProbs !== undefined) {
      throw new Error("attention probabilities (onProbs): not on webgpu yet; analyze the model on the CPU");
    }
    const m = checkedMask(mask, T, Tk);
    cache.appendPacked(qkv);
    return cachedSelfAttentionGpu(qkv, cache.gpuCache(qkv.gpu.gpu), m);
  }
  const { k, v } = cache;
  if (!cachedAttentionSupported(qkv.data) || !cachedAttentionSupported(k) || !cachedAttentionSupported(v)) {
    return null;
  }
  const m = checkedMask(mask, T, Tk);
  cache.appendPacked(qkv);
  const probs = new Float32Array(B * H * T * Tk), y = new Float32Array(B * T * C);
  const dims = { BH: B * H, H, Tq: T, Tk, D, scale: 1 / Math.sqrt(D) };
  cachedAttentionForward(qkv.data, k, v, cache.capacity, m.data, probs, y, dims);
  onProbs?.(probs);
  return new Tensor(y, [B, T, C]);
}

// The mask of T new positions over Tk keys: `mask` when its shape fits (an error when not), else causal.
function checkedMask(mask: AttentionMask | undefined, T: number, Tk: number): AttentionMask {
  mask ??= causalMask(T, Tk);
  if (mask.Tq !== T || mask.Tk !== Tk) {
    throw new Error(`attention: mask is (${mask.Tq}, ${mask.Tk}) but the scores are (${T}, ${Tk})`);
  }
  return mask;
}
