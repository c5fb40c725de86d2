/**
 * Generation throughput of the GPT, the counterpart of `bench/reference/torch_gpt.py --gen`: batch 1, seeded
 * random weights, greedy decoding of `--tokens` tokens from a seeded `--prompt`-token prompt, with the KV cache
 * and without it (the whole context recomputed every token). The position table holds
 * max(block_size, prompt + tokens) positions, so the window never slides and the cached path never falls back to
 * a recompute. Each mode is warmed up with `--warmup` tokens, then timed `--repeats` times; the best run is kept.
 * Prints one JSON line.
 *
 * ```sh
 * deno run --allow-read --allow-env bench/generate_throughput.ts --n-layer 4 --n-head 4 --n-embd 256 \
 *   --block-size 128 --vocab-size 512 --tokens 200 [--prompt 1] [--repeats 3] [--backend auto|js|wasm|blas] \
 *   [--seed 0] [--threads 1]
 * ```
 *
 * Every flag, with its default: {@link GENERATE_THROUGHPUT} (`--help`, docs/cli.md).
 *
 * @module
 */
import { generate } from "../lib/generate/generate.ts";
import { setBackend } from "../lib/kernels/backend.ts";
import { getThreads } from "../lib/kernels/wasm/pool.ts";
import { GPT } from "../lib/nn/models/gpt.ts";
import { Rng } from "../lib/random.ts";
import { MODEL_FLAGS, type ModelArgs, modelArgs, PeakRss, round, selectBackend } from "./_common.ts";
import { type Command, type Parsed, runMain } from "../lib/experiment/cli/_command.ts";

/** Parsed command line. */
export interface GenerateArgs extends ModelArgs {
  /** Tokens generated per timed run. */
  tokens: number;
  /** Prompt length. */
  prompt: number;
  /** Timed runs per mode; the best is reported. */
  repeats: number;
  /** Tokens generated per mode before timing. */
  warmup: number;
}

/** The declaration of `bench/generate_throughput.ts`. */
export const GENERATE_THROUGHPUT = {
  name: "generate_throughput",
  run: "deno run --allow-read --allow-env bench/generate_throughput.ts",
  description:
    "Generation throughput of the GPT, the counterpart of bench/reference/torch_gpt.py --gen: batch " +
    "1, seeded random weights, greedy decoding of --tokens tokens from a seeded --prompt-token prompt, with the " +
    "KV cache and without it. Each mode is warmed up with --warmup tokens, then timed --repeats times; the best " +
    "run is kept. Prints one JSON line.",
  positionals: [],
  flags: {
    ...MODEL_FLAGS,
    tokens: { type: "integer", min: 1, default: 200, description: "tokens to generate per timed run" },
    prompt: { type: "integer", min: 1, default: 1, description: "prompt tokens" },
    repeats: { type: "integer", min: 1, default: 3, description: "timed runs per mode, best reported" },
    warmup: { type: "integer", min: 0, default: 5, description: "untimed tokens per mode before timing" },
  },
  examples: [
    "deno run --allow-read --allow-env bench/generate_throughput.ts --n-layer 4 --n-embd 256 --tokens 200",
  ],
} as const satisfies Command;

/** The bench's arguments from its parsed command line; throws a UsageError naming a bad flag. */
export function generateArgs({ values: v, typed }: Parsed<typeof GENERATE_THROUGHPUT>): GenerateArgs {
  return {
    ...modelArgs(v, typed),
    tokens: v.tokens,
    prompt: v.prompt,
    repeats: v.repeats,
    warmup: v.warmup,
  };
}

/**
 * Selects the backend, builds the model with a position table of max(block_size, prompt + tokens), times both
 * modes and returns the JSON record.
 */
export function runGenerate(a: GenerateArgs): Record<string, unknown> {
  const backend = setBackend(a.backend);
  const rss = new PeakRss();
  const maxpos = Math.max(a.block_size, a.prompt + a.tokens);
  const model = new GPT({
    vocabSize: a.vocab_size,
    blockSize: maxpos,
    nLayer: a.n_layer,
    nHead: a.n_head,
    nEmbd: a.n_embd,
    dropout: 0,
    bias: true,
    tieWeights: a.tie,
  }, new Rng(a.seed)).eval();
  const promptRng = new Rng(a.seed + 1);
  const prompt = new Int32Array(a.prompt);
  for (let i = 0; i < prompt.length; i++) prompt[i] = promptRng.int(a.vocab_size);
  const run = (n: number, useCache: boolean) =>
    generate(model, prompt, { maxNewTokens: n, sampling: { greedy: true }, rng: new Rng(0), useCache });

  // Same order as torch_gpt.py: warm both up, then time no_cache, then kv_cache.
  if (a.warmup > 0) {
    run(a.warmup, false);
    run(a.warmup, true);
  }
  const timed: Record<string, { s: number; tokens_per_s: number }> = {};
  const seqs: Int32Array[] = [];
  for (const [name, useCache] of [["no_cache", false], ["kv_cache", true]] as const) {
    let best = Infinity;
    let seq: Int32Array = new Int32Array(0);
    for (let r = 0; r < a.repeats; r++) {
      const t0 = performance.now();
      seq = run(a.tokens, useCache);
      best = Math.min(best, (performance.now() - t0) / 1000);
      rss.sample();
    }
    seqs.push(seq);
    timed[name] = { tokens_per_s: round(a.tokens / best, 1), s: round(best, 4) };
  }
  const [a0, a1] = seqs;
  const peak = rss.read();
  return {
    kv_cache: timed.kv_cache,
    no_cache: timed.no_cache,
    same_tokens: a0.length === a1.length && a0.every((t, i) => t === a1[i]),
    backend,
    threads: getThreads(),
    params: model.numParameters(),
    peak_rss_mb: round(peak.mb, 1),
    rss_source: peak.source,
    tokens: a.tokens,
    prompt: a.prompt,
    repeats: a.repeats,
    warmup: a.warmup,
    gen_maxpos: maxpos,
    config: {
      n_layer: a.n_layer,
      n_head: a.n_head,
      n_embd: a.n_embd,
      block_size: a.block_size,
      vocab_size: a.vocab_size,
      tie: a.tie,
      seed: a.seed,
      dropout: 0,
      bias: true,
      batch_size: 1,
      sampling: "greedy",
    },
    deno: Deno.version.deno,
  };
}

if (import.meta.main) {
  await runMain(GENERATE_THROUGHPUT, async (parsed) => {
    const args = generateArgs(parsed);
    await selectBackend(args.backend, args.threads);
    console.log(JSON.stringify(runGenerate(args)));
  });
}
