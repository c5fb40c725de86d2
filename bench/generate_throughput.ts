/**
 * Generation throughput of the GPT, the counterpart of `shared/bench-ref/torch_gpt.py --gen`: batch 1, seeded
 * random weights, greedy decoding of `--tokens` tokens from a seeded `--prompt`-token prompt, with the KV cache
 * and without it (the whole context recomputed every token). The position table holds
 * max(block_size, prompt + tokens) positions, so the window never slides and the cached path never falls back to
 * a recompute. Each mode is warmed up with `--warmup` tokens, then timed `--repeats` times; the best run is kept.
 * Prints one JSON line.
 *
 * ```sh
 * deno run --allow-read --allow-env bench/generate_throughput.ts --n_layer 4 --n_head 4 --n_embd 256 \
 *   --block_size 128 --vocab_size 512 --tokens 200 [--prompt 1] [--repeats 3] [--backend auto|js|wasm|blas] \
 *   [--seed 0] [--threads 1]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generate } from "../lib/generate/generate.ts";
import { type BackendName, setBackend } from "../lib/kernels/backend.ts";
import { defaultThreads, getThreads, setThreads, whenThreadsReady } from "../lib/kernels/wasm/pool.ts";
import { GPT } from "../lib/nn/models/gpt.ts";
import { Rng } from "../lib/random.ts";
import { intFlag, PeakRss, round } from "./_common.ts";

/** Parsed command line. */
export interface GenerateArgs {
  /** Blocks. */
  n_layer: number;
  /** Heads per block. */
  n_head: number;
  /** Width. */
  n_embd: number;
  /** Context length of the model (the position table is at least this long). */
  block_size: number;
  /** Vocabulary size. */
  vocab_size: number;
  /** Tokens generated per timed run. */
  tokens: number;
  /** Prompt length. */
  prompt: number;
  /** Timed runs per mode; the best is reported. */
  repeats: number;
  /** Tokens generated per mode before timing. */
  warmup: number;
  /** Kernel backend. */
  backend: BackendName | "auto";
  /** Seed of the weights (seed) and the prompt (seed + 1). */
  seed: number;
  /** Tie lm_head to the token embedding. */
  tie: boolean;
  /** Kernel threads for the wasm backend (0 = every core). */
  threads: number;
}

const USAGE = `usage: deno run --allow-read --allow-env bench/generate_throughput.ts [flags]
  --n_layer N       blocks (default 4)
  --n_head N        heads per block (default 4)
  --n_embd N        width, a multiple of n_head (default 256)
  --block_size N    context length (default 128); the position table holds max(block_size, prompt + tokens)
  --vocab_size N    vocabulary size (default 512)
  --tokens N        tokens to generate per timed run (default 200)
  --prompt N        prompt tokens (default 1)
  --repeats N       timed runs per mode, best reported (default 3)
  --warmup N        untimed tokens per mode before timing (default 5)
  --backend NAME    kernel backend: auto, js, wasm or blas (blas needs --allow-ffi; default auto)
  --seed N          seed of weights and prompt (default 0)
  --tie true|false  tie lm_head to wte (default true)
  --threads N       kernel threads for the wasm backend, 0 = every core (default 1)`;

const DEFAULTS: Record<string, string> = {
  n_layer: "4",
  n_head: "4",
  n_embd: "256",
  block_size: "128",
  vocab_size: "512",
  tokens: "200",
  prompt: "1",
  repeats: "3",
  warmup: "5",
  backend: "auto",
  seed: "0",
  tie: "true",
  threads: "1",
};

/** Parses and validates the flags; throws an Error whose message names the bad flag ("help" for --help). */
export function parseGenerateArgs(argv: string[]): GenerateArgs {
  const options = Object.fromEntries(
    [...Object.keys(DEFAULTS), "help"].map((k) =>
      [k, { type: k === "help" ? "boolean" : "string" }] as const
    ),
  ) as Record<string, { type: "string" | "boolean" }>;
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  if (values.help) throw new Error("help");
  const s = (k: string) => {
    const v = values[k];
    return typeof v === "string" ? v : DEFAULTS[k];
  };
  const tie = s("tie");
  if (tie !== "true" && tie !== "false") throw new Error(`--tie must be true or false, got "${tie}"`);
  const backend = s("backend");
  if (backend !== "auto" && backend !== "js" && backend !== "wasm" && backend !== "blas") {
    throw new Error(`--backend must be auto, js, wasm or blas, got "${backend}"`);
  }
  const a: GenerateArgs = {
    n_layer: intFlag("n_layer", s("n_layer"), 1),
    n_head: intFlag("n_head", s("n_head"), 1),
    n_embd: intFlag("n_embd", s("n_embd"), 1),
    block_size: intFlag("block_size", s("block_size"), 1),
    vocab_size: intFlag("vocab_size", s("vocab_size"), 1),
    tokens: intFlag("tokens", s("tokens"), 1),
    prompt: intFlag("prompt", s("prompt"), 1),
    repeats: intFlag("repeats", s("repeats"), 1),
    warmup: intFlag("warmup", s("warmup"), 0),
    backend,
    seed: intFlag("seed", s("seed"), 0),
    tie: tie === "true",
    threads: intFlag("threads", s("threads"), 0),
  };
  if (a.n_embd % a.n_head !== 0) {
    throw new Error(`--n_embd (${a.n_embd}) must be a multiple of --n_head (${a.n_head})`);
  }
  return a;
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
  let args: GenerateArgs;
  try {
    args = parseGenerateArgs(Deno.args);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg === "help") {
      console.log(USAGE);
      Deno.exit(0);
    }
    console.error(`generate_throughput: ${msg}\n${USAGE}`);
    Deno.exit(2);
  }
  if (setBackend(args.backend) === "wasm") setThreads(args.threads || defaultThreads());
  await whenThreadsReady();
  let record: Record<string, unknown>;
  try {
    record = runGenerate(args);
  } catch (e) {
    console.error(`generate_throughput: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
  console.log(JSON.stringify(record));
}
