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
import { cachedSelfAttention, KVCache } from "../tensor/ops/kvcache.ts";
import type { DType, Tensor } from "../tensor/tensor.ts";
import { Dropout, Linear } from "./layers.ts";
import { Module } from "./module.ts";
import { type AttentionKind, ATTENTIONS, type AttentionVariant } from "./variants.ts";

export { KVCache };

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
    const cache = opts.cache;
    if (!qkv.requiresGrad && p === 0) {
      // decoding: append k, v from qkv and attend over the cache in place (null where that path does not apply)
      const y = cachedSelfAttention(qkv, cache, H, opts.mask, this.onProbs);
      if (y !== null) return this.resid_dropout.forward(this.c_proj.forward(y));
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
