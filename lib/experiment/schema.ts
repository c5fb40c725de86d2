/**
 * The experiment config schema (zod 4). Every key has a default, so `{}` resolves to the quickstart config, and
 * every leaf carries a human description of what it expects (used in error messages). The defaults below are the
 * one place to tune; `configs/quickstart.jsonc` spells them out and a test keeps the two equal.
 *
 * @module
 */
import { z } from "zod";

const posInt = (def: number) => z.int().min(1).describe("a positive integer").default(def);
const nonNegInt = (def: number) => z.int().min(0).describe("an integer >= 0").default(def);
const posNum = (def: number) => z.number().gt(0).describe("a number > 0").default(def);
const nonNegNum = (def: number) => z.number().min(0).describe("a number >= 0").default(def);
const fraction = (def: number) => z.number().min(0).lt(1).describe("a number in [0, 1)").default(def);
const bool = (def: boolean) => z.boolean().describe("true or false").default(def);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) =>
  z.enum(values).describe(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`).default(def);
const group = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).describe("an object");

const ModelSchema = group({
  family: oneOf(["gpt", "bert", "t5"], "gpt"),
  n_layer: posInt(4),
  n_head: posInt(4),
  n_embd: posInt(128),
  block_size: posInt(128),
  dropout: fraction(0),
  bias: bool(true),
  tie_weights: bool(true),
  position: oneOf(["learned", "rope", "none", "relative"], "learned"),
  rope_base: posNum(10000),
  norm: oneOf(["layernorm", "rmsnorm"], "layernorm"),
  norm_placement: oneOf(["pre", "post"], "pre"),
  mlp: oneOf(["gelu", "swiglu"], "gelu"),
  mlp_hidden: z.int().min(1).nullable().describe("a positive integer or null").default(null),
  attention: oneOf(["standard", "flash"], "standard"),
  causal: z.boolean().nullable().describe("true, false or null").default(null),
  n_decoder_layer: z.int().min(1).nullable().describe("a positive integer or null").default(null),
  relative_buckets: posInt(32),
  relative_max_distance: posInt(128),
}).superRefine((m, ctx) => {
  if ((m.family === "gpt" && m.causal === false) || (m.family === "t5" && m.causal !== null)) {
    ctx.addIssue({
      code: "custom",
      path: ["causal"],
      input: m.causal,
      message: m.family === "gpt"
        ? 'true or null for model.family "gpt" (it predicts the next token: a bidirectional mask would show it)'
        : 'null for model.family "t5" (its encoder is bidirectional and its decoder causal)',
      params: { related: ["model.family"] },
    });
  }
  if ((m.family === "t5") !== (m.position === "relative")) {
    ctx.addIssue({
      code: "custom",
      path: ["position"],
      input: m.position,
      message: m.family === "t5"
        ? `"relative" for model.family "t5" (T5's bucketed relative position bias)`
        : `"learned", "rope" or "none": "relative" (T5's position bias) needs model.family "t5"`,
      params: { related: ["model.family"] },
    });
  }
  if (m.attention === "flash" && m.dropout > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["attention"],
      input: m.attention,
      message:
        `"standard" when model.dropout > 0 (flash attention has no attention dropout), or model.dropout 0`,
      params: { related: ["model.dropout"] },
    });
  }
  const headSize = m.n_embd / m.n_head;
  if (m.position === "rope" && Number.isInteger(headSize) && headSize % 2 !== 0) {
    ctx.addIssue({
      code: "custom",
      path: ["position"],
      input: m.position,
      message:
        `a head size (model.n_embd / model.n_head = ${headSize}) that is even for "rope", which rotates ` +
        `pairs of dimensions; use an even n_embd / n_head or another position`,
      params: { related: ["model.n_embd", "model.n_head"] },
    });
  }
  if (Number.isInteger(m.n_embd) && Number.isInteger(m.n_head) && m.n_head > 0 && m.n_embd % m.n_head !== 0) {
    ctx.addIssue({
      code: "custom",
      path: ["n_embd"],
      input: m.n_embd,
      message: `a value divisible by model.n_head (${m.n_head})`,
      params: { related: ["model.n_head"] },
    });
  }
});

const TrainSchema = group({
  max_steps: posInt(800),
  batch_size: posInt(16),
  grad_accum_steps: posInt(1),
  activation_checkpointing: bool(false),
  precision: oneOf(["fp32", "bf16", "fp16"], "fp32"),
  loss_scale: posNum(65536),
  loss_scale_growth_interval: posInt(2000),
  layer_lr_decay: z.number().gt(0).max(1).describe("a number in (0, 1]").default(1),
  learning_rate: posNum(3e-3),
  min_learning_rate: nonNegNum(3e-4),
  warmup_steps: nonNegInt(50),
  lr_decay_steps: z.int().min(1).nullable().describe("a positive integer or null").default(null),
  optimizer: oneOf(["adamw", "sgd"], "adamw"),
  beta1: fraction(0.9),
  beta2: fraction(0.99),
  eps: posNum(1e-8),
  momentum: fraction(0.9),
  weight_decay: nonNegNum(0.1),
  grad_clip: nonNegNum(1.0),
  eval_interval: posInt(100),
  eval_steps: posInt(10),
  checkpoint_interval: posInt(200),
  log_interval: posInt(10),
  log_interval_detail: nonNegInt(50),
  seed: z.int().describe("an integer").default(1337),
  sample_tokens: nonNegInt(200),
  sample_prompt: z.string().describe("a string").default("export function "),
});

const DataSchema = group({
  corpus: oneOf(["code", "sotu", "brown", "kjv"], "code"),
  paths: z.array(z.string().describe("a string")).describe("an array of strings").default(() => []),
  val_fraction: z.number().gt(0).lt(1).describe("a number in (0, 1)").default(0.1),
  test_fraction: z.number().min(0).lt(1).describe("a number in [0, 1)").default(0),
  tokenizer: oneOf(["char", "bpe", "gpt2"], "char"),
  vocab_size: z.int().min(257).describe("an integer >= 257").default(4096),
  mask_probability: z.number().gt(0).lt(1).describe("a number in (0, 1)").default(0.15),
  task: oneOf(["corpus", "reverse", "sort"], "corpus"),
  noise_density: z.number().gt(0).lt(1).describe("a number in (0, 1)").default(0.15),
  mean_span_length: posNum(3),
  task_symbols: z.int().min(2).max(36).describe("an integer in [2, 36]").default(10),
  task_min_len: posInt(4),
  task_max_len: posInt(10),
});

const RunSchema = group({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/)
    .describe('a name of letters, digits, ".", "_" and "-"').default("quickstart"),
  out_dir: z.string().min(1).describe("a non-empty string").default("runs"),
  backend: oneOf(["auto", "js", "wasm", "blas"], "auto"),
  threads: nonNegInt(0),
});

const Schema = group({
  model: ModelSchema.prefault({}),
  train: TrainSchema.prefault({}),
  data: DataSchema.prefault({}),
  run: RunSchema.prefault({}),
}).superRefine((c, ctx) => {
  const issue = (path: string[], input: unknown, message: string, related: string[]) =>
    ctx.addIssue({ code: "custom", path, input, message, params: { related } });
  const t5 = c.model.family === "t5";
  if (!t5 && c.data.task !== "corpus") {
    issue(
      ["data", "task"],
      c.data.task,
      `"corpus" for model.family "${c.model.family}" (generated tasks are t5's)`,
      [
        "model.family",
      ],
    );
  }
  if (t5 && c.train.layer_lr_decay !== 1) {
    issue(
      ["train", "layer_lr_decay"],
      c.train.layer_lr_decay,
      `1 for model.family "t5" (no layer order to decay along)`,
      [
        "model.family",
      ],
    );
  }
  if (t5 && c.model.attention === "flash") {
    issue(
      ["model", "attention"],
      c.model.attention,
      `"standard" for model.family "t5" (flash has no position bias)`,
      [
        "model.family",
      ],
    );
  }
  if (t5 && c.model.norm_placement !== "pre") {
    issue(["model", "norm_placement"], c.model.norm_placement, `"pre" for model.family "t5"`, [
      "model.family",
    ]);
  }
  if (t5 && c.train.activation_checkpointing) {
    issue(["train", "activation_checkpointing"], true, `false for model.family "t5" (gpt and bert only)`, [
      "model.family",
    ]);
  }
  if (t5 && c.data.task !== "corpus" && c.data.tokenizer !== "char") {
    issue(
      ["data", "tokenizer"],
      c.data.tokenizer,
      `"char" for a generated t5 task (its alphabet is the vocabulary)`,
      [
        "data.task",
      ],
    );
  }
  if (c.data.task_min_len > c.data.task_max_len) {
    issue(
      ["data", "task_min_len"],
      c.data.task_min_len,
      `at most data.task_max_len (${c.data.task_max_len})`,
      [
        "data.task_max_len",
      ],
    );
  }
  if (t5 && c.data.task !== "corpus" && c.data.task_max_len + 1 > c.model.block_size) {
    issue(
      ["data", "task_max_len"],
      c.data.task_max_len,
      `at most model.block_size − 1 (${c.model.block_size - 1}): a string and its end token must fit`,
      ["model.block_size"],
    );
  }
});

/** Model architecture (`model.*`). */
export interface ModelConfig {
  /**
   * Model family: "gpt" (decoder, next-token), "bert" (bidirectional encoder, masked-LM) or "t5" (encoder–decoder
   * with relative position bias, span corruption or a generated seq2seq task).
   */
  family: "gpt" | "bert" | "t5";
  /** Number of transformer blocks. */
  n_layer: number;
  /** Attention heads per block. */
  n_head: number;
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
  /** Positions: a learned table (GPT-2), rotary embeddings on q and k (RoPE), or none. */
  position: "learned" | "rope" | "none" | "relative";
  /**
   * The attention mask, an explicit argument of every attention layer: null = the family's own (gpt causal, bert
   * bidirectional, t5 bidirectional encoder and causal decoder); true makes a bert causal; a gpt cannot be made
   * bidirectional.
   */
  causal: boolean | null;
  /** t5: decoder blocks; null = n_layer. */
  n_decoder_layer: number | null;
  /** t5: buckets of the relative position bias. */
  relative_buckets: number;
  /** t5: the distance where the log-spaced buckets end (farther positions share the last bucket). */
  relative_max_distance: number;
  /** RoPE's base: θ_i = rope_base^(−2i/head_size). */
  rope_base: number;
  /** LayerNorm (GPT-2) or RMSNorm (LLaMA). */
  norm: "layernorm" | "rmsnorm";
  /** Norm before each sub-layer (pre, GPT-2) or after its residual add (post, original transformer). */
  norm_placement: "pre" | "post";
  /** MLP: GELU (GPT-2) or SwiGLU (LLaMA). */
  mlp: "gelu" | "swiglu";
  /** MLP hidden size; null = 4·n_embd for GELU, LLaMA's 8/3·n_embd rounded up to a multiple of 8 for SwiGLU. */
  mlp_hidden: number | null;
  /** Attention kernel: "standard" (stores the T×T probabilities) or "flash" (tiled, online softmax, O(T) memory). */
  attention: "standard" | "flash";
}

/** Optimisation, schedule, evaluation and checkpoint cadence (`train.*`). */
export interface TrainConfig {
  /** Optimizer steps to run. */
  max_steps: number;
  /** Sequences per micro-batch. */
  batch_size: number;
  /** Micro-batches per optimizer step (gradients add up): a step sees batch_size · grad_accum_steps sequences. */
  grad_accum_steps: number;
  /** Recompute each block's activations in backward instead of keeping them (less memory, more compute). */
  activation_checkpointing: boolean;
  /**
   * Number format of activations, activation gradients and the weights' compute copy, emulated in software:
   * "fp32", "bf16" or "fp16" (float32 master weights and float32 accumulation either way).
   */
  precision: "fp32" | "bf16" | "fp16";
  /** fp16: initial loss scale (dynamic: halved on overflow, the step skipped; doubled after a run of good steps). */
  loss_scale: number;
  /** fp16: good steps in a row before the loss scale doubles. */
  loss_scale_growth_interval: number;
  /** Layer-wise learning-rate decay: each layer below the top gets this times the rate of the one above; 1 = off. */
  layer_lr_decay: number;
  /** Peak learning rate. */
  learning_rate: number;
  /** Learning rate at the end of the decay. */
  min_learning_rate: number;
  /** Linear warm-up steps. */
  warmup_steps: number;
  /** Steps over which the learning rate decays to its minimum; null = `max_steps`. */
  lr_decay_steps: number | null;
  /** Optimizer. */
  optimizer: "adamw" | "sgd";
  /** AdamW beta1. */
  beta1: number;
  /** AdamW beta2. */
  beta2: number;
  /** AdamW epsilon. */
  eps: number;
  /** SGD momentum. */
  momentum: number;
  /** Decoupled weight decay. */
  weight_decay: number;
  /** Global gradient-norm clip; 0 = off. */
  grad_clip: number;
  /** Evaluate every this many steps. */
  eval_interval: number;
  /** Steps' worth of batches per evaluation (each of batch_size · grad_accum_steps sequences). */
  eval_steps: number;
  /** Checkpoint every this many steps. */
  checkpoint_interval: number;
  /** Log training metrics every this many steps. */
  log_interval: number;
  /**
   * Every this many steps a `detail` line: per-tensor gradient norm, weight norm and update ratio, per-block
   * activation mean/std and dead GELU share (the report's gradient-flow figures); 0 = never.
   */
  log_interval_detail: number;
  /** Seed for every random choice of the run. */
  seed: number;
  /** Tokens to sample at each evaluation; 0 = none. */
  sample_tokens: number;
  /** Prompt the samples start from. */
  sample_prompt: string;
}

/** Corpus, split and tokenizer (`data.*`). */
export interface DataConfig {
  /**
   * The corpus when `paths` is empty: "code" (TypeScript's own declaration files, built in), or a named corpus
   * unpacked once with `deno task corpus <name>`: "sotu" (State of the Union addresses, by year), "brown" (the
   * Brown corpus) or "kjv" (the King James Bible).
   */
  corpus: "code" | "sotu" | "brown" | "kjv";
  /** Files or folders to use as the corpus instead of the built-in one; empty = built-in. */
  paths: string[];
  /** Fraction of the corpus held out for validation, in (0, 1). */
  val_fraction: number;
  /**
   * Fraction held out as a test split after the validation files (the very last files; 0 = none). Training
   * never sees it; `deno task eval <run> --split test` scores it.
   */
  test_fraction: number;
  /**
   * Tokenizer: "char" (one id per character of the corpus), "bpe" (byte-level BPE with GPT-2's pre-tokenisation,
   * trained on the training text to `vocab_size` ids) or "gpt2" (GPT-2's own 50,257-id vocabulary).
   */
  tokenizer: "char" | "bpe" | "gpt2";
  /** bpe: the vocabulary size to train to (256 byte ids plus merges; training may stop earlier). */
  vocab_size: number;
  /** bert: the share of positions chosen for masked-LM (of those, 80% [MASK], 10% a random token, 10% kept). */
  mask_probability: number;
  /**
   * What the model learns: "corpus" (the family's objective on the corpus: next token, masked tokens or T5 span
   * corruption) or, for t5, a generated seq2seq task: "reverse" or "sort" a random string of symbols.
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
  /** t5 generated tasks: longest source string (source and target must fit model.block_size). */
  task_max_len: number;
}

/** Run naming and output location (`run.*`). */
export interface RunConfig {
  /** Run name (letters, digits, ".", "_", "-"); the run directory is `<out_dir>/<name>-<date>-<time>`. */
  name: string;
  /** Folder that holds run directories. */
  out_dir: string;
  /** Kernel backend: "auto" (the fastest available: wasm), "js" (reference), "wasm", "blas" (needs OpenBLAS and --allow-ffi). */
  backend: "auto" | "js" | "wasm" | "blas";
  /** Kernel threads (the wasm backend splits matrix products over them); 0 = every core. */
  threads: number;
}

/** A fully resolved, validated config (every key present). */
export interface Config {
  /** Model architecture. */
  model: ModelConfig;
  /** Optimisation, schedule, evaluation and checkpoint cadence. */
  train: TrainConfig;
  /** Corpus, split and tokenizer. */
  data: DataConfig;
  /** Run naming and output location. */
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

// Compile-time proof that the hand-written interfaces match the schema.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _outputMatches: Same<z.output<typeof Schema>, Config> = true;
const _inputMatches: Same<z.input<typeof Schema>, ConfigInput> = true;
void _outputMatches, _inputMatches;

/**
 * The whole experiment config: four groups, each defaulting to `{}` (then to its keys' defaults). At run time this
 * is the zod schema; its declared type names only `parse` and `safeParse`, so the public API exposes no zod types.
 */
export const ConfigSchema: {
  /** Validates `input` and fills in the defaults; throws an Error listing the issues when it is invalid. */
  parse(input: unknown): Config;
  /** Like `parse`, but returns the outcome instead of throwing. */
  safeParse(input: unknown):
    | { success: true; data: Config }
    | { success: false; error: Error & { issues: readonly { path: PropertyKey[]; message: string }[] } };
} = Schema;

/** {@link ConfigSchema} typed as the zod schema it is (for the config loader; not re-exported by mod.ts). */
export const configZod: z.ZodType<Config, ConfigInput> = Schema;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The embedded default config (= `ConfigSchema.parse({})`, = configs/quickstart.jsonc). Deep-frozen. */
export const DEFAULT_CONFIG: Config = deepFreeze(ConfigSchema.parse({}));

/** The schema's wrapper layers (default, prefault, nullable, optional) from the outside in. */
function layers(schema: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = [schema];
  let s: z.ZodType = schema;
  while (
    s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodNullable ||
    s instanceof z.ZodOptional
  ) {
    s = s.unwrap() as z.ZodType;
    out.push(s);
  }
  return out;
}

/** The object schema under `schema`'s wrappers, if it is one. */
function objectOf(schema: z.ZodType): z.ZodObject | undefined {
  return layers(schema).find((s): s is z.ZodObject => s instanceof z.ZodObject);
}

/**
 * The schema of the key at `path` (e.g. `["train", "max_steps"]`; an array index such as `["data", "paths", "0"]`
 * gives the element schema), or undefined when no such key exists.
 */
export function schemaAt(path: readonly string[]): z.ZodType | undefined {
  let s: z.ZodType = configZod;
  for (const key of path) {
    const arr = layers(s).find((l): l is z.ZodArray => l instanceof z.ZodArray);
    if (arr && /^[0-9]+$/.test(key)) {
      s = arr.element as z.ZodType;
      continue;
    }
    const obj = objectOf(s);
    if (!obj || !Object.hasOwn(obj.shape, key)) return undefined;
    s = obj.shape[key] as z.ZodType;
  }
  return s;
}

/** The keys allowed in the object at `path` (`[]` = top level), or undefined when `path` is not an object. */
export function keysAt(path: readonly string[]): string[] | undefined {
  const s = schemaAt(path);
  const obj = s && objectOf(s);
  return obj ? Object.keys(obj.shape) : undefined;
}

/** The human description of what the key at `path` expects (e.g. "a positive integer"), if known. */
export function expectedAt(path: readonly string[]): string | undefined {
  const s = schemaAt(path);
  return s && layers(s).map((l) => l.description).find((d) => d !== undefined);
}

/** True when the key at `path` holds a string (so a `--set` value for it stays raw text). */
export function isStringAt(path: readonly string[]): boolean {
  const s = schemaAt(path);
  return s !== undefined && layers(s).some((l) => l instanceof z.ZodString);
}
