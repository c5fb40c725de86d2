/**
 * Autoregressive generation from a GPT, batch 1, with or without a KV cache: {@link generate} on the CPU,
 * {@link generateAsync} on any device (a model on the GPU reads back one row of logits per token).
 *
 * The semantics are those of nanoGPT's `generate`: at every step the model sees the last
 * min(length, block_size) tokens, at positions 0, 1, …, and the next token is picked from the logits of the last
 * one. The KV cache is an optimisation that must not change a single token:
 *
 * - the prompt (cropped to its last block_size tokens) is prefilled in one forward pass;
 * - while the context still fits in block_size, each new token is fed alone and attends to the cached keys and
 *   values — identical to recomputing the whole window, since nothing before it has moved;
 * - once the context would exceed block_size, the window slides: every token moves to a new position, and with
 *   learned absolute position embeddings the cached keys and values (computed at the old positions) are wrong.
 *   For those steps the cache is cleared and the cropped window is recomputed from scratch, so the cache stays
 *   exact; beyond block_size a step costs as much as a full recompute.
 *
 * @module
 */
import { withStep } from "../tensor/storage.ts";
import type { GPT } from "../nn/models/gpt.ts";
import type { KVCache } from "../nn/attention.ts";
import type { Rng } from "../random.ts";
import { noGrad } from "../tensor/grad.ts";
import { readValues, stepOn } from "./device.ts";
import { sampleToken, type SamplingOptions, validateSampling } from "./sampling.ts";

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Number of tokens to append (a non-negative integer); fewer when `stopAt` is produced first. */
  maxNewTokens: number;
  /** How each token is picked from the logits. */
  sampling: SamplingOptions;
  /** The generator every non-greedy draw takes its one uniform from. */
  rng: Rng;
  /** Reuse keys and values across steps (default true); false recomputes the whole window every step. */
  useCache?: boolean;
  /** Stop right after this token id is produced (it is included in the output). */
  stopAt?: number;
  /** Called with each new token id, in order, as soon as it is picked. */
  onToken?: (id: number) => void;
}

/**
 * Extends `prompt` (a non-empty sequence of token ids) by up to `maxNewTokens` tokens and returns the prompt
 * followed by the new tokens. Runs without the autograd tape and with the model in evaluation mode (no dropout);
 * the model's previous training flag is restored afterwards, also when an error is thrown. The result is the same
 * with and without the cache (see the module notes). The model's values must be readable synchronously (the
 * CPU); {@link generateAsync} runs on every device.
 */
export function generate(model: GPT, prompt: Int32Array, opts: GenerateOptions): Int32Array {
  const V = model.config.vocabSize;
  if (model.wte.weight.gpu !== null) throw new Error("generate: the model is on the GPU; use generateAsync");
  return decode(model, prompt, opts, (steps, caches) => {
    let s = steps.next();
    while (!s.done) {
      const ids = s.value, T = ids.length;
      const next = noGrad(() =>
        withStep(() => {
          const { logits } = model.forward(ids, 1, T, { caches });
          return sampleToken(logits.readSync().subarray((T - 1) * V, T * V), opts.sampling, opts.rng);
        })
      );
      s = steps.next(next);
    }
    return s.value;
  });
}

/**
 * {@link generate} on any device: on a model on the GPU (`model.toGpu`) the forward passes and the KV cache run
 * there, and the logits of the last position are read back once per generated token (sampling stays on the CPU,
 * drawing from `opts.rng` exactly as {@link generate} does). On the CPU it gives {@link generate}'s tokens.
 */
export async function generateAsync(
  model: GPT,
  prompt: Int32Array,
  opts: GenerateOptions,
): Promise<Int32Array> {
  const V = model.config.vocabSize, weight = model.wte.weight;
  return await decode(model, prompt, opts, async (steps, caches) => {
    let s = steps.next();
    while (!s.done) {
      const ids = s.value, T = ids.length;
      const row = noGrad(() =>
        stepOn(weight, () => readValues(model.forward(ids, 1, T, { caches }).logits, (T - 1) * V, V))
      );
      s = steps.next(sampleToken(await row, opts.sampling, opts.rng));
    }
    return s.value;
  });
}

/** The steps of a generation: yields the ids the model reads next, takes the token picked, returns the output. */
type Steps = Generator<Int32Array, Int32Array, number>;

/**
 * Checks the arguments, puts the model in evaluation mode and makes the caches, then hands `run` the steps of the
 * generation; afterwards (also after an error, or once `run`'s promise settles) gives the caches back and
 * restores the training flag.
 */
function decode<R extends Int32Array | Promise<Int32Array>>(
  model: GPT,
  prompt: Int32Array,
  opts: GenerateOptions,
  run: (steps: Steps, caches: KVCache[] | undefined) => R,
): R {
  const { vocabSize, blockSize } = model.config;
  const { maxNewTokens, sampling } = opts;
  if (prompt.length === 0) throw new Error("generate: the prompt is empty; give at least one token id");
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
    throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  }
  for (let i = 0; i < prompt.length; i++) {
    if (prompt[i] < 0 || prompt[i] >= vocabSize) {
      throw new Error(
        `generate: prompt token ${i} is ${prompt[i]}, outside the vocabulary [0, ${vocabSize})`,
      );
    }
  }
  validateSampling(sampling);
  const wasTraining = model.training;
  model.eval();
  const caches = (opts.useCache ?? true) ? model.newCaches(1, blockSize) : undefined;
  const done = () => {
    for (const c of caches ?? []) c.free();
    model.train(wasTraining);
  };
  let result: R;
  try {
    result = run(steps(prompt, opts, blockSize, caches), caches);
  } catch (e) {
    done();
    throw e;
  }
  if (result instanceof Promise) return result.finally(done) as R;
  done();
  return result;
}

/**
 * The token bookkeeping of a generation (see the module notes): which ids each step feeds — the whole window,
 * or only the newest token while the cache holds the rest — and when to stop.
 */
function* steps(prompt: Int32Array, opts: GenerateOptions, blockSize: number, caches?: KVCache[]): Steps {
  const { maxNewTokens, stopAt, onToken } = opts;
  const tokens = new Int32Array(prompt.length + maxNewTokens);
  tokens.set(prompt);
  let len = prompt.length;
  let cacheStart = 0; // tokens[cacheStart + j] is cached at position j
  while (len < tokens.length) {
    const start = Math.max(0, len - blockSize); // the window the model sees: tokens[start, len)
    let feedFrom = start;
    if (caches) {
      const cached = caches[0].length;
      if (cached > 0 && cacheStart === start && start + cached === len - 1) {
        feedFrom = len - 1; // the window only grew by the last token: feed it alone
      } else {
        for (const c of caches) c.length = 0; // first step, or the window slid: recompute it
        cacheStart = start;
      }
    }
    const next = yield tokens.subarray(feedFrom, len);
    tokens[len++] = next;
    onToken?.(next);
    if (next === stopAt) break;
  }
  return tokens.slice(0, len);
}
