/**
 * The experiment config schema (zod 4), the one source of the config's keys, defaults and documentation. Every
 * key has a default, so `{}` resolves to the quickstart config; every key's `.describe()` holds its documentation
 * (docs/config.md and the config types in config_types.ts are generated from the schema by
 * scripts/config_docs.ts, and a test keeps them current), and every leaf a short phrase of what it expects, used in
 * error messages. The architecture enums are the keys of the variant registry (lib/nn/variants.ts). The defaults
 * below are the one place to tune; `configs/quickstart.jsonc` spells them out and a test keeps the two equal.
 *
 * @module
 */
import { z } from "zod";
import { ATTENTIONS, MLPS, NORMS, POSITIONS, variantNames } from "../nn/variants.ts";
import type { Config, ConfigInput } from "./config_types.ts";

export type { Config, ConfigInput, DataConfig, ModelConfig, RunConfig, TrainConfig } from "./config_types.ts";

/** What each leaf expects, in words ("a positive integer"), for error messages; keyed by schema layer. */
const expectations = z.registry<{ expected: string }>();
const expect = <S extends z.ZodType>(schema: S, expected: string): S => {
  expectations.add(schema, { expected });
  return schema;
};

const posInt = (def: number) => expect(z.int().min(1), "a positive integer").default(def);
const nonNegInt = (def: number) => expect(z.int().min(0), "an integer >= 0").default(def);
const posNum = (def: number) => expect(z.number().gt(0), "a number > 0").default(def);
const nonNegNum = (def: number) => expect(z.number().min(0), "a number >= 0").default(def);
const fraction = (def: number) => expect(z.number().min(0).lt(1), "a number in [0, 1)").default(def);
const openFraction = (def: number) => expect(z.number().gt(0).lt(1), "a number in (0, 1)").default(def);
const bool = (def: boolean) => expect(z.boolean(), "true or false").default(def);
const str = (def: string) => expect(z.string(), "a string").default(def);
const optInt = () => expect(z.int().min(1).nullable(), "a positive integer or null").default(null);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) =>
  expect(z.enum(values), `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`).default(def);
const group = <S extends z.ZodRawShape>(shape: S) => expect(z.strictObject(shape), "an object");
/** A variant registry's keys as an enum, documented by its entries' lines. */
const variant = <K extends string>(
  table: { readonly [k in K]: { readonly doc: string } },
  def: NoInfer<K>,
  doc: string,
) =>
  oneOf(variantNames(table), def).describe(
    `${doc}: ${variantNames(table).map((k) => `"${k}" — ${table[k].doc}`).join("; ")}.`,
  );

const ModelSchema = group({
  family: oneOf(["gpt", "bert", "t5"], "gpt").describe(
    'Model family: "gpt" (decoder, next-token), "bert" (bidirectional encoder, masked-LM) or "t5" ' +
      "(encoder–decoder with relative position bias, span corruption or a generated seq2seq task).",
  ),
  n_layer: posInt(4).describe("Number of transformer blocks (t5: encoder blocks)."),
  n_head: posInt(4).describe("Attention heads per block."),
  n_kv_head: optInt().describe(
    "Key/value heads of grouped-query attention: query head h reads key/value head " +
      "⌊h·n_kv_head/n_head⌋, and the KV cache holds n_kv_head heads; 1 = multi-query; must divide n_head; " +
      "null = n_head (standard multi-head attention).",
  ),
  n_embd: posInt(128).describe("Embedding width; divisible by `n_head`."),
  block_size: posInt(128).describe("Context length in tokens."),
  dropout: fraction(0).describe("Dropout probability in [0, 1)."),
  bias: bool(true).describe("Whether linear layers and layer norms carry a bias."),
  tie_weights: bool(true).describe("Whether the output head shares the token embedding matrix."),
  position: variant(POSITIONS, "learned", "Positions"),
  rope_base: posNum(10000).describe(
    "RoPE's base: the angle of pair i at position p is p · rope_base^(−2i/head_size).",
  ),
  norm: variant(NORMS, "layernorm", "Normalisation"),
  norm_placement: oneOf(["pre", "post"], "pre").describe(
    'Norm before each sub-layer ("pre", GPT-2) or after its residual add ("post", the original transformer).',
  ),
  mlp: variant(MLPS, "gelu", "Feed-forward layer"),
  mlp_hidden: optInt().describe(
    "MLP hidden size; null = 4·n_embd for GELU, LLaMA's 8/3·n_embd rounded up to a multiple of 8 for SwiGLU.",
  ),
  attention: variant(ATTENTIONS, "standard", "Attention kernel"),
  causal: expect(z.boolean().nullable(), "true, false or null").default(null).describe(
    "The attention mask, an explicit argument of every attention layer: null = the family's own (gpt causal, " +
      "bert bidirectional, t5 bidirectional encoder and causal decoder); true makes a bert causal; a gpt cannot " +
      "be made bidirectional.",
  ),
  n_decoder_layer: optInt().describe("t5: decoder blocks; null = n_layer."),
  relative_buckets: posInt(32).describe("t5: buckets of the relative position bias."),
  relative_max_distance: posInt(128).describe(
    "t5: the distance where the log-spaced buckets end (farther positions share the last bucket).",
  ),
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
  if (!POSITIONS[m.position].families.includes(m.family)) {
    const allowed = variantNames(POSITIONS).filter((p) => POSITIONS[p].families.includes(m.family));
    const names = allowed.map((p) => JSON.stringify(p));
    const list = names.length > 1
      ? `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`
      : names[0];
    ctx.addIssue({
      code: "custom",
      path: ["position"],
      input: m.position,
      message: m.family === "t5"
        ? `${list} for model.family "t5" (T5's bucketed relative position bias)`
        : `${list}: "relative" (T5's position bias) needs model.family "t5"`,
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
  if (m.n_kv_head !== null && m.n_head % m.n_kv_head !== 0) {
    ctx.addIssue({
      code: "custom",
      path: ["n_kv_head"],
      input: m.n_kv_head,
      message: `a divisor of model.n_head (${m.n_head}), or null`,
      params: { related: ["model.n_head"] },
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
  max_steps: posInt(800).describe("Optimizer steps to run."),
  batch_size: posInt(16).describe("Sequences per micro-batch."),
  grad_accum_steps: posInt(1).describe(
    "Micro-batches per optimizer step (gradients add up): a step sees batch_size · grad_accum_steps sequences.",
  ),
  activation_checkpointing: bool(false).describe(
    "Recompute each block's activations in backward instead of keeping them (less memory, more compute; gpt " +
      "and bert).",
  ),
  precision: oneOf(["fp32", "bf16", "fp16"], "fp32").describe(
    "Number format of activations, activation gradients and the weights' compute copy, emulated in software: " +
      '"fp32", "bf16" or "fp16" (float32 master weights and float32 accumulation either way).',
  ),
  loss_scale: posNum(65536).describe(
    "fp16: initial loss scale (dynamic: halved on overflow, the step skipped; doubled after a run of good steps).",
  ),
  loss_scale_growth_interval: posInt(2000).describe(
    "fp16: good steps in a row before the loss scale doubles.",
  ),
  layer_lr_decay: expect(z.number().gt(0).max(1), "a number in (0, 1]").default(1).describe(
    "Layer-wise learning-rate decay: each layer below the top gets this times the rate of the one above; 1 = off.",
  ),
  learning_rate: posNum(3e-3).describe("Peak learning rate, reached after warm-up."),
  min_learning_rate: nonNegNum(3e-4).describe("Learning rate at the end of the (cosine) decay."),
  warmup_steps: nonNegInt(50).describe("Linear warm-up steps."),
  lr_decay_steps: optInt().describe(
    "Steps over which the learning rate decays to min_learning_rate; null = `max_steps`.",
  ),
  optimizer: oneOf(["adamw", "sgd"], "adamw").describe('Optimizer: "adamw" or "sgd".'),
  beta1: fraction(0.9).describe("AdamW first-moment decay."),
  beta2: fraction(0.99).describe("AdamW second-moment decay."),
  eps: posNum(1e-8).describe("AdamW denominator epsilon."),
  momentum: fraction(0.9).describe("SGD momentum."),
  weight_decay: nonNegNum(0.1).describe("Decoupled weight decay."),
  grad_clip: nonNegNum(1.0).describe("Clip the global gradient norm to this; 0 = off."),
  eval_interval: posInt(100).describe("Evaluate on the validation split every this many steps."),
  eval_steps: posInt(10).describe(
    "Steps' worth of batches per evaluation (each of batch_size · grad_accum_steps sequences).",
  ),
  checkpoint_interval: posInt(200).describe("Save a checkpoint every this many steps."),
  log_interval: posInt(10).describe("Log training metrics every this many steps."),
  log_interval_detail: nonNegInt(50).describe(
    "Every this many steps a `detail` line: per-tensor gradient norm, weight norm and update ratio, per-block " +
      "activation mean/std and dead GELU share (the report's gradient-flow figures); 0 = never.",
  ),
  seed: expect(z.int(), "an integer").default(1337).describe(
    "Seed for every random choice of the run (init, batches, sampling).",
  ),
  sample_tokens: nonNegInt(200).describe("Tokens to sample at each evaluation; 0 = none."),
  sample_prompt: str("export function ").describe("The prompt samples start from."),
});

const DataSchema = group({
  corpus: oneOf(["code", "sotu", "brown", "kjv"], "code").describe(
    'The corpus when `paths` is empty: "code" (TypeScript\'s own declaration files, built in), or a named ' +
      'corpus unpacked once with `deno task corpus <name>`: "sotu" (State of the Union addresses, by year), ' +
      '"brown" (the Brown corpus) or "kjv" (the King James Bible).',
  ),
  paths: expect(z.array(expect(z.string(), "a string")), "an array of strings").default(() => []).describe(
    "Files or folders to use as the corpus instead of the built-in one; [] = built-in. Folders are walked " +
      "(hidden folders and node_modules left out); dangling links, links to folders, unreadable entries, " +
      "special files, binary and empty files are skipped and counted in one warning line.",
  ),
  val_fraction: openFraction(0.1).describe("Fraction of the corpus held out for validation."),
  test_fraction: fraction(0).describe(
    "Fraction held out as a test split after the validation files (the very last files; 0 = none). Training " +
      "never sees it; `deno task eval <run> --split test` scores it.",
  ),
  tokenizer: oneOf(["char", "bpe", "gpt2"], "char").describe(
    'Tokenizer: "char" (one id per character of the corpus), "bpe" (byte-level BPE with GPT-2\'s ' +
      'pre-tokenisation, trained on the training text to `vocab_size` ids) or "gpt2" (GPT-2\'s own 50,257-id ' +
      "vocabulary).",
  ),
  vocab_size: expect(z.int().min(257), "an integer >= 257").default(4096).describe(
    "bpe: the vocabulary size to train to (256 byte ids plus merges; training may stop earlier).",
  ),
  mask_probability: openFraction(0.15).describe(
    "bert: the share of positions chosen for masked-LM (of those, 80% [MASK], 10% a random token, 10% kept).",
  ),
  task: oneOf(["corpus", "reverse", "sort"], "corpus").describe(
    'What the model learns: "corpus" (the family\'s objective on the corpus: next token, masked tokens or T5 ' +
      'span corruption) or, for t5, a generated seq2seq task: "reverse" or "sort" a random string of symbols.',
  ),
  noise_density: openFraction(0.15).describe(
    "t5 span corruption: the share of tokens dropped from the input (and predicted).",
  ),
  mean_span_length: posNum(3).describe("t5 span corruption: mean length of a dropped span."),
  task_symbols: expect(z.int().min(2).max(36), "an integer in [2, 36]").default(10).describe(
    "t5 generated tasks: symbols in the alphabet (a, b, c, … then digits).",
  ),
  task_min_len: posInt(4).describe("t5 generated tasks: shortest source string."),
  task_max_len: posInt(10).describe(
    "t5 generated tasks: longest source string (it and an end token must fit model.block_size).",
  ),
});

const RunSchema = group({
  name: expect(z.string().regex(/^[A-Za-z0-9._-]+$/), 'a name of letters, digits, ".", "_" and "-"')
    .default("quickstart").describe(
      'Run name (letters, digits, ".", "_", "-"); the run directory is `<out_dir>/<name>-<date>-<time>`.',
    ),
  out_dir: expect(z.string().min(1), "a non-empty string").default("runs").describe(
    "Folder that holds run directories.",
  ),
  backend: oneOf(["auto", "js", "wasm", "blas", "webgpu"], "auto").describe(
    'Kernel backend: "auto" (the fastest available CPU backend: blas where OpenBLAS is installed, else wasm), ' +
      '"js" (reference), "wasm" (WebAssembly SIMD), "blas" (OpenBLAS matrix products, the rest on wasm; needs ' +
      'libopenblas0 and FFI, which deno task experiment grants for its library path), "webgpu" (the GPU ' +
      "through WebGPU: Deno's --unstable-webgpu, which the deno tasks pass, and a Vulkan, Metal or Direct3D " +
      "12 adapter; a software one such as Mesa's lavapipe is used since it is asked for by name; see docs/gpu.md).",
  ),
  threads: nonNegInt(0).describe(
    "Kernel threads (the wasm kernels and the blocks of OpenBLAS products are split over them); 0 = every core.",
  ),
});

const Schema = group({
  model: ModelSchema.prefault({}).describe("Model architecture (`model.*`)."),
  train: TrainSchema.prefault({}).describe(
    "Optimisation, schedule, evaluation and checkpoint cadence (`train.*`).",
  ),
  data: DataSchema.prefault({}).describe("Corpus, split and tokenizer (`data.*`)."),
  run: RunSchema.prefault({}).describe("Run naming and output location (`run.*`)."),
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

// Compile-time proof that the generated interfaces (config_types.ts) are the schema's types.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _outputMatches: Same<z.output<typeof Schema>, Config> = true;
const _inputMatches: Same<z.input<typeof Schema>, ConfigInput> = true;
void _outputMatches, _inputMatches;

/**
 * The whole experiment config: four groups, each defaulting to `{}` (then to its keys' defaults), as the zod schema
 * it is (for the config loader; the public API's `ConfigSchema` in config.ts exposes no zod types).
 */
export const configZod: z.ZodType<Config, ConfigInput> = Schema;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The embedded default config (= `parseConfig({})`, = configs/quickstart.jsonc). Deep-frozen. */
export const DEFAULT_CONFIG: Config = deepFreeze(configZod.parse({}));

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
  return s && layers(s).map((l) => expectations.get(l)?.expected).find((d) => d !== undefined);
}

/** The documentation of the key at `path` (its `.describe()`), if any. */
export function docAt(path: readonly string[]): string | undefined {
  const s = schemaAt(path);
  return s && layers(s).map((l) => l.description).find((d) => d !== undefined);
}

/** True when the key at `path` holds a string (so a `--set` value for it stays raw text). */
export function isStringAt(path: readonly string[]): boolean {
  const s = schemaAt(path);
  return s !== undefined && layers(s).some((l) => l instanceof z.ZodString);
}
