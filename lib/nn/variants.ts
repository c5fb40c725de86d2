/**
 * The architecture variants by the names configs use (litgpt-style named options): norms, MLPs, positions and
 * attention kernels. GPT, Bert and T5 build their parts from these tables, and the config schema's enums are
 * their keys, so a new variant is one entry here plus its op. Each entry carries the line docs/config.md shows.
 *
 * @module
 */
import type { Rng } from "../random.ts";
import { type AttentionMask, flashSelfAttention, RopeTable, selfAttention } from "../tensor/mod.ts";
import type { DType, Tensor } from "../tensor/tensor.ts";
import { Embedding, LayerNorm, MLP, type MLPOptions, type Norm, RMSNorm, SwiGLUMLP } from "./layers.ts";

/** The model families, each of which picks a subset of the position variants. */
export type Family = "gpt" | "bert" | "t5";

/** Options of a norm factory. */
export interface NormOptions {
  /** A bias (LayerNorm only; RMSNorm has none). */
  bias: boolean;
  /** Added to the variance / mean square (default 1e-5). */
  eps?: number;
  /** Storage type. */
  dtype?: DType;
}

/** A norm variant's name. */
export type NormKind = "layernorm" | "rmsnorm";

/** Normalisation layers: (width, options) → a layer with a `weight` (and, LayerNorm with bias, a `bias`). */
export const NORMS: Readonly<Record<NormKind, NormVariant>> = {
  layernorm: {
    doc: "LayerNorm (GPT-2): (x − mean) / √(var + eps) · weight + bias",
    make: (dim, o) => new LayerNorm(dim, { bias: o.bias, eps: o.eps, dtype: o.dtype }),
  },
  rmsnorm: {
    doc: "RMSNorm (LLaMA, T5): x / √(mean(x²) + eps) · weight, no bias",
    make: (dim, o) => new RMSNorm(dim, { eps: o.eps, dtype: o.dtype }),
  },
};

/** A norm variant. */
export interface NormVariant {
  /** One line for docs/config.md. */
  readonly doc: string;
  /** Builds the layer. */
  readonly make: (dim: number, o: NormOptions) => Norm;
}

/** A feed-forward layer of any variant: x (..., C) → (..., C). */
export type FeedForward = MLP | SwiGLUMLP;

/** An MLP variant. */
export interface MLPVariant {
  /** One line for docs/config.md. */
  readonly doc: string;
  /** Builds the layer for width `dim` (hidden size, names and dropout placement in the options). */
  readonly make: (dim: number, o: MLPOptions) => FeedForward;
}

/** An MLP variant's name. */
export type MLPKind = "gelu" | "swiglu";

/** Feed-forward layers. */
export const MLPS: Readonly<Record<MLPKind, MLPVariant>> = {
  gelu: {
    doc: "GELU MLP (GPT-2): down(gelu(up x)), hidden 4·n_embd by default",
    make: (dim, o) => new MLP(dim, o),
  },
  swiglu: {
    doc:
      "SwiGLU (LLaMA): down(silu(gate x) ⊙ up x), hidden 8/3·n_embd rounded up to a multiple of 8 by default",
    make: (dim, o) => new SwiGLUMLP(dim, o),
  },
};

/** What a position variant adds to a GPT/Bert trunk: a learned table `wpe` and/or a rotary table for attention. */
export interface PositionParts {
  /** The learned position table (block_size, C), or null. */
  wpe: Embedding | null;
  /** The rotary table shared by every attention layer, or null. */
  rope: RopeTable | null;
}

/** Options of a position factory. */
export interface PositionOptions {
  /** Longest context. */
  blockSize: number;
  /** Width. */
  nEmbd: number;
  /** Head size (n_embd / n_head). */
  headSize: number;
  /** RoPE's base. */
  ropeBase: number;
  /** Init generator. */
  rng: Rng;
  /** Storage type. */
  dtype?: DType;
}

/** A position variant. */
export interface PositionVariant {
  /** One line for docs/config.md. */
  readonly doc: string;
  /** The families that use it. */
  readonly families: readonly Family[];
  /** Builds what it adds to a GPT/Bert trunk (T5's relative bias lives in its attention layers instead). */
  readonly make: (o: PositionOptions) => PositionParts;
}

/** A position variant's name. */
export type PositionKind = "learned" | "rope" | "none" | "relative";

/** Position encodings. */
export const POSITIONS: Readonly<Record<PositionKind, PositionVariant>> = {
  learned: {
    doc: "a learned table added to the token embeddings (GPT-2)",
    families: ["gpt", "bert"],
    make: (o) => ({ wpe: new Embedding(o.blockSize, o.nEmbd, o), rope: null }),
  },
  rope: {
    doc: "rotary embeddings on q and k (RoPE, LLaMA); needs an even head size",
    families: ["gpt", "bert"],
    make: (o) => ({ wpe: null, rope: new RopeTable(o.blockSize, o.headSize, o.ropeBase) }),
  },
  none: {
    doc: "no position information (a causal mask alone still tells positions apart)",
    families: ["gpt", "bert"],
    make: () => ({ wpe: null, rope: null }),
  },
  relative: {
    doc: "T5's bucketed relative position bias on the attention scores (t5 only)",
    families: ["t5"],
    make: () => ({ wpe: null, rope: null }),
  },
};

/** Options of an attention kernel. */
export interface AttentionKernelOptions {
  /** Attention-probability dropout (kernels with `dropout: true` only). */
  dropout?: number;
  /** Generator of the dropout masks. */
  rng?: Rng;
  /** Receives the probabilities (kernels with `probs: true` only). */
  onProbs?: (probs: Float32Array | Float64Array) => void;
}

/** An attention kernel variant. */
export interface AttentionVariant {
  /** One line for docs/config.md. */
  readonly doc: string;
  /** Whether it supports attention dropout. */
  readonly dropout: boolean;
  /** Whether it forms the probabilities (for `onProbs`, analysis). */
  readonly probs: boolean;
  /** Self-attention on the fused projection qkv (B, T, 3C) under a (T, T) mask → (B, T, C). */
  readonly selfAttention: (
    qkv: Tensor,
    nHead: number,
    mask: AttentionMask,
    o: AttentionKernelOptions,
  ) => Tensor;
}

/** An attention kernel's name. */
export type AttentionKind = "standard" | "flash";

/** Attention kernels for full-sequence forwards (decoding with a KV cache always uses the standard one). */
export const ATTENTIONS: Readonly<Record<AttentionKind, AttentionVariant>> = {
  standard: {
    doc: "stores the T×T probabilities (dropout, analysis)",
    dropout: true,
    probs: true,
    selfAttention: (qkv, nHead, mask, o) => selfAttention(qkv, nHead, mask, o),
  },
  flash: {
    doc: "tiled with an online softmax, O(T) memory; no attention dropout",
    dropout: false,
    probs: false,
    selfAttention: (qkv, nHead, mask) => flashSelfAttention(qkv, nHead, mask),
  },
};

/** The names of a variant table, as the non-empty tuple a config enum takes. */
export function variantNames<K extends string>(table: { readonly [key in K]: unknown }): [K, ...K[]] {
  return Object.keys(table) as [K, ...K[]];
}
