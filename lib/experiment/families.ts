/**
 * The model families of `model.family`, as the runner, the loader and the CLIs see them: how a config becomes a
 * model, what a training batch is, how it becomes a loss, the extra validation figures, and the samples written
 * at each evaluation.
 *
 * - `gpt`: next-token prediction on windows of the corpus; samples are generated text.
 * - `bert`: masked-LM on the same windows (`data.mask_probability`, BERT's 80/10/10 rule); the [MASK] id is one
 *   past the tokenizer's ids; validation also reports `masked_accuracy`; samples fill the masks of a held-out
 *   window.
 *
 * @module
 */
import { type Batch, Batcher, evalWindows } from "../data/batcher.ts";
import type { CharTokenizer } from "../data/char_tokenizer.ts";
import { maskedAccuracy, maskEvalBatches, MlmBatcher, type MlmBatcherState } from "../data/mlm.ts";
import { fillMask } from "../generate/fill_mask.ts";
import { generate } from "../generate/generate.ts";
import { withArena } from "../kernels/wasm/runtime.ts";
import { Bert } from "../nn/models/bert.ts";
import { GPT, type GPTConfig } from "../nn/models/gpt.ts";
import { Rng } from "../random.ts";
import { noGrad, type Tensor } from "../tensor/tensor.ts";
import type { BatcherState } from "../data/batcher.ts";
import type { BatchSource, TrainableModel } from "../train/trainer.ts";
import type { Config } from "./config.ts";

/** A model of any family. */
export type FamilyModel = GPT | Bert;

/** The random streams a family draws from (forked from the run's seed by the runner). */
export interface FamilyStreams {
  /** Training windows. */
  data: Rng;
  /** bert: the masks of training batches. */
  mask: Rng;
}

/** Everything the training loop needs for one family (batches are opaque to the runner). */
export interface FamilyRun {
  /** Training batches; `setState` restores a checkpointed position. */
  batcher: BatchSource<unknown> & { setState(s: unknown): void };
  /** Fixed validation batches. */
  evalBatches: unknown[];
  /** Loss of one batch (default: the language-model loss of (x, y) batches). */
  loss?: (b: unknown) => Tensor;
  /** Tokens a batch counts for throughput. */
  tokensOf?: (b: unknown) => number;
  /** Extra validation figures. */
  evalMetrics?: () => { masked_accuracy?: number; exact_match?: number };
  /** Text for samples.txt after an evaluation at `step` (null: none). */
  sample(step: number): string | null;
}

/** The model's vocabulary: the tokenizer's ids plus the family's special ids. */
export function modelVocabSize(config: Config, tokenizerVocab: number): number {
  return config.model.family === "bert" ? tokenizerVocab + 1 : tokenizerVocab;
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
  const shape = gptConfigOf(config, modelVocabSize(config, tokenizerVocab));
  return config.model.family === "bert" ? new Bert(shape, rng) : new GPT(shape, rng);
}

/** Batches, losses, metrics and samples of the config's family for a model from {@link buildModel}. */
export function familyRun(
  config: Config,
  model: FamilyModel & TrainableModel,
  tokenizer: CharTokenizer,
  trainTokens: Int32Array,
  valTokens: Int32Array,
  streams: FamilyStreams,
): FamilyRun {
  const t = config.train, T = config.model.block_size;
  const windows = new Batcher(trainTokens, T, t.batch_size, streams.data);
  const evalLm = evalWindows(valTokens, T, t.batch_size, t.eval_steps * t.grad_accum_steps);
  if (model instanceof Bert) {
    const maskId = tokenizer.vocabSize;
    const settings = { maskId, vocabSize: tokenizer.vocabSize, probability: config.data.mask_probability };
    const batcher = new MlmBatcher(windows, { ...settings, rng: streams.mask });
    const evalBatches = maskEvalBatches(evalLm, T, { ...settings, seed: t.seed });
    return {
      batcher: {
        next: () => batcher.next(),
        state: () => batcher.state(),
        setState: (s) => batcher.setState(s as MlmBatcherState),
      },
      evalBatches,
      evalMetrics: () => ({ masked_accuracy: bertAccuracy(model, evalBatches, T) }),
      // a window from the middle of the held-out text (its start is often a licence header)
      sample: () => {
        const mid = Math.max(0, (valTokens.length >> 1) - (T >> 1));
        return t.sample_tokens > 0 && valTokens.length >= T
          ? fillSample(model, valTokens.slice(mid, mid + T))
          : null;
      },
    };
  }
  const prompt = t.sample_tokens > 0 ? tokenizer.encode(t.sample_prompt) : null;
  return {
    batcher: {
      next: () => windows.next(),
      state: () => windows.state(),
      setState: (s) => windows.setState(s as BatcherState),
    },
    evalBatches: evalLm,
    sample: (step) => {
      if (prompt === null) return null;
      const ids = generate(model as GPT, prompt, {
        maxNewTokens: t.sample_tokens,
        sampling: { temperature: 0.8, topK: 40 },
        rng: new Rng(t.seed * 1000003 + step), // the same samples for a resumed run
      });
      return `temperature 0.8, top-k 40\n${tokenizer.decode(ids)}`;
    },
  };

  // every 7th position of a held-out window masked, filled with the model's most likely token
  function fillSample(bert: Bert, window: Int32Array): string {
    const maskId = tokenizer.vocabSize, ids = window.slice();
    for (let i = 3; i < ids.length; i += 7) ids[i] = maskId;
    const filled = window.slice();
    for (const p of fillMask(bert, ids, { maskId, topK: 1 })) filled[p.position] = p.candidates[0].id;
    const shown = (xs: Int32Array) =>
      Array.from(xs, (id) => id === maskId ? "\u2588" : tokenizer.decode([id])).join("");
    const hits = Array.from(ids).filter((id, i) => id === maskId && filled[i] === window[i]).length;
    const masked = Array.from(ids).filter((id) => id === maskId).length;
    return `fill-mask, every 7th character hidden (\u2588), ${hits}/${masked} filled right\n` +
      `masked: ${shown(ids)}\nfilled: ${shown(filled)}`;
  }
}

/** Masked-token accuracy of a Bert over fixed (masked input, targets) batches of rows of T tokens. */
export function bertAccuracy(model: Bert, batches: readonly Batch[], T: number): number {
  let hit = 0, count = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    for (const b of batches) {
      const acc = noGrad(() =>
        withArena(() => maskedAccuracy(model.forward(b.x, b.x.length / T, T).logits, b.y))
      );
      const n = b.y.reduce((k, v) => k + (v >= 0 ? 1 : 0), 0);
      if (n > 0) {
        hit += acc * n;
        count += n;
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return count === 0 ? NaN : hit / count;
}
