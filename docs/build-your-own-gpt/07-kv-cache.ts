/**
 * Step 7 of "Build your own GPT": the KV cache, a faster generation loop that yields exactly the same tokens.
 *
 * What changes from step 6: the loop of step 6 runs the whole window through the model for every new token,
 * although the keys and values of the earlier positions cannot change (the causal mask of step 2 keeps them
 * from seeing anything later). With a cache, each attention layer keeps the keys and values it has computed:
 * the prompt goes through the model once (the "prefill"), then each new token goes through alone, at the next
 * position, and attends to the cached keys and values plus its own. The work per token no longer grows with
 * the length of the text. This simple version stops at blockSize tokens (the library's `generate` then slides
 * the window and rebuilds the cache).
 *
 * Run: `deno run docs/build-your-own-gpt/07-kv-cache.ts`
 *
 * @module
 */
import { generate, type GPT, noGrad, Rng } from "../../mod.ts";
import { trainGPT } from "./05-training.ts";
import { generateFull, type Pick, pickToken } from "./06-sampling.ts";

/** Appends `n` tokens to `prompt` with a KV cache; also counts the positions that went through the model. */
export function generateCached(
  model: GPT,
  prompt: Int32Array,
  n: number,
  pick: Pick,
  rng: Rng,
): { tokens: Int32Array; positions: number } {
  const { blockSize, vocabSize: V } = model.config;
  if (prompt.length + n - 1 > blockSize) { // the last new token is picked, never fed
    throw new Error(`generateCached: ${prompt.length} + ${n} - 1 positions exceed blockSize ${blockSize}`);
  }
  const caches = model.newCaches(1, blockSize); // one per block: keys and values, (1, H, blockSize, D)
  const tokens = Array.from(prompt);
  let input = prompt, positions = 0; // first the whole prompt, then one token at a time
  model.eval();
  for (let i = 0; i < n; i++) {
    const T = input.length;
    const { logits } = noGrad(() => model.forward(input, 1, T, { caches })); // positions caches[0].length…
    positions += T;
    const next = pickToken(logits.data.subarray((T - 1) * V, T * V), pick, rng);
    tokens.push(next);
    input = Int32Array.of(next); // the cache now holds everything before it
  }
  return { tokens: Int32Array.from(tokens), positions };
}

/** What {@link main} measured. */
export interface KVCacheResult {
  /** Greedy text, full recompute (step 6). */
  fullGreedy: string;
  /** Greedy text with the cache. */
  cachedGreedy: string;
  /** Sampled text (temperature 0.8, top-k 10, seed 3), full recompute. */
  fullSampled: string;
  /** The same with the cache. */
  cachedSampled: string;
  /** The library's `generate` with its cache, greedy. */
  libraryCached: string;
  /** Positions run through the model without the cache. */
  positionsFull: number;
  /** Positions run through the model with the cache. */
  positionsCached: number;
}

/** Trains the model of step 5, then generates with and without the cache. */
export function main(
  opts: { steps?: number; tokens?: number; log?: (line: string) => void } = {},
): KVCacheResult {
  const { steps = 400, tokens = 22, log = (l: string) => console.log(l) } = opts;
  const { model, tokenizer } = trainGPT({ steps });
  const prompt = tokenizer.encode("The cache "), text = (ids: Int32Array) => tokenizer.decode(ids);
  const greedy: Pick = { greedy: true }, soft: Pick = { temperature: 0.8, topK: 10 };
  const cached = generateCached(model, prompt, tokens, greedy, new Rng(0));
  const library = generate(model, prompt, {
    maxNewTokens: tokens,
    sampling: { greedy: true },
    rng: new Rng(0),
  });
  let positionsFull = 0; // step 6's loop runs prompt.length, prompt.length + 1, … positions
  for (let i = 0; i < tokens; i++) positionsFull += Math.min(prompt.length + i, model.config.blockSize);
  const result: KVCacheResult = {
    fullGreedy: text(generateFull(model, prompt, tokens, greedy, new Rng(0))),
    cachedGreedy: text(cached.tokens),
    fullSampled: text(generateFull(model, prompt, tokens, soft, new Rng(3))),
    cachedSampled: text(generateCached(model, prompt, tokens, soft, new Rng(3)).tokens),
    libraryCached: text(library),
    positionsFull,
    positionsCached: cached.positions,
  };
  const same = (a: string, b: string) => a === b ? "identical" : "DIFFERENT";
  log(`greedy, full recompute: ${JSON.stringify(result.fullGreedy)}`);
  log(`greedy, KV cache:       ${same(result.cachedGreedy, result.fullGreedy)}`);
  log(`sampled, full recompute: ${JSON.stringify(result.fullSampled)}`);
  log(`sampled, KV cache:       ${same(result.cachedSampled, result.fullSampled)}`);
  log(`library generate (cache): ${same(result.libraryCached, result.fullGreedy)}`);
  log(`positions through the model: ${positionsFull} without the cache, ${cached.positions} with it`);
  return result;
}

if (import.meta.main) main();
