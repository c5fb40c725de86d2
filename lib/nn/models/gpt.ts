/**
 * GPT: a decoder-only transformer with learned positions, pre-norm blocks and an optionally tied LM head.
 * The math and the parameter names are nanoGPT's, so a checkpoint loads into its `GPT` class unchanged. The
 * variants (RoPE or no positions, RMSNorm, post-norm, SwiGLU) are config options; they follow LLaMA's math and
 * HF LLaMA's names where nanoGPT has none (`mlp.gate_proj/up_proj/down_proj`; RMSNorms keep `ln_*` names).
 *
 * @module
 */
import { Rng } from "../../random.ts";
import {
  add,
  type AttentionMask,
  checkpoint,
  crossEntropy,
  keepOnlyResult,
  type RopeTable,
} from "../../tensor/mod.ts";
import type { DType, Tensor } from "../../tensor/tensor.ts";
import { isGradEnabled } from "../../tensor/grad.ts";
import { KVCache } from "../attention.ts";
import { Block } from "../block.ts";
import { Dropout, Embedding, Linear, type Norm } from "../layers.ts";
import { Container, Module, ModuleList } from "../module.ts";
import {
  type AttentionKind,
  type MLPKind,
  type NormKind,
  NORMS,
  type PositionKind,
  POSITIONS,
} from "../variants.ts";

/** Shape and options of a GPT. */
export interface GPTConfig {
  /** Tokens in the vocabulary. */
  vocabSize: number;
  /** Longest context (positions in wpe). */
  blockSize: number;
  /** Number of blocks. */
  nLayer: number;
  /** Attention heads per block. */
  nHead: number;
  /** Key/value heads (grouped-query attention; 1 = multi-query); must divide nHead. Default nHead. */
  nKvHead?: number;
  /** Width. */
  nEmbd: number;
  /** Dropout probability (embeddings, attention, residuals). */
  dropout: number;
  /** Biases in Linear layers and LayerNorms. */
  bias: boolean;
  /** Share the token embedding with the LM head. */
  tieWeights: boolean;
  /**
   * Positions (a key of {@link POSITIONS} for gpt and bert): a learned table `wpe` (GPT-2), rotary embeddings on
   * q and k (RoPE), or none. Default learned.
   */
  position?: Exclude<PositionKind, "relative">;
  /** RoPE's base (θ_i = base^(−2i/D)). Default 10000. */
  ropeBase?: number;
  /** The norm of the blocks and the end (a key of {@link NORMS}): LayerNorm (GPT-2) by default. */
  norm?: NormKind;
  /** Norms before (pre, GPT-2) or after (post) each sub-layer's residual add. Default pre. */
  normPlacement?: "pre" | "post";
  /** The MLP (a key of {@link MLPS}): GELU (GPT-2) by default. */
  mlp?: MLPKind;
  /** MLP hidden size; default 4·n_embd (GELU) or LLaMA's 8/3·n_embd rounded up to a multiple of 8 (SwiGLU). */
  mlpHidden?: number;
  /**
   * Recompute each block's activations during backward instead of keeping them (training only): less memory,
   * one more forward per block, identical gradients. Default false.
   */
  activationCheckpointing?: boolean;
  /** Attention kernel (a key of {@link ATTENTIONS}): "standard" by default. */
  attention?: AttentionKind;
}

/** Result of {@link GPT.forward}. */
export interface GPTOutput {
  /** (B, T, vocab). */
  logits: Tensor;
  /** Mean cross-entropy against the targets (targets of -1 are ignored), when targets were given. */
  loss: Tensor | null;
}

/** Options of {@link GPT.forward}. */
export interface GPTForwardOptions {
  /** Next-token targets, (B·T), -1 = ignore. */
  targets?: Int32Array;
  /** One KV cache per block (from {@link GPT.newCaches}); positions continue from the cached length. */
  caches?: KVCache[];
}

/**
 * The trunk GPT and Bert share: token (and position) embeddings, the blocks, the final norm and the LM head, with
 * nanoGPT's names and initialisation. Subclasses differ in their masks and forward options.
 */
export abstract class TransformerTrunk extends Module {
  /** Holds wte, wpe, drop, h, ln_f. */
  readonly transformer: Container;
  /** Token embedding (vocab, C). */
  readonly wte: Embedding;
  /** Position embedding (block_size, C), with learned positions only. */
  readonly wpe: Embedding | null;
  /** Rotary position table shared by the blocks, with RoPE only. */
  readonly rope: RopeTable | null;
  /** Embedding dropout. */
  readonly drop: Dropout;
  /** The blocks. */
  readonly h: ModuleList<Block>;
  /** Final norm. */
  readonly ln_f: Norm;
  /** Output projection (vocab, C), no bias; shares wte.weight when tied. */
  readonly lm_head: Linear;
  /** The generator of every dropout mask; its state is part of a checkpoint. */
  readonly dropoutRng: Rng;

  /** Builds the trunk with nanoGPT's initialisation from a seeded generator; `kind` names it in errors. */
  constructor(readonly config: GPTConfig, rng: Rng, dtype: DType, kind: string) {
    super();
    const c = config;
    if (c.nEmbd % c.nHead !== 0) {
      throw new Error(`${kind}: n_embd ${c.nEmbd} is not divisible by n_head ${c.nHead}`);
    }
    this.dropoutRng = rng.fork();
    this.transformer = this.child("transformer", new Container());
    this.wte = this.transformer.add("wte", new Embedding(c.vocabSize, c.nEmbd, { rng, dtype }));
    const { wpe, rope } = POSITIONS[c.position ?? "learned"].make({
      blockSize: c.blockSize,
      nEmbd: c.nEmbd,
      headSize: c.nEmbd / c.nHead,
      ropeBase: c.ropeBase ?? 10000,
      rng,
      dtype,
    });
    this.wpe = wpe && this.transformer.add("wpe", wpe);
    this.rope = rope;
    this.drop = this.transformer.add("drop", new Dropout(c.dropout, this.dropoutRng));
    const blocks = Array.from({ length: c.nLayer }, () =>
      new Block({
        nEmbd: c.nEmbd,
        nHead: c.nHead,
        nKvHead: c.nKvHead,
        nLayer: c.nLayer,
        dropout: c.dropout,
        bias: c.bias,
        rng,
        dropoutRng: this.dropoutRng,
        dtype,
        norm: c.norm,
        normPlacement: c.normPlacement,
        mlp: c.mlp,
        mlpHidden: c.mlpHidden,
        rope: this.rope ?? undefined,
        attention: c.attention,
      }));
    this.h = this.transformer.add("h", new ModuleList(blocks));
    this.ln_f = this.transformer.add(
      "ln_f",
      NORMS[c.norm ?? "layernorm"].make(c.nEmbd, { bias: c.bias, dtype }),
    );
    this.lm_head = this.child(
      "lm_head",
      new Linear(c.nEmbd, c.vocabSize, {
        rng,
        dtype,
        bias: false,
        weight: c.tieWeights ? this.wte.weight : undefined,
      }),
    );
  }

  /** Token embeddings of idx (B, T) plus the positions pos0…pos0+T−1 (learned table), after dropout. */
  protected embed(idx: Int32Array, B: number, T: number, pos0: number): Tensor {
    let x = this.wte.forward(idx, [B, T]); // (B, T, C)
    if (this.wpe !== null) {
      const pos = new Int32Array(T);
      for (let t = 0; t < T; t++) pos[t] = pos0 + t;
      x = add(x, this.wpe.forward(pos, [T])); // + (T, C)
    }
    return this.drop.forward(x);
  }

  /** `block` on x, recomputed in backward instead of stored when `recompute` (activation checkpointing). */
  protected runBlock(
    block: Block,
    x: Tensor,
    recompute: boolean,
    opts: { mask?: AttentionMask; cache?: KVCache },
  ): Tensor {
    // without the tape (evaluation, generation) only the block's output is kept
    if (!isGradEnabled()) return keepOnlyResult(() => block.forward(x, opts));
    if (!recompute) return block.forward(x, opts);
    const params = block.namedParameters(undefined, true).map((p) => p.tensor);
    return checkpoint((h) => block.forward(h, opts), x, { params, rng: this.dropoutRng });
  }

  /** Final norm, LM head and (with targets, −1 = ignore) the mean cross-entropy. */
  protected head(x: Tensor, targets?: Int32Array): { logits: Tensor; loss: Tensor | null } {
    const logits = this.lm_head.forward(this.ln_f.forward(x)); // (B, T, vocab)
    return { logits, loss: targets ? crossEntropy(logits, targets, -1) : null };
  }
}

/** nanoGPT's GPT. */
export class GPT extends TransformerTrunk {
  /** Builds the model with nanoGPT's initialisation from a seeded generator. */
  constructor(config: GPTConfig, rng: Rng, dtype: DType = "float32") {
    super(config, rng, dtype, "GPT");
  }

  /**
   * Empty KV caches (one per block, nKvHead heads) for batch B and up to `capacity` positions (default
   * block_size).
   */
  newCaches(B: number, capacity = this.config.blockSize): KVCache[] {
    const { nHead, nEmbd } = this.config, nKvHead = this.config.nKvHead ?? nHead;
    return this.h.items.map(() => new KVCache(B, nKvHead, capacity, nEmbd / nHead, this.wte.weight.dtype));
  }

  /**
   * idx: (B, T) token ids, row-major. With caches, the T new tokens sit at positions cached…cached+T−1.
   * Returns the logits (B, T, vocab) and, with targets, the loss.
   */
  forward(idx: Int32Array, B: number, T: number, opts: GPTForwardOptions = {}): GPTOutput {
    const pos0 = opts.caches?.[0]?.length ?? 0;
    if (idx.length !== B * T) throw new Error(`GPT.forward: ${idx.length} ids for shape (${B}, ${T})`);
    if (pos0 + T > this.config.blockSize) {
      throw new Error(`GPT.forward: ${pos0 + T} positions exceed block_size ${this.config.blockSize}`);
    }
    let x = this.embed(idx, B, T, pos0);
    const recompute = (this.config.activationCheckpointing ?? false) && this.training && !opts.caches;
    this.h.items.forEach((block, i) => x = this.runBlock(block, x, recompute, { cache: opts.caches?.[i] }));
    return this.head(x, opts.targets);
  }
}

/** Convenience: a seeded GPT. */
export function createGPT(config: GPTConfig, seed: number, dtype: DType = "float32"): GPT {
  return new GPT(config, new Rng(seed), dtype);
}
