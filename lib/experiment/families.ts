/**
 * The model families of `model.family`, as the runner, the loader and the CLIs see them: how a config becomes a
 * model, what a training batch is, how it becomes a loss, the extra validation figures, and the samples written
 * at each evaluation.
 *
 * - `gpt`: next-token prediction on windows of the corpus; samples are generated text.
 * - `bert`: masked-LM on the same windows (`data.mask_probability`, BERT's 80/10/10 rule); the [MASK] id is one
 *   past the tokenizer's ids; validation also reports `masked_accuracy`; samples fill the masks of a held-out
 *   window.
 * - `t5`: an encoder–decoder. With `data.task` "corpus" it learns T5's span corruption on windows of the corpus
 *   (`data.noise_density`, `data.mean_span_length`; the sentinels, PAD, BOS and EOS are ids after the
 *   tokenizer's); with "reverse" or "sort" it learns that generated task on strings of `data.task_symbols`
 *   letters (the tokenizer is then that alphabet). Validation also reports `exact_match` (greedy decoding of
 *   the held-out batches); samples are greedy and beam decodings.
 *
 * @module
 */
import { type Batch, Batcher, evalWindows } from "../data/batcher.ts";
import { maskedAccuracy, maskEvalBatches, MlmBatcher } from "../data/mlm.ts";
import { fillMaskAsync } from "../generate/fill_mask.ts";
import { generateAsync } from "../generate/generate.ts";
import { withStep } from "../tensor/storage.ts";
import { Bert } from "../nn/models/bert.ts";
import { GPT, type GPTConfig } from "../nn/models/gpt.ts";
import { Rng } from "../random.ts";
import { noGrad } from "../tensor/grad.ts";
import {
  noiseCounts,
  type Seq2SeqBatch,
  type Seq2SeqVocab,
  seq2seqVocab,
  SpanCorruptionBatcher,
  SymbolTaskBatcher,
  type SymbolTaskOptions,
  symbolTaskVocab,
} from "../data/seq2seq.ts";
import {
  beamSearchAsync,
  greedyDecode,
  greedyDecodeAsync,
  type GreedyDecodeOptions,
} from "../generate/seq2seq.ts";
import { stepOn } from "../generate/device.ts";
import { Tensor } from "../tensor/tensor.ts";
import { T5 } from "../nn/models/t5.ts";
import { CharTokenizer } from "../data/char_tokenizer.ts";
import { BpeTokenizer } from "../data/bpe.ts";
import type { Tokenizer } from "../data/tokenizer.ts";
import { bpeTrainingText } from "../data/bpe_sample.ts";
import type { CorpusFiles, CorpusOptions, SplitName } from "../data/corpus.ts";
import { asTokenSource, readTokens, type TokenSource } from "../data/token_source.ts";
import { languageModelData } from "../train/language_model.ts";
import type { TrainableModel, TrainData } from "../train/trainer.ts";
import type { Config } from "./config.ts";

/** A model of any family. */
export type FamilyModel = GPT | Bert | T5;

/** The random streams a family draws from (forked from the run's seed by the runner). */
export interface FamilyStreams {
  /** Training windows. */
  data: Rng;
  /** bert: the masks of training batches. */
  mask: Rng;
}

/** A training batch of any family: (x, y) windows for gpt and bert, source/target batches for t5. */
export type FamilyBatch = Batch | Seq2SeqBatch;

/**
 * Everything the training loop needs for one family (batches, loss, validation figures), and the samples the
 * runner writes after each evaluation.
 */
export interface FamilyRun<B = FamilyBatch> extends TrainData<B> {
  /** Text for samples.txt after an evaluation at `step` (null: none), on the device the model lives on. */
  sample(step: number): Promise<string | null>;
}

/** The model's vocabulary: the tokenizer's ids plus the family's special ids. */
export function modelVocabSize(config: Config, tokenizerVocab: number): number {
  if (config.model.family === "t5") return t5Vocab(config, tokenizerVocab).size;
  return config.model.family === "bert" ? tokenizerVocab + 1 : tokenizerVocab;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Where a config's data comes from and how it splits: the options of `scanCorpus` / `loadCorpus`. */
export function corpusOptions(config: Config): CorpusOptions {
  const d = config.data;
  return { corpus: d.corpus, paths: d.paths, valFraction: d.val_fraction, testFraction: d.test_fraction };
}

/**
 * The tokenizer of a new run (`data.tokenizer`): the characters of the corpus (`char`; its training and
 * validation text, so every character is known; read file by file), byte-level BPE trained on the training text
 * (a sample of it above 32 MiB: see `bpe_sample.ts`) to `data.vocab_size` ids (`bpe`), or GPT-2's vocabulary (`gpt2`). A t5 generated task uses its alphabet (the
 * first `data.task_symbols` of a–z then 0–9, in code-point order: symbol i is the i-th of them sorted, so the
 * digits come first when there are more than 26).
 */
export async function familyTokenizer(config: Config, corpus: CorpusFiles): Promise<Tokenizer> {
  if (config.model.family === "t5" && config.data.task !== "corpus") {
    return CharTokenizer.fromText(ALPHABET.slice(0, config.data.task_symbols));
  }
  if (config.data.tokenizer === "bpe") {
    return BpeTokenizer.train(await bpeTrainingText(corpus), { vocabSize: config.data.vocab_size });
  }
  if (config.data.tokenizer === "gpt2") return await BpeTokenizer.gpt2();
  return await CharTokenizer.fromPieces(splitTexts(corpus, ["train", "val"]));
}

/** The texts of `splits`' pieces, in order. */
async function* splitTexts(corpus: CorpusFiles, splits: SplitName[]): AsyncIterable<string> {
  for (const split of splits) for await (const p of corpus.pieces(split)) yield p.text;
}

/** t5 span corruption: window length (source and target then fit block_size) and corruption settings. */
function spanSettings(config: Config): { window: number; noiseDensity: number; meanSpanLength: number } {
  return {
    window: config.model.block_size - 1,
    noiseDensity: config.data.noise_density,
    meanSpanLength: config.data.mean_span_length,
  };
}

/** The t5 vocabulary: the tokenizer's ids, the sentinels span corruption needs, then PAD, BOS, EOS. */
export function t5Vocab(config: Config, tokenizerVocab: number): Seq2SeqVocab {
  if (config.data.task !== "corpus") return symbolTaskVocab(symbolTask(config));
  const { window, ...opts } = spanSettings(config);
  return seq2seqVocab(tokenizerVocab, noiseCounts(window, opts).numSpans);
}

function symbolTask(config: Config): SymbolTaskOptions {
  const d = config.data;
  return {
    task: d.task as "reverse" | "sort",
    numSymbols: d.task_symbols,
    minLen: d.task_min_len,
    maxLen: d.task_max_len,
  };
}

/** The GPT-style shape of a config (GPT and Bert share it) for a given vocabulary. */
export function gptConfigOf(config: Config, vocabSize: number): GPTConfig {
  const m = config.model;
  if (m.position === "relative") throw new Error(`model.position "relative" is for model.family "t5" only`);
  return {
    vocabSize,
    blockSize: m.block_size,
    nLayer: m.n_layer,
    nHead: m.n_head,
    nKvHead: m.n_kv_head ?? undefined,
    nEmbd: m.n_embd,
    dropout: m.dropout,
    bias: m.bias,
    tieWeights: m.tie_weights,
    position: m.position,
    ropeBase: m.rope_base,
    norm: m.norm,
    normPlacement: m.norm_placement,
    mlp: m.mlp,
    mlpHidden: m.mlp_hidden ?? undefined,
    activationCheckpointing: config.train.activation_checkpointing,
    attention: m.attention,
  };
}

/** Builds the config's model for a tokenizer of `tokenizerVocab` ids, initialised from `rng`. */
export function buildModel(config: Config, tokenizerVocab: number, rng: Rng): FamilyModel {
  const m = config.model;
  if (m.family === "t5") {
    return new T5({
      vocabSize: modelVocabSize(config, tokenizerVocab),
      blockSize: m.block_size,
      nLayer: m.n_layer,
      nDecoderLayer: m.n_decoder_layer ?? undefined,
      nHead: m.n_head,
      nKvHead: m.n_kv_head ?? undefined,
      nEmbd: m.n_embd,
      dropout: m.dropout,
      bias: m.bias,
      tieWeights: m.tie_weights,
      norm: m.norm,
      mlp: m.mlp,
      mlpHidden: m.mlp_hidden ?? undefined,
      numBuckets: m.relative_buckets,
      maxDistance: m.relative_max_distance,
    }, rng);
  }
  const shape = gptConfigOf(config, modelVocabSize(config, tokenizerVocab));
  return config.model.family === "bert"
    ? new Bert({ ...shape, causal: config.model.causal ?? false }, rng)
    : new GPT(shape, rng);
}

/** Batches, losses, metrics and samples of the config's family for a model from {@link buildModel}. */
export function familyRun(
  config: Config,
  model: FamilyModel & TrainableModel,
  tokenizer: Tokenizer,
  trainTokens: Int32Array | TokenSource,
  valTokens: Int32Array | TokenSource,
  streams: FamilyStreams,
): FamilyRun {
  const t = config.train, T = config.model.block_size;
  if (model instanceof T5) return t5Run(config, model, tokenizer, trainTokens, valTokens, streams);
  const windows = new Batcher(trainTokens, T, t.batch_size, streams.data);
  const evalLm = evalWindows(valTokens, T, t.batch_size, t.eval_steps * t.grad_accum_steps);
  if (model instanceof Bert) {
    const maskId = tokenizer.vocabSize;
    const settings = { maskId, vocabSize: tokenizer.vocabSize, probability: config.data.mask_probability };
    const batcher = new MlmBatcher(windows, { ...settings, rng: streams.mask });
    const evalBatches = maskEvalBatches(evalLm, T, { ...settings, seed: t.seed });
    return {
      ...languageModelData(model, batcher, evalBatches),
      evalMetrics: () => ({ masked_accuracy: bertScores(model, evalBatches, T).accuracy }),
      evalMetricsAsync: async () => ({
        masked_accuracy: (await bertScoresAsync(model, evalBatches, T)).accuracy,
      }),
      // a window from the middle of the held-out text (its start is often a licence header)
      sample: async () => {
        const mid = Math.max(0, (valTokens.length >> 1) - (T >> 1));
        return t.sample_tokens > 0 && valTokens.length >= T
          ? await fillSample(model, readTokens(asTokenSource(valTokens), mid, T))
          : null;
      },
    };
  }
  const prompt = t.sample_tokens > 0 ? encodePrompt(tokenizer, t.sample_prompt) : null;
  return {
    ...languageModelData(model, windows, evalLm),
    sample: async (step) => {
      if (prompt === null) return null;
      const ids = await generateAsync(model, prompt, {
        maxNewTokens: t.sample_tokens,
        sampling: { temperature: 0.8, topK: 40 },
        rng: new Rng(t.seed * 1000003 + step), // the same samples for a resumed run
      });
      return `temperature 0.8, top-k 40\n${tokenizer.decode(ids)}`;
    },
  };

  // every 7th token of a held-out window masked, filled with the model's most likely token
  async function fillSample(bert: Bert, window: Int32Array): Promise<string> {
    const maskId = tokenizer.vocabSize, ids = window.slice();
    for (let i = 3; i < ids.length; i += 7) ids[i] = maskId;
    const filled = window.slice();
    for (const p of await fillMaskAsync(bert, ids, { maskId, topK: 1 })) {
      filled[p.position] = p.candidates[0].id;
    }
    const shown = (xs: Int32Array) =>
      Array.from(xs, (id) => id === maskId ? "\u2588" : tokenizer.decode([id])).join("");
    const hits = Array.from(ids).filter((id, i) => id === maskId && filled[i] === window[i]).length;
    const masked = Array.from(ids).filter((id) => id === maskId).length;
    return `fill-mask, every 7th token hidden (\u2588), ${hits}/${masked} filled right\n` +
      `masked: ${shown(ids)}\nfilled: ${shown(filled)}`;
  }
}

/**
 * The {@link FamilyRun} of a t5 model: span corruption on the corpus or a generated task; loss on the decoder's
 * targets; exact match of greedy decoding on the held-out batches.
 */
export function t5Run(
  config: Config,
  model: T5,
  tokenizer: Tokenizer,
  trainTokens: Int32Array | TokenSource,
  valTokens: Int32Array | TokenSource,
  streams: FamilyStreams,
): FamilyRun<Seq2SeqBatch> {
  const t = config.train, vocab = t5Vocab(config, tokenizer.vocabSize);
  const nEval = t.eval_steps * t.grad_accum_steps;
  const make = (rng: Rng, tokens: Int32Array | TokenSource) => {
    if (config.data.task !== "corpus") return new SymbolTaskBatcher(symbolTask(config), t.batch_size, rng);
    const { window, ...opts } = spanSettings(config);
    return new SpanCorruptionBatcher(tokens, vocab, window, t.batch_size, rng, opts);
  };
  const batcher = make(streams.data, trainTokens);
  // held out: generated examples from a generator of their own, or corrupted windows of the validation text
  const held = make(new Rng(t.seed * 7919 + 17), valTokens);
  const evalBatches = Array.from({ length: nEval }, () => held.next());
  const text = (ids: ArrayLike<number>) => t5Text(tokenizer, vocab, ids);
  return {
    batcher,
    evalBatches,
    loss: (b) =>
      model.forward(b.src, b.B, b.Ts, b.tgtIn, b.Tt, { targets: b.tgtOut, srcLengths: b.srcLengths }).loss!,
    tokens: (b) => b.B * (b.Ts + b.Tt),
    evalMetrics: () => ({ exact_match: exactMatch(t5Decodings(model, vocab, evalBatches)) }),
    evalMetricsAsync: async () => ({
      exact_match: exactMatch(await t5DecodingsAsync(model, vocab, evalBatches)),
    }),
    sample: async () => {
      if (t.sample_tokens === 0 || evalBatches.length === 0) return null;
      const b = evalBatches[0],
        rows = Math.min(4, b.B),
        greedy = await greedyDecodeAsync(model, b.src, b.B, b.Ts, greedyOptions(vocab, b)),
        lines: string[] = [];
      for (let r = 0; r < rows; r++) {
        // the model reads sources with their end token (as greedy decoding does); the display leaves it out
        const withEos = b.src.subarray(r * b.Ts, r * b.Ts + b.srcLengths[r]), src = withEos.subarray(0, -1);
        const beamOptions = { beamSize: 4, maxLen: b.Tt, bosId: vocab.bos, eosId: vocab.eos };
        const beam = (await beamSearchAsync(model, withEos, beamOptions))[0];
        lines.push(
          `source: ${text(src)}\nwanted: ${text(wanted(b, r, vocab.eos))}\ngreedy: ${text(greedy[r])}\n` +
            `beam 4: ${text(beam.tokens)}`,
        );
      }
      return `${
        config.data.task === "corpus" ? "span corruption" : config.data.task
      }, greedy and beam decoding\n` +
        lines.join("\n\n");
    },
  };
}

/** T5 ids as text: the tokenizer's characters, sentinel i as ⟨i⟩, PAD/BOS/EOS left out. */
export function t5Text(tokenizer: Tokenizer, vocab: Seq2SeqVocab, ids: ArrayLike<number>): string {
  return Array.from(
    ids,
    (id) =>
      id < tokenizer.vocabSize
        ? tokenizer.decode([id])
        : id < vocab.pad
        ? `\u27e8${id - vocab.baseVocab}\u27e9`
        : "",
  ).join("");
}

// Row r's target tokens, up to its EOS.
function wanted(b: Seq2SeqBatch, r: number, eos: number): Int32Array {
  const row = b.tgtOut.subarray(r * b.Tt, (r + 1) * b.Tt);
  const end = row.indexOf(eos);
  return row.slice(0, end < 0 ? row.length : end);
}

/** A Bert's figures over masked batches, each batch weighted by its masked positions (NaN figures for none). */
class MaskedTally {
  #nats = 0;
  #hits = 0;
  #masked = 0;

  /** Adds a batch of `n` masked positions with its mean loss and accuracy. */
  add(n: number, loss: number, accuracy: number): void {
    this.#nats += loss * n;
    this.#hits += accuracy * n;
    this.#masked += n;
  }

  /** The weighted figures so far. */
  get result(): { loss: number; accuracy: number; masked: number } {
    const m = this.#masked;
    return { loss: m === 0 ? NaN : this.#nats / m, accuracy: m === 0 ? NaN : this.#hits / m, masked: m };
  }
}

// The masked positions of a batch (targets that are not −1).
function maskedCount(b: Batch): number {
  return b.y.reduce((k, v) => k + (v >= 0 ? 1 : 0), 0);
}

/**
 * A Bert's masked-LM loss (nats per masked token) and masked-token accuracy over fixed (masked input, targets)
 * batches of rows of T tokens, weighted by each batch's masked positions; `masked` counts them (NaN figures when
 * there are none). Eval mode and no tape; the training flag is put back. The model's values must be readable
 * synchronously (the CPU): {@link bertScoresAsync} runs on every device.
 */
export function bertScores(
  model: Bert,
  batches: readonly Batch[],
  T: number,
): { loss: number; accuracy: number; masked: number } {
  const tally = new MaskedTally();
  const wasTraining = model.training;
  model.eval();
  try {
    for (const b of batches) {
      const n = maskedCount(b);
      if (n === 0) continue;
      noGrad(() =>
        withStep(() => {
          const { logits, loss } = model.forward(b.x, b.x.length / T, T, { targets: b.y });
          tally.add(n, loss!.item(), maskedAccuracy(logits, b.y));
        })
      );
    }
  } finally {
    model.train(wasTraining);
  }
  return tally.result;
}

/**
 * {@link bertScores} on the device the model's weights live on (the GPU's loss and logits read back once per
 * batch); on the CPU the same figures.
 */
export async function bertScoresAsync(
  model: Bert,
  batches: readonly Batch[],
  T: number,
): Promise<{ loss: number; accuracy: number; masked: number }> {
  const tally = new MaskedTally();
  const wasTraining = model.training;
  model.eval();
  try {
    for (const b of batches) {
      const n = maskedCount(b);
      if (n === 0) continue;
      const [loss, values, shape] = noGrad(() =>
        stepOn(model.wte.weight, () => {
          const { logits, loss } = model.forward(b.x, b.x.length / T, T, { targets: b.y });
          return [loss!.itemAsync(), logits.read(), logits.shape] as const;
        })
      );
      tally.add(n, await loss, maskedAccuracy(new Tensor(await values, shape), b.y));
    }
  } finally {
    model.train(wasTraining);
  }
  return tally.result;
}

// The options of a T5's greedy decoding of batch `b`.
function greedyOptions(vocab: Seq2SeqVocab, b: Seq2SeqBatch): GreedyDecodeOptions {
  return { maxLen: b.Tt, bosId: vocab.bos, eosId: vocab.eos, srcLengths: b.srcLengths };
}

/** Greedy decodings of a batch of T5 sources (the end token ends each; the row's source length is respected). */
export function t5Greedy(model: T5, vocab: Seq2SeqVocab, b: Seq2SeqBatch): Int32Array[] {
  return greedyDecode(model, b.src, b.B, b.Ts, greedyOptions(vocab, b));
}

/** Every row of the batches: its target (up to the end token) and the model's greedy decoding of its source. */
export function t5Decodings(
  model: T5,
  vocab: Seq2SeqVocab,
  batches: readonly Seq2SeqBatch[],
): { want: Int32Array; got: Int32Array }[] {
  return batches.flatMap((b) =>
    t5Greedy(model, vocab, b).map((got, r) => ({ want: wanted(b, r, vocab.eos), got }))
  );
}

/** {@link t5Decodings} on the device the model's weights live on (greedyDecodeAsync); on the CPU the same rows. */
export async function t5DecodingsAsync(
  model: T5,
  vocab: Seq2SeqVocab,
  batches: readonly Seq2SeqBatch[],
): Promise<{ want: Int32Array; got: Int32Array }[]> {
  const rows: { want: Int32Array; got: Int32Array }[] = [];
  for (const b of batches) {
    const got = await greedyDecodeAsync(model, b.src, b.B, b.Ts, greedyOptions(vocab, b));
    got.forEach((g, r) => rows.push({ want: wanted(b, r, vocab.eos), got: g }));
  }
  return rows;
}

/** The share of rows decoded exactly as wanted (NaN for no rows). */
function exactMatch(rows: readonly { want: Int32Array; got: Int32Array }[]): number {
  return rows.length === 0 ? NaN : rows.filter((d) => sameIds(d.got, d.want)).length / rows.length;
}

/** Whether two id sequences are equal. */
export function sameIds(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The sample prompt as ids; a character the tokenizer lacks is an error that names `train.sample_prompt`. */
function encodePrompt(tokenizer: Tokenizer, prompt: string): Int32Array {
  try {
    return Int32Array.from(tokenizer.encode(prompt));
  } catch (e) {
    throw new Error(
      `train.sample_prompt ${JSON.stringify(prompt)}: ${(e as Error).message} (set another prompt, or ` +
        `train.sample_tokens=0)`,
    );
  }
}
