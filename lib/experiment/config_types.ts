// Generated from lib/experiment/schema.ts by `deno run -A scripts/config_docs.ts`: do not edit.
/**
 * The config types, generated from the zod schema (the documentation of each key is its `.describe()`).
 *
 * @module
 */

/** Model architecture (`model.*`). */
export interface ModelConfig {
  /**
   * Model family: "gpt" (decoder, next-token), "bert" (bidirectional encoder, masked-LM) or "t5"
   * (encoder–decoder with relative position bias, span corruption or a generated seq2seq task).
   */
  family: "gpt" | "bert" | "t5";
  /** Number of transformer blocks (t5: encoder blocks). */
  n_layer: number;
  /** Attention heads per block. */
  n_head: number;
  /**
   * Key/value heads of grouped-query attention: query head h reads key/value head ⌊h·n_kv_head/n_head⌋, and
   * the KV cache holds n_kv_head heads; 1 = multi-query; must divide n_head; null = n_head (standard
   * multi-head attention).
   */
  n_kv_head: number | null;
  /** Embedding width; divisible by `n_head`. */
  n_embd: number;
  /** Context length in tokens. */
  block_size: number;
  /** Dropout probability in [0, 1). */
  dropout: number;
  /** Whether linear layers and layer norms carry a bias. */
  bias: boolean;
  /** Whether the output head shares the token embedding matrix. */
  tie_weights: boolean;
  /**
   * Positions: "learned" — a learned table added to the token embeddings (GPT-2); "rope" — rotary embeddings
   * on q and k (RoPE, LLaMA); needs an even head size; "none" — no position information (a causal mask alone
   * still tells positions apart); "relative" — T5's bucketed relative position bias on the attention scores
   * (t5 only).
   */
  position: "learned" | "rope" | "none" | "relative";
  /** RoPE's base: the angle of pair i at position p is p · rope_base^(−2i/head_size). */
  rope_base: number;
  /**
   * Normalisation: "layernorm" — LayerNorm (GPT-2): (x − mean) / √(var + eps) · weight + bias; "rmsnorm" —
   * RMSNorm (LLaMA, T5): x / √(mean(x²) + eps) · weight, no bias.
   */
  norm: "layernorm" | "rmsnorm";
  /**
   * Norm before each sub-layer ("pre", GPT-2) or after its residual add ("post", the original transformer).
   */
  norm_placement: "pre" | "post";
  /**
   * Feed-forward layer: "gelu" — GELU MLP (GPT-2): down(gelu(up x)), hidden 4·n_embd by default; "swiglu" —
   * SwiGLU (LLaMA): down(silu(gate x) ⊙ up x), hidden 8/3·n_embd rounded up to a multiple of 8 by default.
   */
  mlp: "gelu" | "swiglu";
  /**
   * MLP hidden size; null = 4·n_embd for GELU, LLaMA's 8/3·n_embd rounded up to a multiple of 8 for SwiGLU.
   */
  mlp_hidden: number | null;
  /**
   * Attention kernel: "standard" — stores the T×T probabilities (dropout, analysis); "flash" — tiled with an
   * online softmax, O(T) memory; no attention dropout.
   */
  attention: "standard" | "flash";
  /**
   * The attention mask, an explicit argument of every attention layer: null = the family's own (gpt causal,
   * bert bidirectional, t5 bidirectional encoder and causal decoder); true makes a bert causal; a gpt cannot
   * be made bidirectional.
   */
  causal: boolean | null;
  /** t5: decoder blocks; null = n_layer. */
  n_decoder_layer: number | null;
  /** t5: buckets of the relative position bias. */
  relative_buckets: number;
  /** t5: the distance where the log-spaced buckets end (farther positions share the last bucket). */
  relative_max_distance: number;
}

/** Optimisation, schedule, evaluation and checkpoint cadence (`train.*`). */
export interface TrainConfig {
  /** Optimizer steps to run. */
  max_steps: number;
  /** Sequences per micro-batch. */
  batch_size: number;
  /**
   * Micro-batches per optimizer step (gradients add up): a step sees batch_size · grad_accum_steps sequences.
   */
  grad_accum_steps: number;
  /**
   * Recompute each block's activations in backward instead of keeping them (less memory, more compute; gpt
   * and bert).
   */
  activation_checkpointing: boolean;
  /**
   * Number format of activations, activation gradients and the weights' compute copy, emulated in software:
   * "fp32", "bf16" or "fp16" (float32 master weights and float32 accumulation either way).
   */
  precision: "fp32" | "bf16" | "fp16";
  /**
   * fp16: initial loss scale (dynamic: halved on overflow, the step skipped; doubled after a run of good
   * steps).
   */
  loss_scale: number;
  /** fp16: good steps in a row before the loss scale doubles. */
  loss_scale_growth_interval: number;
  /**
   * Layer-wise learning-rate decay: each layer below the top gets this times the rate of the one above; 1 =
   * off.
   */
  layer_lr_decay: number;
  /** Peak learning rate, reached after warm-up. */
  learning_rate: number;
  /** Learning rate at the end of the (cosine) decay. */
  min_learning_rate: number;
  /** Linear warm-up steps. */
  warmup_steps: number;
  /** Steps over which the learning rate decays to min_learning_rate; null = `max_steps`. */
  lr_decay_steps: number | null;
  /** Optimizer: "adamw" or "sgd". */
  optimizer: "adamw" | "sgd";
  /** AdamW first-moment decay. */
  beta1: number;
  /** AdamW second-moment decay. */
  beta2: number;
  /** AdamW denominator epsilon. */
  eps: number;
  /** SGD momentum. */
  momentum: number;
  /** Decoupled weight decay. */
  weight_decay: number;
  /** Clip the global gradient norm to this; 0 = off. */
  grad_clip: number;
  /** Evaluate on the validation split every this many steps. */
  eval_interval: number;
  /** Steps' worth of batches per evaluation (each of batch_size · grad_accum_steps sequences). */
  eval_steps: number;
  /** Save a checkpoint every this many steps. */
  checkpoint_interval: number;
  /** Log training metrics every this many steps. */
  log_interval: number;
  /**
   * Every this many steps a `detail` line: per-tensor gradient norm, weight norm and update ratio, per-block
   * activation mean/std and dead GELU share (the report's gradient-flow figures); 0 = never.
   */
  log_interval_detail: number;
  /** Seed for every random choice of the run (init, batches, sampling). */
  seed: number;
  /** Tokens to sample at each evaluation; 0 = none. */
  sample_tokens: number;
  /** The prompt samples start from. */
  sample_prompt: string;
}

/** Corpus, split and tokenizer (`data.*`). */
export interface DataConfig {
  /**
   * The corpus when `paths` is empty: "code" (TypeScript's own declaration files, built in), or a named
   * corpus unpacked once with `deno task corpus <name>`: "sotu" (State of the Union addresses, by year),
   * "brown" (the Brown corpus) or "kjv" (the King James Bible).
   */
  corpus: "code" | "sotu" | "brown" | "kjv";
  /**
   * Files or folders to use as the corpus instead of the built-in one; [] = built-in. Folders are walked
   * (hidden folders and node_modules left out); dangling links, links to folders, unreadable entries, special
   * files, binary and empty files are skipped and counted in one warning line.
   */
  paths: string[];
  /** Fraction of the corpus held out for validation. */
  val_fraction: number;
  /**
   * Fraction held out as a test split after the validation files (the very last files; 0 = none). Training
   * never sees it; `deno task eval <run> --split test` scores it.
   */
  test_fraction: number;
  /**
   * Tokenizer: "char" (one id per character of the corpus), "bpe" (byte-level BPE with GPT-2's
   * pre-tokenisation, trained on the training text to `vocab_size` ids) or "gpt2" (GPT-2's own 50,257-id
   * vocabulary).
   */
  tokenizer: "char" | "bpe" | "gpt2";
  /** bpe: the vocabulary size to train to (256 byte ids plus merges; training may stop earlier). */
  vocab_size: number;
  /**
   * bert: the share of positions chosen for masked-LM (of those, 80% [MASK], 10% a random token, 10% kept).
   */
  mask_probability: number;
  /**
   * What the model learns: "corpus" (the family's objective on the corpus: next token, masked tokens or T5
   * span corruption) or, for t5, a generated seq2seq task: "reverse" or "sort" a random string of symbols.
   */
  task: "corpus" | "reverse" | "sort";
  /** t5 span corruption: the share of tokens dropped from the input (and predicted). */
  noise_density: number;
  /** t5 span corruption: mean length of a dropped span. */
  mean_span_length: number;
  /** t5 generated tasks: symbols in the alphabet (a, b, c, … then digits). */
  task_symbols: number;
  /** t5 generated tasks: shortest source string. */
  task_min_len: number;
  /** t5 generated tasks: longest source string (it and an end token must fit model.block_size). */
  task_max_len: number;
}

/** Run naming and output location (`run.*`). */
export interface RunConfig {
  /** Run name (letters, digits, ".", "_", "-"); the run directory is `<out_dir>/<name>-<date>-<time>`. */
  name: string;
  /** Folder that holds run directories. */
  out_dir: string;
  /**
   * Kernel backend: "auto" (the fastest available CPU backend: blas where OpenBLAS is installed, else wasm),
   * "js" (reference), "wasm" (WebAssembly SIMD), "blas" (OpenBLAS matrix products, the rest on wasm; needs
   * libopenblas0 and FFI, which deno task experiment grants for its library path), "webgpu" (the GPU through
   * WebGPU: Deno's --unstable-webgpu, which the deno tasks pass, and a Vulkan, Metal or Direct3D 12 adapter;
   * a software one such as Mesa's lavapipe is used since it is asked for by name; see docs/gpu.md).
   */
  backend: "auto" | "js" | "wasm" | "blas" | "webgpu";
  /**
   * Kernel threads (the wasm kernels and the blocks of OpenBLAS products are split over them); 0 = every
   * core.
   */
  threads: number;
}

/** A fully resolved, validated config (every key present). */
export interface Config {
  /** Model architecture (`model.*`). */
  model: ModelConfig;
  /** Optimisation, schedule, evaluation and checkpoint cadence (`train.*`). */
  train: TrainConfig;
  /** Corpus, split and tokenizer (`data.*`). */
  data: DataConfig;
  /** Run naming and output location (`run.*`). */
  run: RunConfig;
}

/** What a config file may contain: any subset of {@link Config}'s keys (before validation). */
export interface ConfigInput {
  /** See {@link ModelConfig}. */
  model?: Partial<ModelConfig>;
  /** See {@link TrainConfig}. */
  train?: Partial<TrainConfig>;
  /** See {@link DataConfig}. */
  data?: Partial<DataConfig>;
  /** See {@link RunConfig}. */
  run?: Partial<RunConfig>;
}
