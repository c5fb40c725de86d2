/**
 * Step 6 of "Build your own GPT": sampling text from the trained model.
 *
 * What changes from step 5: nothing in the model; this step turns its logits back into text. The loop: crop
 * the tokens so far to the last blockSize, run the model, take the logits of the last position, pick a token,
 * append it, repeat. Picking: greedy takes the largest logit; otherwise the logits are divided by a
 * temperature (below 1 sharpens, above 1 flattens), only the k largest are kept (top-k), a softmax makes
 * probabilities and one uniform random number picks a token. With a seeded generator the text is repeatable.
 *
 * Run: `deno run docs/build-your-own-gpt/06-sampling.ts`
 *
 * @module
 */
import { generate, type GPT, noGrad, Rng } from "../../mod.ts";
import { trainGPT } from "./05-training.ts";

/** How to pick a token. */
export interface Pick {
  /** Take the largest logit (the lowest id on ties). */
  greedy?: boolean;
  /** Divide the logits by this (default 1). */
  temperature?: number;
  /** Keep only the k largest logits (default: all). */
  topK?: number;
}

/** The probabilities a non-greedy pick draws from: temperature, top-k, softmax (zeros outside the top k). */
export function nextTokenProbs(logits: ArrayLike<number>, pick: Pick): Float64Array {
  const scaled = Array.from(logits, (l) => l / (pick.temperature ?? 1));
  const order = scaled.map((_, i) => i).sort((a, b) => scaled[b] - scaled[a] || a - b); // best first
  const p = new Float64Array(scaled.length), max = scaled[order[0]];
  for (const i of order.slice(0, pick.topK ?? scaled.length)) p[i] = Math.exp(scaled[i] - max);
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / total);
}

/** Picks the next token from one row of logits; a non-greedy pick uses exactly one `rng.next()`. */
export function pickToken(logits: ArrayLike<number>, pick: Pick, rng: Rng): number {
  if (pick.greedy) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const p = nextTokenProbs(logits, pick);
  let u = rng.next();
  for (let i = 0; i < p.length; i++) if (p[i] > 0 && (u -= p[i]) < 0) return i;
  return p.findLastIndex((x) => x > 0); // rounding left u a hair above the total
}

/** Appends `n` tokens to `prompt`, running the whole window (at most blockSize tokens) for each one. */
export function generateFull(model: GPT, prompt: Int32Array, n: number, pick: Pick, rng: Rng): Int32Array {
  const { blockSize, vocabSize: V } = model.config;
  const tokens = Array.from(prompt);
  model.eval();
  for (let i = 0; i < n; i++) {
    const window = Int32Array.from(tokens.slice(-blockSize)), T = window.length;
    const { logits } = noGrad(() => model.forward(window, 1, T)); // (1, T, V)
    tokens.push(pickToken(logits.data.subarray((T - 1) * V, T * V), pick, rng)); // the last row only
  }
  return Int32Array.from(tokens);
}

/** What {@link main} produced. */
export interface SamplingResult {
  /** Greedy continuation of the prompt. */
  greedy: string;
  /** The library's `generate` with greedy picking (no cache): must equal `greedy`. */
  libraryGreedy: string;
  /** Temperature 0.8, top-k 10, seed 7. */
  sampled: string;
  /** The same settings and seed again: must equal `sampled`. */
  sampledAgain: string;
  /** The same settings with seed 8. */
  otherSeed: string;
}

/** Trains the model of step 5, then samples from it greedily and at temperature 0.8 with top-k 10. */
export function main(
  opts: { steps?: number; tokens?: number; log?: (line: string) => void } = {},
): SamplingResult {
  const { steps = 400, tokens = 80, log = (l: string) => console.log(l) } = opts;
  const { model, tokenizer } = trainGPT({ steps });
  const prompt = tokenizer.encode("The model ");
  const text = (ids: Int32Array) => tokenizer.decode(ids);
  const soft: Pick = { temperature: 0.8, topK: 10 };
  const library = generate(model, prompt, {
    maxNewTokens: tokens,
    sampling: { greedy: true },
    rng: new Rng(0),
    useCache: false,
  });
  const result: SamplingResult = {
    greedy: text(generateFull(model, prompt, tokens, { greedy: true }, new Rng(0))),
    libraryGreedy: text(library),
    sampled: text(generateFull(model, prompt, tokens, soft, new Rng(7))),
    sampledAgain: text(generateFull(model, prompt, tokens, soft, new Rng(7))),
    otherSeed: text(generateFull(model, prompt, tokens, soft, new Rng(8))),
  };
  log(`greedy:             ${JSON.stringify(result.greedy)}`);
  log(`library's generate: ${result.greedy === result.libraryGreedy ? "the same tokens" : "DIFFERENT"}`);
  log(`T 0.8, top-k 10, seed 7: ${JSON.stringify(result.sampled)}`);
  log(`again with seed 7:       ${result.sampled === result.sampledAgain ? "the same text" : "DIFFERENT"}`);
  log(`seed 8:                  ${JSON.stringify(result.otherSeed)}`);
  return result;
}

if (import.meta.main) main();
