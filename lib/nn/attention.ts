/**
 * Multi-head causal self-attention (nanoGPT's CausalSelfAttention), with an explicit mask, an optional KV cache
 * and grouped-query attention (fewer key/value heads than query heads).
 *
 * @module
 */
import type { Rng } from "../random.ts";
import {
  attention,
  type AttentionMask,
  causalMask,
  narrow,
  permute,
  reshape,
  rope,
  type RopeTable,
} from "../tensor/mod.ts";
import { repeatKvHeads } from "../tensor/ops/gqa.ts";
import { cachedAttentionForward, cachedAttentionSupported } from "../kernels/attention.ts";
import { residentFloat32 } from "../kernels/wasm/runtime.ts";
import { type DType, Tensor } from "../tensor/tensor.ts";
import { Dropout, Linear } from "./layers.ts";
import { Module } from "./module.ts";
import { type AttentionKind, ATTENTIONS, type AttentionVariant } from "./variants.ts";

/**
 * Keys and values of the positions seen so far, for one layer: (B, H, capacity, D) buffers, H the key/value
 * heads (fewer than the query heads with grouped-query attention).
 */
export class KVCache {
  /** Cached keys, (B, H, capacity, D), valid up to `length`. */
  readonly k: Float32Array | Float64Array;
  /** Cached values. */
  readonly v: Float32Array | Float64Array;
  /** Number of cached positions. */
  length = 0;

  /** Allocates an empty cache. */
  constructor(
    readonly B: number,
    readonly H: number,
    readonly capacity: number,
    readonly D: number,
    dtype: DType,
  ) {
    const n = B * H * capacity * D;
    // float32 caches live in the kernel memory, where attention reads them in place
    this.k = dtype === "float64" ? new Float64Array(n) : residentFloat32(n) ?? new Float32Array(n);
    this.v = dtype === "float64" ? new Float64Array(n) : residentFloat32(n) ?? new Float32Array(n);
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
    const src = qkv.data;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * 3 * C;
        for (let h = 0; h < H; h++) {
          const dst = ((b * H + h) * capacity + this.length + t) * D;
          this.k.set(src.subarray(row + C + h * D, row + C + (h + 1) * D), dst);
          this.v.set(src.subarray(row + 2 * C + h * D, row + 2 * C + (h + 1) * D), dst);
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
    for (let bh = 0; bh < B * H; bh++) {
      const src = bh * group * T * D, dst = (bh * capacity + this.length) * D; // the group's first query head
      this.k.set(k.data.subarray(src, src + T * D), dst);
      this.v.set(v.data.subarray(src, src + T * D), dst);
    }
    this.length += T;
    const L = this.length;
    const kk = Tensor.zeros([B, Hq, L, D], k.dtype), vv = Tensor.zeros([B, Hq, L, D], k.dtype);
    for (let bq = 0; bq < B * Hq; bq++) {
      const bh = Math.floor(bq / group); // (b·Hq + h) / group = b·H + ⌊h/group⌋
      kk.data.set(this.k.subarray(bh * capacity * D, (bh * capacity + L) * D), bq * L * D);
      vv.data.set(this.v.subarray(bh * capacity * D, (bh * capacity + L) * D), bq * L * D);
    }
    return [kk, vv];
  }
}

/** Options of {@link CausalSelfAttention}. */
export interface AttentionLayerOptions {
  /** Init generator. */
  rng: Rng;
  /** Dropout generator. */
  dropoutRng: Rng;
  /** Storage type. */
  dtype?: DType;
  /** Biases in c_attn and c_proj. */
  bias?: boolean;
  /** Dropout on attention probabilities and on the output. */
  dropout?: number;
  /** Init std of c_proj. */
  projStd?: number;
  /** Rotary position embeddings on q and k (the model's shared table), or none. */
  rope?: RopeTable;
  /** Attention kernel for full-sequence forwards (a key of {@link ATTENTIONS}). Default standard. */
  attention?: AttentionKind;
  /** Key/value heads (grouped-query attention; 1 = multi-query); must divide nHead. Default nHead. */
  nKvHead?: number;
}

/**
 * c_attn (3C, C) projects to q, k, v; heads attend under an explicit mask; c_proj (C, C) mixes the heads.
 * Attention scale 1/√(C/H). With nKvHead < nHead (grouped-query attention) c_attn is ((nHead + 2·nKvHead)·D, C):
 * its output rows are [q (nHead·D) | k (nKvHead·D) | v (nKvHead·D)], and query head h reads key/value head
 * ⌊h·nKvHead/nHead⌋. The key/value heads are repeated per query head before the attention kernel (an extra
 * (B, T, 3C) copy forward and a gather-sum backward; attention compute is that of nHead heads); the KV cache
 * keeps nKvHead heads.
 */
export class CausalSelfAttention extends Module {
  /** Fused q/k/v projection, ((nHead + 2·nKvHead)·D, C): (3C, C) without grouping. */
  readonly c_attn: Linear;
  /** Output projection, (C, C). */
  readonly c_proj: Linear;
  /** Dropout after c_proj. */
  readonly resid_dropout: Dropout;
  /** Probability of attention dropout. */
  readonly attnDropout: number;
  /** The dropout generator (shared with the model). */
  readonly dropoutRng: Rng;
  /** Receives each forward's attention probabilities (B, H, T, T) when set (analysis). */
  onProbs: ((probs: Float32Array | Float64Array) => void) | undefined;

  /** Key/value heads (= nHead without grouped-query attention). */
  readonly nKvHead: number;

  /** Creates the layer. */
  constructor(readonly nEmbd: number, readonly nHead: number, opts: AttentionLayerOptions) {
    super();
    if (nEmbd % nHead !== 0) {
      throw new Error(`attention: n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
    }
    this.nKvHead = opts.nKvHead ?? nHead;
    if (!Number.isInteger(this.nKvHead) || this.nKvHead < 1 || nHead % this.nKvHead !== 0) {
      throw new Error(`attention: n_kv_head ${this.nKvHead} does not divide n_head ${nHead}`);
    }
    const D = nEmbd / nHead;
    this.c_attn = this.child("c_attn", new Linear(nEmbd, (nHead + 2 * this.nKvHead) * D, opts));
    this.c_proj = this.child("c_proj", new Linear(nEmbd, nEmbd, { ...opts, std: opts.projStd }));
    this.attnDropout = opts.dropout ?? 0;
    this.dropoutRng = opts.dropoutRng;
    this.resid_dropout = this.child("resid_dropout", new Dropout(this.attnDropout, opts.dropoutRng));
    this.rope = opts.rope ?? null;
    this.attention = opts.attention ?? "standard";
    this.#kernel = ATTENTIONS[this.attention];
    if (!this.#kernel.dropout && this.attnDropout > 0) {
      throw new Error(
        `attention: "${this.attention}" has no attention dropout; set dropout to 0 (got ${this.attnDropout})`,
      );
    }
    if (this.rope !== null && this.rope.D !== nEmbd / nHead) {
      throw new Error(`attention: the RoPE table is for head size ${this.rope.D}, not ${nEmbd / nHead}`);
    }
  }

  /** Rotary position table (q and k are rotated) or null (positions come from elsewhere, or none). */
  readonly rope: RopeTable | null;
  /** The kernel of full-sequence forwards (decoding with a cache uses the standard one). */
  readonly attention: AttentionKind;
  readonly #kernel: AttentionVariant;

  /**
   * x (B, T, C) → (B, T, C). Without a cache the mask defaults to causal (T, T). With a cache, the new positions
   * are appended and attend to everything cached before them (mask (T, length)).
   */
  forward(x: Tensor, opts: { mask?: AttentionMask; cache?: KVCache } = {}): Tensor {
    const [B, T, C] = x.shape;
    const H = this.nHead, D = C / H;
    let qkv = this.c_attn.forward(x); // (B, T, 3C), or (B, T, (H + 2·Hkv)·D) grouped
    if (this.nKvHead !== H) qkv = repeatKvHeads(qkv, H, this.nKvHead); // → (B, T, 3C)
    if (this.rope !== null) qkv = rope(qkv, H, opts.cache?.length ?? 0, this.rope); // positions continue the cache
    const p = this.training ? this.attnDropout : 0;
    if (!opts.cache) {
      // training and full recompute: attention reads the heads in place from qkv
      const mask = opts.mask ?? causalMask(T);
      const kernel = this.onProbs !== undefined && !this.#kernel.probs ? ATTENTIONS.standard : this.#kernel;
      const y = kernel.selfAttention(qkv, H, mask, {
        dropout: p,
        rng: this.dropoutRng,
        onProbs: this.onProbs,
      });
      return this.resid_dropout.forward(this.c_proj.forward(y));
    }
    const cache = opts.cache, kc = cache.k, vc = cache.v;
    if (
      cache.H === H && cachedAttentionSupported(qkv.data) && cachedAttentionSupported(kc) &&
      cachedAttentionSupported(vc) &&
      !qkv.requiresGrad && p === 0
    ) {
      // decoding: append k, v from qkv and attend over the cache in place (no gradient, no dropout)
      const Tk = cache.length + T;
      const mask = opts.mask ?? causalMask(T, Tk);
      if (mask.Tq !== T || mask.Tk !== Tk) {
        throw new Error(`attention: mask is (${mask.Tq}, ${mask.Tk}) but the scores are (${T}, ${Tk})`);
      }
      cache.appendPacked(qkv);
      const probs = new Float32Array(B * H * T * Tk), y = new Float32Array(B * T * C);
      const dims = { BH: B * H, H, Tq: T, Tk, D, scale: 1 / Math.sqrt(D) };
      cachedAttentionForward(qkv.data, kc, vc, cache.capacity, mask.data, probs, y, dims);
      this.onProbs?.(probs);
      return this.resid_dropout.forward(this.c_proj.forward(new Tensor(y, [B, T, C])));
    }
    const heads = (t: Tensor) => permute(reshape(t, [B, T, H, D]), [0, 2, 1, 3]); // (B, H, T, D)
    const q = heads(narrow(qkv, 2, 0, C));
    let k = heads(narrow(qkv, 2, C, C));
    let v = heads(narrow(qkv, 2, 2 * C, C));
    [k, v] = cache.append(k, v); // (a grouped cache keeps nKvHead heads and repeats them here)
    const Tk = k.shape[2];
    const mask = opts.mask ?? causalMask(T, Tk);
    const y = attention(q, k, v, mask, { dropout: p, rng: this.dropoutRng, onProbs: this.onProbs });
    const merged = reshape(permute(y, [0, 2, 1, 3]), [B, T, C]); // (B, T, C)
    return this.resid_dropout.forward(this.c_proj.forward(merged));
  }
}
