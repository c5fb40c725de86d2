/**
 * The transformer block: pre-norm x + attn(ln_1(x)), then x + mlp(ln_2(x)) (GPT-2), or post-norm
 * ln_1(x + attn(x)), then ln_2(x + mlp(x)); LayerNorm or RMSNorm; GELU or SwiGLU MLP; RoPE in attention.
 *
 * @module
 */
import type { Rng } from "../random.ts";
import { add, type AttentionMask, type RopeTable } from "../tensor/mod.ts";
import type { DType, Tensor } from "../tensor/tensor.ts";
import { CausalSelfAttention, type KVCache } from "./attention.ts";
import type { Norm } from "./layers.ts";
import { Module } from "./module.ts";
import { activeProbe } from "./probe.ts";
import {
  type AttentionKind,
  type FeedForward,
  type MLPKind,
  MLPS,
  type NormKind,
  NORMS,
} from "./variants.ts";

/** Options of {@link Block}. */
export interface BlockOptions {
  /** Width. */
  nEmbd: number;
  /** Heads. */
  nHead: number;
  /** Number of blocks in the model (scales the residual projections' init). */
  nLayer: number;
  /** Dropout probability. */
  dropout: number;
  /** Biases in linear layers and LayerNorms. */
  bias: boolean;
  /** Init generator. */
  rng: Rng;
  /** Dropout generator. */
  dropoutRng: Rng;
  /** Storage type. */
  dtype?: DType;
  /** Key/value heads of grouped-query attention (default nHead). */
  nKvHead?: number;
  /** Normalisation (a key of {@link NORMS}). Default layernorm. */
  norm?: NormKind;
  /** pre: x + f(norm(x)) (GPT-2); post: norm(x + f(x)) (the original transformer, BERT). Default pre. */
  normPlacement?: "pre" | "post";
  /** MLP (a key of {@link MLPS}). Default gelu. */
  mlp?: MLPKind;
  /** MLP hidden size (default 4·C for GELU, LLaMA's rounding of 8/3·C for SwiGLU). */
  mlpHidden?: number;
  /** Rotary position table for attention, when the model uses RoPE. */
  rope?: RopeTable;
  /** Attention kernel for full-sequence forwards. Default standard. */
  attention?: AttentionKind;
}

/** One transformer block (names: ln_1, attn, ln_2, mlp), GPT-2's by default, with the variants as options. */
export class Block extends Module {
  /** Norm before attention (after it, post-norm). */
  readonly ln_1: Norm;
  /** Self-attention. */
  readonly attn: CausalSelfAttention;
  /** Norm before the MLP (after it, post-norm). */
  readonly ln_2: Norm;
  /** Feed-forward. */
  readonly mlp: FeedForward;
  /** Where the norms sit. */
  readonly placement: "pre" | "post";

  /** Creates the block. */
  constructor(o: BlockOptions) {
    super();
    const projStd = 0.02 / Math.sqrt(2 * o.nLayer);
    const common = {
      rng: o.rng,
      dropoutRng: o.dropoutRng,
      dtype: o.dtype,
      bias: o.bias,
      dropout: o.dropout,
      projStd,
    };
    this.placement = o.normPlacement ?? "pre";
    const norm = NORMS[o.norm ?? "layernorm"], normOpts = { bias: o.bias, dtype: o.dtype };
    this.ln_1 = this.child("ln_1", norm.make(o.nEmbd, normOpts));
    this.attn = this.child(
      "attn",
      new CausalSelfAttention(o.nEmbd, o.nHead, {
        ...common,
        nKvHead: o.nKvHead,
        rope: o.rope,
        attention: o.attention,
      }),
    );
    this.ln_2 = this.child("ln_2", norm.make(o.nEmbd, normOpts));
    this.mlp = this.child("mlp", MLPS[o.mlp ?? "gelu"].make(o.nEmbd, { ...common, hidden: o.mlpHidden }));
  }

  /** x (B, T, C) → (B, T, C). */
  forward(x: Tensor, opts: { mask?: AttentionMask; cache?: KVCache } = {}): Tensor {
    let y: Tensor;
    if (this.placement === "post") {
      x = this.ln_1.forward(add(x, this.attn.forward(x, opts)));
      y = this.ln_2.forward(add(x, this.mlp.forward(x)));
    } else {
      x = add(x, this.attn.forward(this.ln_1.forward(x), opts));
      y = add(x, this.mlp.forward(this.ln_2.forward(x)));
    }
    activeProbe()?.blockOutput(y.readSync());
    return y;
  }
}
