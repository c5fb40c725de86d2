/**
 * The pre-norm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
 *
 * @module
 */
import type { Rng } from "../random.ts";
import { add, type AttentionMask } from "../tensor/mod.ts";
import type { DType, Tensor } from "../tensor/tensor.ts";
import { CausalSelfAttention, type KVCache } from "./attention.ts";
import { LayerNorm, MLP } from "./layers.ts";
import { Module } from "./module.ts";

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
}

/** One GPT-2 block (names: ln_1, attn, ln_2, mlp). */
export class Block extends Module {
  /** Norm before attention. */
  readonly ln_1: LayerNorm;
  /** Self-attention. */
  readonly attn: CausalSelfAttention;
  /** Norm before the MLP. */
  readonly ln_2: LayerNorm;
  /** Feed-forward. */
  readonly mlp: MLP;

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
    this.ln_1 = this.child("ln_1", new LayerNorm(o.nEmbd, { bias: o.bias, dtype: o.dtype }));
    this.attn = this.child("attn", new CausalSelfAttention(o.nEmbd, o.nHead, common));
    this.ln_2 = this.child("ln_2", new LayerNorm(o.nEmbd, { bias: o.bias, dtype: o.dtype }));
    this.mlp = this.child("mlp", new MLP(o.nEmbd, common));
  }

  /** x (B, T, C) → (B, T, C). */
  forward(x: Tensor, opts: { mask?: AttentionMask; cache?: KVCache } = {}): Tensor {
    x = add(x, this.attn.forward(this.ln_1.forward(x), opts));
    return add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
}
