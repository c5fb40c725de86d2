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
import { LayerNorm, MLP, type Norm, RMSNorm, SwiGLUMLP } from "./layers.ts";
import { Module } from "./module.ts";
import { activeProbe } from "./probe.ts";

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
  /** Normalisation: LayerNorm (GPT-2) or RMSNorm (LLaMA). Default layernorm. */
  norm?: "layernorm" | "rmsnorm";
  /** pre: x + f(norm(x)) (GPT-2); post: norm(x + f(x)) (the original transformer, BERT). Default pre. */
  normPlacement?: "pre" | "post";
  /** MLP: GELU (GPT-2) or SwiGLU (LLaMA). Default gelu. */
  mlp?: "gelu" | "swiglu";
  /** MLP hidden size (default 4·C for GELU, LLaMA's rounding of 8/3·C for SwiGLU). */
  mlpHidden?: number;
  /** Rotary position table for attention, when the model uses RoPE. */
  rope?: RopeTable;
  /** Flash (tiled, online-softmax) attention for full-sequence forwards. */
  flash?: boolean;
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
  readonly mlp: MLP | SwiGLUMLP;
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
    this.ln_1 = this.child("ln_1", makeNorm(o.norm ?? "layernorm", o.nEmbd, o.bias, o.dtype));
    this.attn = this.child(
      "attn",
      new CausalSelfAttention(o.nEmbd, o.nHead, { ...common, rope: o.rope, flash: o.flash }),
    );
    this.ln_2 = this.child("ln_2", makeNorm(o.norm ?? "layernorm", o.nEmbd, o.bias, o.dtype));
    const mlpOpts = { ...common, hidden: o.mlpHidden };
    this.mlp = this.child(
      "mlp",
      (o.mlp ?? "gelu") === "swiglu" ? new SwiGLUMLP(o.nEmbd, mlpOpts) : new MLP(o.nEmbd, mlpOpts),
    );
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
    activeProbe()?.blockOutput(y.data);
    return y;
  }
}

/** A LayerNorm (with a bias when `bias`) or an RMSNorm (weight only) of width `dim`. */
export function makeNorm(kind: "layernorm" | "rmsnorm", dim: number, bias: boolean, dtype?: DType): Norm {
  return kind === "rmsnorm" ? new RMSNorm(dim, { dtype }) : new LayerNorm(dim, { bias, dtype });
}
