/**
 * T5: an encoder–decoder transformer with a shared token embedding, pre-norm blocks, T5's bucketed relative
 * position bias (computed once per stack by its first layer and shared by all its layers; none in
 * cross-attention), padding-aware encoder attention and cross-attention, a causal decoder, and an optionally tied
 * LM head.
 *
 * Parameter names follow Hugging Face's `T5ForConditionalGeneration` (PyTorch `nn.Linear` layout [out, in]):
 *
 * ```
 * shared.weight                                                       (vocab, C)
 * encoder.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight            (C, C); k, v (n_kv_head·D, C)
 * encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight (numBuckets, H)
 * encoder.block.{i}.layer.0.layer_norm.weight
 * encoder.block.{i}.layer.1.DenseReluDense.{wi,wo}.weight             (gelu) or {wi_0,wi_1,wo} (swiglu)
 * encoder.block.{i}.layer.1.layer_norm.weight
 * encoder.final_layer_norm.weight
 * decoder.block.{i}.layer.0.SelfAttention.…  (block 0 has relative_attention_bias, unidirectional buckets)
 * decoder.block.{i}.layer.1.EncDecAttention.{q,k,v,o}.weight
 * decoder.block.{i}.layer.1.layer_norm.weight
 * decoder.block.{i}.layer.2.DenseReluDense.…, decoder.block.{i}.layer.2.layer_norm.weight
 * decoder.final_layer_norm.weight
 * lm_head.weight                                                       (vocab, C), = shared.weight when tied
 * ```
 *
 * With `bias: true` every Linear gets a `.bias` and LayerNorms a `.bias` (HF T5 has none). HF's aliases
 * `encoder.embed_tokens.weight` / `decoder.embed_tokens.weight` (the same tensor as `shared.weight`) are not
 * listed.
 *
 * Differences from HF T5, on purpose: scores are scaled by 1/√D (T5 folds that into its init; here the init is
 * GPT-2's N(0, 0.02²), with the output projections o/wo at 0.02/√(2·layers)), the tied LM head does not rescale
 * the decoder output by C^−1/2 (T5 needs that because its embedding init is N(0, 1)), the gelu MLP uses exact
 * GELU (T5 v1.0 uses ReLU) and the gated one SiLU (T5 v1.1 uses gelu_new). RMSNorm eps is 1e-6 as in T5.
 *
 * @module
 */
import { relativePositionBuckets } from "../../kernels/relpos.ts";
import { Rng } from "../../random.ts";
import {
  add,
  type AttentionMask,
  causalMask,
  crossEntropy,
  keepOnlyResult,
  permute,
  reshape,
} from "../../tensor/mod.ts";
import { repeatHeads } from "../../tensor/ops/gqa.ts";
import { attentionWithBias, relativePositionBias } from "../../tensor/ops/relpos.ts";
import type { DType, Tensor } from "../../tensor/tensor.ts";
import { KVCache } from "../attention.ts";
import { reorderRows } from "../../tensor/ops/kvcache.ts";
import { Dropout, Embedding, Linear, type MLPOptions, type Norm } from "../layers.ts";
import { Module, ModuleList } from "../module.ts";
import { type FeedForward, type MLPKind, MLPS, type NormKind, NORMS } from "../variants.ts";

/** Shape and options of a {@link T5}. */
export interface T5Config {
  /** Tokens in the vocabulary (shared by source and target). */
  vocabSize: number;
  /** Longest source and longest target sequence. */
  blockSize: number;
  /** Encoder blocks. */
  nLayer: number;
  /** Decoder blocks (default nLayer). */
  nDecoderLayer?: number;
  /** Attention heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention, self- and cross-attention; 1 = multi-query). Default nHead. */
  nKvHead?: number;
  /** Width. */
  nEmbd: number;
  /** Dropout probability (embeddings, attention probabilities, sub-layer outputs, MLP hidden, final). */
  dropout: number;
  /** Biases in Linear layers and LayerNorms (T5: none). */
  bias: boolean;
  /** Share the token embedding with the LM head. */
  tieWeights: boolean;
  /** The norm (a key of {@link NORMS}): RMSNorm (T5) by default. */
  norm?: NormKind;
  /** The MLP (a key of {@link MLPS}): GELU (wi → gelu → wo, the default) or SwiGLU (wo(silu(wi_0 x) ⊙ wi_1 x)). */
  mlp?: MLPKind;
  /** MLP hidden size; default 4·C (gelu) or LLaMA's 8/3·C rounded up to a multiple of 8 (swiglu). */
  mlpHidden?: number;
  /** Relative position buckets (default 32). */
  numBuckets?: number;
  /** Distance at which the log-spaced buckets end (default 128). */
  maxDistance?: number;
}

/** Result of {@link T5.forward}. */
export interface T5Output {
  /** (B, Tt, vocab). */
  logits: Tensor;
  /** Mean cross-entropy against the targets (targets of -1 are ignored), when targets were given. */
  loss: Tensor | null;
}

/** Options of {@link T5.forward}. */
export interface T5ForwardOptions {
  /** Targets (B·Tt) for the decoder positions, -1 = ignore (padding). */
  targets?: Int32Array;
  /** Real length of each source row (B); positions at or after it are padding that no query attends to. */
  srcLengths?: Int32Array;
}

/**
 * Decoding state of one batch: the encoder output's cross-attention keys and values (computed once), the
 * decoder self-attention KV caches and the source lengths. Made by {@link T5.startDecoding}.
 */
export interface T5DecoderState {
  /** Batch rows. */
  readonly B: number;
  /** Source length of each row, or null (no padding). */
  srcLengths: Int32Array | null;
  /** One self-attention cache per decoder block. */
  readonly selfCaches: KVCache[];
  /** Cross-attention keys per decoder block, (B, nKvHead, Ts, D). */
  crossK: Tensor[];
  /** Cross-attention values per decoder block, (B, nKvHead, Ts, D). */
  crossV: Tensor[];
}

interface Common {
  rng: Rng;
  dropoutRng: Rng;
  dtype: DType;
  bias: boolean;
  dropout: number;
  projStd: number;
}

/** What a T5 attention layer attends with: the position bias, masks and (when decoding) caches. */
export interface T5AttentionInputs {
  /** Additive bias (H, Tq, Tk), or null. */
  bias: Tensor | null;
  /** Shared (Tq, Tk) mask, or null. */
  mask: AttentionMask | null;
  /** Per-row key lengths (padding), or null. */
  keyLengths: Int32Array | null;
}

/**
 * T5Attention: q, o projections (C, C), k, v (nKvHead·D, C) (= (C, C) without grouped-query attention); the
 * first layer of a stack also owns `relative_attention_bias` (numBuckets, H). Keys and values (and the caches)
 * have nKvHead heads; query head h reads head ⌊h·nKvHead/nHead⌋ (repeated before the attention op).
 */
export class T5Attention extends Module {
  /** Query projection. */
  readonly q: Linear;
  /** Key projection. */
  readonly k: Linear;
  /** Value projection. */
  readonly v: Linear;
  /** Output projection. */
  readonly o: Linear;
  /** The learned bucket → per-head bias table, in the first layer of a stack with position bias. */
  readonly relative_attention_bias: Embedding | null;
  /** Attention-probability dropout. */
  readonly pDrop: number;
  /** Dropout generator. */
  readonly dropoutRng: Rng;

  /** Creates the layer. */
  constructor(
    readonly nEmbd: number,
    readonly nHead: number,
    c: Common & { relativeBias: boolean; numBuckets: number; nKvHead?: number },
  ) {
    super();
    this.nKvHead = c.nKvHead ?? nHead;
    if (!Number.isInteger(this.nKvHead) || this.nKvHead < 1 || nHead % this.nKvHead !== 0) {
      throw new Error(`T5: n_kv_head ${this.nKvHead} does not divide n_head ${nHead}`);
    }
    const opts = { rng: c.rng, dtype: c.dtype, bias: c.bias }, kvWidth = (nEmbd / nHead) * this.nKvHead;
    this.q = this.child("q", new Linear(nEmbd, nEmbd, opts));
    this.k = this.child("k", new Linear(nEmbd, kvWidth, opts));
    this.v = this.child("v", new Linear(nEmbd, kvWidth, opts));
    this.o = this.child("o", new Linear(nEmbd, nEmbd, { ...opts, std: c.projStd }));
    this.relative_attention_bias = c.relativeBias
      ? this.child("relative_attention_bias", new Embedding(c.numBuckets, nHead, c))
      : null;
    this.pDrop = c.dropout;
    this.dropoutRng = c.dropoutRng;
  }

  /** Key/value heads (= nHead without grouped-query attention). */
  readonly nKvHead: number;

  /** (B, T, H·D) → (B, H, T, D) for H = `n` heads (default nHead). */
  heads(x: Tensor, n: number = this.nHead): Tensor {
    const [B, T, W] = x.shape;
    return permute(reshape(x, [B, T, n, W / n]), [0, 2, 1, 3]);
  }

  /** Keys and values (B, nKvHead, Tk, D) of `kv` (B, Tk, C). */
  keysValues(kv: Tensor): [Tensor, Tensor] {
    return [this.heads(this.k.forward(kv), this.nKvHead), this.heads(this.v.forward(kv), this.nKvHead)];
  }

  /**
   * x (B, Tq, C) attends to `kv` (B, Tk, C) (itself for self-attention), or to precomputed keys and values
   * (B, nKvHead, Tk, D); with a `cache`, x's own keys and values are appended first and it attends to all of
   * them.
   */
  forward(
    x: Tensor,
    ctx: T5AttentionInputs,
    src: { kv?: Tensor; k?: Tensor; v?: Tensor; cache?: KVCache } = {},
  ): Tensor {
    const [B, T, C] = x.shape;
    const q = this.heads(this.q.forward(x));
    let k: Tensor, v: Tensor;
    if (src.k !== undefined && src.v !== undefined) [k, v] = [src.k, src.v];
    else [k, v] = this.keysValues(src.kv ?? x);
    if (src.cache !== undefined) [k, v] = src.cache.append(k, v);
    if (this.nKvHead !== this.nHead) [k, v] = [repeatHeads(k, this.nHead), repeatHeads(v, this.nHead)];
    const y = attentionWithBias(q, k, v, ctx.bias, ctx.mask, {
      keyLengths: ctx.keyLengths,
      dropout: this.training ? this.pDrop : 0,
      rng: this.dropoutRng,
    });
    return this.o.forward(reshape(permute(y, [0, 2, 1, 3]), [B, T, C]));
  }
}

/** HF T5's names of each MLP variant's projections (`DenseReluDense.wi/wo`, gated `wi_0/wi_1/wo`). */
const T5_MLP_NAMES: Record<MLPKind, MLPOptions["names"]> = {
  gelu: { up: "wi", down: "wo" },
  swiglu: { gate: "wi_0", up: "wi_1", down: "wo" },
};

/** T5's norm eps per variant: HF T5's RMSNorm uses 1e-6; LayerNorm keeps its default. */
const T5_NORM_EPS: Partial<Record<NormKind, number>> = { rmsnorm: 1e-6 };

/** The feed-forward part, HF's `DenseReluDense`: the shared MLP with T5's names, dropout on the hidden layer. */
function t5MLP(dim: number, kind: MLPKind, hidden: number | undefined, c: Common): FeedForward {
  const { rng, dtype, bias, dropout, dropoutRng, projStd } = c;
  const opts = { rng, dtype, bias, dropout, dropoutRng, projStd, hidden };
  return MLPS[kind].make(dim, { ...opts, dropoutOn: "hidden", names: T5_MLP_NAMES[kind] });
}

function makeT5Norm(kind: NormKind, dim: number, bias: boolean, dtype: DType): Norm {
  return NORMS[kind].make(dim, { bias, dtype, eps: T5_NORM_EPS[kind] });
}

/** A pre-norm residual sub-layer, x + dropout(f(layer_norm(x))): HF's T5LayerSelfAttention / CrossAttention / FF. */
export class T5SubLayer<F extends Module> extends Module {
  /** The norm before the sub-layer. */
  readonly layer_norm: Norm;
  /** Dropout on the sub-layer's output. */
  readonly dropout: Dropout;

  /** Registers `inner` under `name` (SelfAttention, EncDecAttention or DenseReluDense). */
  constructor(name: string, readonly inner: F, norm: NormKind, dim: number, c: Common) {
    super();
    this.child(name, inner);
    this.layer_norm = this.child("layer_norm", makeT5Norm(norm, dim, c.bias, c.dtype));
    this.dropout = this.child("dropout", new Dropout(c.dropout, c.dropoutRng));
  }

  /** x + dropout(f(layer_norm(x))). */
  apply(x: Tensor, f: (h: Tensor) => Tensor): Tensor {
    return add(x, this.dropout.forward(f(this.layer_norm.forward(x))));
  }
}

/** One T5 block: `layer.0` self-attention, (decoder) `layer.1` cross-attention, then the feed-forward layer. */
export class T5Block extends Module {
  /** Self-attention sub-layer. */
  readonly selfAttn: T5SubLayer<T5Attention>;
  /** Cross-attention sub-layer (decoder only). */
  readonly crossAttn: T5SubLayer<T5Attention> | null;
  /** Feed-forward sub-layer. */
  readonly ff: T5SubLayer<FeedForward>;
  /** The sub-layers, HF's `layer` list. */
  readonly layer: ModuleList<Module>;

  /** Creates the block; `relativeBias` gives its self-attention the stack's bias table. */
  constructor(
    cfg: Required<Pick<T5Config, "nEmbd" | "nHead" | "nKvHead" | "numBuckets">> & {
      norm: NormKind;
      mlp: MLPKind;
      mlpHidden?: number;
      decoder: boolean;
      relativeBias: boolean;
    },
    c: Common,
  ) {
    super();
    const C = cfg.nEmbd;
    const attn = (relativeBias: boolean) =>
      new T5Attention(C, cfg.nHead, { ...c, relativeBias, numBuckets: cfg.numBuckets, nKvHead: cfg.nKvHead });
    this.selfAttn = new T5SubLayer("SelfAttention", attn(cfg.relativeBias), cfg.norm, C, c);
    this.crossAttn = cfg.decoder ? new T5SubLayer("EncDecAttention", attn(false), cfg.norm, C, c) : null;
    this.ff = new T5SubLayer("DenseReluDense", t5MLP(C, cfg.mlp, cfg.mlpHidden, c), cfg.norm, C, c);
    const subs: Module[] = this.crossAttn
      ? [this.selfAttn, this.crossAttn, this.ff]
      : [this.selfAttn, this.ff];
    this.layer = this.child("layer", new ModuleList(subs));
  }

  /**
   * x (B, T, C) → (B, T, C). `self` describes the self-attention (bias, masks, optional cache); `cross` the
   * cross-attention inputs: the encoder output or its precomputed keys and values, and the source lengths.
   */
  forward(
    x: Tensor,
    self: T5AttentionInputs & { cache?: KVCache },
    cross?: { enc?: Tensor; k?: Tensor; v?: Tensor; srcLengths: Int32Array | null },
  ): Tensor {
    x = this.selfAttn.apply(x, (h) => this.selfAttn.inner.forward(h, self, { cache: self.cache }));
    if (this.crossAttn !== null) {
      if (cross === undefined) throw new Error("T5Block: a decoder block needs the encoder output");
      const ca = this.crossAttn.inner;
      const ctx = { bias: null, mask: null, keyLengths: cross.srcLengths };
      x = this.crossAttn.apply(x, (h) => ca.forward(h, ctx, { kv: cross.enc, k: cross.k, v: cross.v }));
    }
    return this.ff.apply(x, (h) => this.ff.inner.forward(h));
  }
}

/** An encoder or decoder stack: `block` list, `final_layer_norm`, dropout. */
export class T5Stack extends Module {
  /** The blocks. */
  readonly block: ModuleList<T5Block>;
  /** Norm after the last block. */
  readonly final_layer_norm: Norm;
  /** Dropout on the embeddings and on the output. */
  readonly dropout: Dropout;

  /** Creates the stack. */
  constructor(n: number, readonly decoder: boolean, cfg: T5Config, c: Common) {
    super();
    const norm = cfg.norm ?? "rmsnorm";
    const blocks = Array.from({ length: n }, (_, i) =>
      new T5Block({
        nEmbd: cfg.nEmbd,
        nHead: cfg.nHead,
        nKvHead: cfg.nKvHead ?? cfg.nHead,
        numBuckets: cfg.numBuckets ?? 32,
        norm,
        mlp: cfg.mlp ?? "gelu",
        mlpHidden: cfg.mlpHidden,
        decoder,
        relativeBias: i === 0,
      }, c));
    this.block = this.child("block", new ModuleList(blocks));
    this.final_layer_norm = this.child("final_layer_norm", makeT5Norm(norm, cfg.nEmbd, c.bias, c.dtype));
    this.dropout = this.child("dropout", new Dropout(c.dropout, c.dropoutRng));
  }

  /** The stack's position bias (H, Tq, Tk) for queries at qOffset… against keys at 0…Tk−1, from block 0's table. */
  positionBias(Tq: number, Tk: number, qOffset: number, cfg: T5Config): Tensor {
    const table = this.block.items[0].selfAttn.inner.relative_attention_bias!.weight;
    const buckets = relativePositionBuckets(Tq, Tk, {
      bidirectional: !this.decoder,
      numBuckets: cfg.numBuckets ?? 32,
      maxDistance: cfg.maxDistance ?? 128,
      qOffset,
    });
    return relativePositionBias(table, buckets, Tq, Tk);
  }
}

/** T5 encoder–decoder (see the module notes for the names and the differences from HF T5). */
export class T5 extends Module {
  /** Token embedding shared by encoder, decoder (and the LM head when tied), (vocab, C). */
  readonly shared: Embedding;
  /** The encoder stack. */
  readonly encoder: T5Stack;
  /** The decoder stack. */
  readonly decoder: T5Stack;
  /** Output projection (vocab, C), no bias; shares shared.weight when tied. */
  readonly lm_head: Linear;
  /** The generator of every dropout mask; its state is part of a checkpoint. */
  readonly dropoutRng: Rng;

  /** Builds the model from a seeded generator. */
  constructor(readonly config: T5Config, rng: Rng, dtype: DType = "float32") {
    super();
    const c = config;
    if (c.nEmbd % c.nHead !== 0) {
      throw new Error(`T5: n_embd ${c.nEmbd} is not divisible by n_head ${c.nHead}`);
    }
    const nDec = c.nDecoderLayer ?? c.nLayer;
    if (c.nLayer < 1 || nDec < 1) throw new Error("T5: the encoder and the decoder need at least one block");
    this.dropoutRng = rng.fork();
    const common: Common = {
      rng,
      dropoutRng: this.dropoutRng,
      dtype,
      bias: c.bias,
      dropout: c.dropout,
      projStd: 0.02 / Math.sqrt(2 * (c.nLayer + nDec)),
    };
    this.shared = this.child("shared", new Embedding(c.vocabSize, c.nEmbd, { rng, dtype }));
    this.encoder = this.child("encoder", new T5Stack(c.nLayer, false, c, common));
    this.decoder = this.child("decoder", new T5Stack(nDec, true, c, common));
    this.lm_head = this.child(
      "lm_head",
      new Linear(c.nEmbd, c.vocabSize, {
        rng,
        dtype,
        bias: false,
        weight: c.tieWeights ? this.shared.weight : undefined,
      }),
    );
  }

  #checkIds(what: string, ids: Int32Array, B: number, T: number): void {
    if (ids.length !== B * T) throw new Error(`T5: ${ids.length} ${what} ids for shape (${B}, ${T})`);
    if (T > this.config.blockSize) {
      throw new Error(`T5: ${what} length ${T} exceeds block_size ${this.config.blockSize}`);
    }
  }

  /** The encoder output (B, Ts, C) of src (B, Ts) ids; `srcLengths` marks padding. */
  encode(src: Int32Array, B: number, Ts: number, srcLengths: Int32Array | null = null): Tensor {
    this.#checkIds("source", src, B, Ts);
    const enc = this.encoder;
    let x = enc.dropout.forward(this.shared.forward(src, [B, Ts]));
    const ctx: T5AttentionInputs = {
      bias: enc.positionBias(Ts, Ts, 0, this.config), // computed once, shared by every layer (T5)
      mask: null,
      keyLengths: srcLengths,
    };
    // (keepOnlyResult: without the tape, each block's intermediates are given back once its output exists)
    for (const block of enc.block.items) x = keepOnlyResult(() => block.forward(x, ctx));
    return enc.dropout.forward(enc.final_layer_norm.forward(x));
  }

  /**
   * Decoder logits (B, Tt, vocab) for tgtIn (B, Tt) given the encoder output (B, Ts, C): full causal
   * recompute, no cache.
   */
  decode(
    tgtIn: Int32Array,
    B: number,
    Tt: number,
    encOut: Tensor,
    srcLengths: Int32Array | null = null,
  ): Tensor {
    this.#checkIds("target", tgtIn, B, Tt);
    const dec = this.decoder;
    let x = dec.dropout.forward(this.shared.forward(tgtIn, [B, Tt]));
    const self = { bias: dec.positionBias(Tt, Tt, 0, this.config), mask: causalMask(Tt), keyLengths: null };
    for (const block of dec.block.items) {
      x = keepOnlyResult(() => block.forward(x, self, { enc: encOut, srcLengths }));
    }
    return this.lm_head.forward(dec.dropout.forward(dec.final_layer_norm.forward(x)));
  }

  /**
   * Teacher-forced forward: src (B, Ts) and decoder inputs tgtIn (B, Tt) → logits (B, Tt, vocab) and, with
   * targets, the mean cross-entropy.
   */
  forward(
    src: Int32Array,
    B: number,
    Ts: number,
    tgtIn: Int32Array,
    Tt: number,
    opts: T5ForwardOptions = {},
  ): T5Output {
    const lengths = opts.srcLengths ?? null;
    if (lengths !== null && lengths.length !== B) {
      throw new Error(`T5: ${lengths.length} source lengths for B=${B}`);
    }
    const logits = this.decode(tgtIn, B, Tt, this.encode(src, B, Ts, lengths), lengths);
    const loss = opts.targets ? crossEntropy(logits, opts.targets, -1) : null;
    return { logits, loss };
  }

  /**
   * Starts incremental decoding from an encoder output (B, Ts, C): computes every decoder block's
   * cross-attention keys and values once and makes empty self-attention caches for up to `capacity` positions.
   */
  startDecoding(
    encOut: Tensor,
    srcLengths: Int32Array | null = null,
    capacity = this.config.blockSize,
  ): T5DecoderState {
    const [B] = encOut.shape;
    const H = this.config.nKvHead ?? this.config.nHead, D = this.config.nEmbd / this.config.nHead;
    const crossK: Tensor[] = [], crossV: Tensor[] = [];
    for (const block of this.decoder.block.items) {
      const [k, v] = block.crossAttn!.inner.keysValues(encOut);
      crossK.push(k);
      crossV.push(v);
    }
    const selfCaches = this.decoder.block.items.map(() =>
      new KVCache(B, H, capacity, D, this.shared.weight.dtype)
    );
    return { B, srcLengths, selfCaches, crossK, crossV };
  }

  /**
   * Feeds T new decoder tokens (B, T) that follow the cached ones; returns their logits (B, T, vocab). Each
   * block appends the tokens' keys and values to its cache; the self-attention bias uses positions
   * cached…cached+T−1 for the queries.
   */
  decodeStep(tokens: Int32Array, B: number, T: number, state: T5DecoderState): Tensor {
    if (B !== state.B || tokens.length !== B * T) {
      throw new Error(
        `T5.decodeStep: ${tokens.length} ids for (${B}, ${T}) but the state has batch ${state.B}`,
      );
    }
    const dec = this.decoder;
    const past = state.selfCaches[0].length, Tk = past + T;
    if (Tk > this.config.blockSize) {
      throw new Error(`T5.decodeStep: ${Tk} target positions exceed block_size ${this.config.blockSize}`);
    }
    let x = dec.dropout.forward(this.shared.forward(tokens, [B, T]));
    const bias = dec.positionBias(T, Tk, past, this.config);
    const mask = causalMask(T, Tk);
    dec.block.items.forEach((block, i) => {
      x = block.forward(x, { bias, mask, keyLengths: null, cache: state.selfCaches[i] }, {
        k: state.crossK[i],
        v: state.crossV[i],
        srcLengths: state.srcLengths,
      });
    });
    return this.lm_head.forward(dec.dropout.forward(dec.final_layer_norm.forward(x)));
  }
}

/**
 * Reorders (and may repeat) the batch rows of a decoding state in place: row b becomes old row `rows[b]`
 * (beam search). The batch size stays the same.
 */
export function reorderDecoderState(state: T5DecoderState, rows: ArrayLike<number>): void {
  if (rows.length !== state.B) {
    throw new Error(`reorderDecoderState: ${rows.length} rows for batch ${state.B}`);
  }
  for (const c of state.selfCaches) c.reorder(rows);
  for (const t of [...state.crossK, ...state.crossV]) reorderRows(t, rows);
  if (state.srcLengths !== null) {
    const old = state.srcLengths.slice();
    state.srcLengths = Int32Array.from({ length: state.B }, (_, b) => old[rows[b]]);
  }
}

/** Convenience: a seeded T5. */
export function createT5(config: T5Config, seed: number, dtype: DType = "float32"): T5 {
  return new T5(config, new Rng(seed), dtype);
}
