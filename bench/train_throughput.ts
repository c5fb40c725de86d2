/**
 * End-to-end training throughput of the GPT, the counterpart of `shared/bench-ref/torch_gpt.py`: the same model
 * (dropout 0, biases, tied head by default), AdamW (lr 3e-4, weight decay 0.01 on every parameter, as
 * `torch.optim.AdamW(model.parameters())`), one fixed batch of seeded random tokens, and the same step:
 * forward, loss, zero grad, backward, optimizer step. Runs `--warmup` untimed steps, then `--steps` timed ones,
 * and prints one JSON line.
 *
 * ```sh
 * deno run --allow-read --allow-env bench/train_throughput.ts --n_layer 4 --n_head 4 --n_embd 256 \
 *   --block_size 128 --batch_size 8 --vocab_size 512 [--steps 5] [--warmup 2] [--seed 0] [--tie true]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generate } from "../lib/generate/generate.ts";
import { type BackendName, getBackend, setBackend } from "../lib/kernels/backend.ts";
import { defaultThreads, getThreads, setThreads, whenThreadsReady } from "../lib/kernels/wasm/pool.ts";
import { arenaCapacity, arenaPeakBytes, resetArenaPeak, withArena } from "../lib/kernels/wasm/runtime.ts";
import { GPT } from "../lib/nn/models/gpt.ts";
import { intFlag, PeakRss, round } from "./_common.ts";
import { AdamW } from "../lib/optim/adamw.ts";
import { Rng } from "../lib/random.ts";
import { type Precision, setPrecision } from "../lib/tensor/precision.ts";
import { MixedPrecision } from "../lib/train/precision.ts";

/** Parsed command line. */
export interface ThroughputArgs {
  /** Blocks. */
  n_layer: number;
  /** Heads per block. */
  n_head: number;
  /** Width. */
  n_embd: number;
  /** Context length (every step uses the full block). */
  block_size: number;
  /** Sequences per step. */
  batch_size: number;
  /** Vocabulary size. */
  vocab_size: number;
  /** Timed steps. */
  steps: number;
  /** Untimed steps before timing. */
  warmup: number;
  /** Seed of the weights and the tokens. */
  seed: number;
  /** Tie lm_head to the token embedding. */
  tie: boolean;
  /** Recompute each block's activations in backward (activation checkpointing). */
  checkpointing: boolean;
  /** When > 0: measure greedy generation of this many tokens (batch 1) instead of training. */
  gen: number;
  /** Prompt length of the generation bench. */
  prompt: number;
  /** Timed generation runs per mode; the best is reported. */
  repeats: number;
  /** Kernel backend (auto = the fastest available). */
  backend: BackendName | "auto";
  /** Kernel threads (0 = every core). */
  threads: number;
  /** Number format of activations and compute weights (emulated 16-bit, float32 master weights). */
  precision: Precision;
}

const USAGE = `usage: deno run --allow-read --allow-env bench/train_throughput.ts [flags]
  --n_layer N      blocks (default 4)
  --n_head N       heads per block (default 4)
  --n_embd N       width, a multiple of n_head (default 256)
  --block_size N   context length (default 128)
  --batch_size N   sequences per step (default 8)
  --vocab_size N   vocabulary size (default 512)
  --steps N        timed steps (default 5)
  --warmup N       untimed steps first (default 2)
  --seed N         seed of weights and tokens (default 0)
  --tie true|false tie lm_head to wte (default true)
  --checkpointing true|false  recompute each block's activations in backward (default false)
  --gen N          instead of training: greedy generation of N tokens, batch 1, with and without the KV cache
  --prompt N       prompt tokens for --gen (default 1)
  --repeats N      timed runs per mode for --gen, best reported (default 3)
  --backend B      kernel backend: auto, js, wasm, blas (default auto)
  --threads N      kernel threads for the wasm backend, 0 = every core (default 1)
  --precision P    fp32, bf16 or fp16 (emulated 16-bit activations and compute weights; default fp32)`;

const DEFAULTS: Record<string, string> = {
  n_layer: "4",
  n_head: "4",
  n_embd: "256",
  block_size: "128",
  batch_size: "8",
  vocab_size: "512",
  steps: "5",
  warmup: "2",
  seed: "0",
  tie: "true",
  checkpointing: "false",
  gen: "0",
  prompt: "1",
  repeats: "3",
  backend: "auto",
  threads: "1",
  precision: "fp32",
};

/** Parses and validates the flags; throws an Error whose message names the bad flag. */
export function parseThroughputArgs(argv: string[]): ThroughputArgs {
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
  const tieRaw = s("tie");
  if (tieRaw !== "true" && tieRaw !== "false") {
    throw new Error(`--tie must be true or false, got "${tieRaw}"`);
  }
  const backend = s("backend");
  if (!["auto", "js", "wasm", "blas"].includes(backend)) {
    throw new Error(`--backend must be one of auto, js, wasm, blas, got "${backend}"`);
  }
  const precision = s("precision");
  if (!["fp32", "bf16", "fp16"].includes(precision)) {
    throw new Error(`--precision must be one of fp32, bf16, fp16, got "${precision}"`);
  }
  const a: ThroughputArgs = {
    n_layer: intFlag("n_layer", s("n_layer"), 1),
    n_head: intFlag("n_head", s("n_head"), 1),
    n_embd: intFlag("n_embd", s("n_embd"), 1),
    block_size: intFlag("block_size", s("block_size"), 1),
    batch_size: intFlag("batch_size", s("batch_size"), 1),
    vocab_size: intFlag("vocab_size", s("vocab_size"), 1),
    steps: intFlag("steps", s("steps"), 1),
    warmup: intFlag("warmup", s("warmup"), 0),
    seed: intFlag("seed", s("seed"), 0),
    tie: tieRaw === "true",
    checkpointing: boolFlag("checkpointing", s("checkpointing")),
    gen: intFlag("gen", s("gen"), 0),
    prompt: intFlag("prompt", s("prompt"), 1),
    repeats: intFlag("repeats", s("repeats"), 1),
    backend: backend as BackendName | "auto",
    threads: intFlag("threads", s("threads"), 0),
    precision: precision as Precision,
  };
  if (a.n_embd % a.n_head !== 0) {
    throw new Error(`--n_embd (${a.n_embd}) must be a multiple of --n_head (${a.n_head})`);
  }
  return a;
}

function configRecord(a: ThroughputArgs): Record<string, unknown> {
  return {
    n_layer: a.n_layer,
    n_head: a.n_head,
    n_embd: a.n_embd,
    block_size: a.block_size,
    batch_size: a.batch_size,
    vocab_size: a.vocab_size,
    tie: a.tie,
    activation_checkpointing: a.checkpointing,
    precision: a.precision,
    seed: a.seed,
    dropout: 0,
    bias: true,
    lr: 3e-4,
  };
}

function buildModel(a: ThroughputArgs, blockSize: number): GPT {
  return new GPT({
    vocabSize: a.vocab_size,
    blockSize,
    nLayer: a.n_layer,
    nHead: a.n_head,
    nEmbd: a.n_embd,
    dropout: 0,
    bias: true,
    tieWeights: a.tie,
    activationCheckpointing: a.checkpointing,
  }, new Rng(a.seed));
}

/** Builds the model and optimizer, trains, and returns the JSON record. */
export function runThroughput(a: ThroughputArgs): Record<string, unknown> {
  const rss = new PeakRss();
  const model = buildModel(a, a.block_size);
  const opt = new AdamW(model.namedParameters(), { lr: 3e-4, decay: () => true });
  // as the trainer: master weights in the optimizer, a rounded compute copy for the passes, the loss scaled
  const mp = new MixedPrecision(model.namedParameters(), a.precision);
  setPrecision(a.precision);
  // One batch of (batch, block+1) random tokens, reused every step: x = data[:, :-1], y = data[:, 1:].
  const B = a.batch_size, T = a.block_size;
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  const dataRng = new Rng(a.seed + 1);
  for (let b = 0; b < B; b++) {
    let prev = dataRng.int(a.vocab_size);
    for (let t = 0; t < T; t++) {
      const next = dataRng.int(a.vocab_size);
      x[b * T + t] = prev;
      y[b * T + t] = next;
      prev = next;
    }
  }
  const step = (): number => {
    // like the trainer: the step's activations live in the arena
    const value = withArena(() => {
      opt.zeroGrad();
      const v = mp.withComputeWeights(() => {
        const { loss } = model.forward(x, B, T, { targets: y });
        if (loss === null) throw new Error("GPT.forward returned no loss");
        loss.backward(new Float32Array([mp.scale]));
        return loss.data[0];
      });
      mp.unscale();
      opt.step();
      return v;
    });
    rss.sample();
    return value;
  };
  for (let i = 0; i < a.warmup; i++) step();
  resetArenaPeak();
  let lossValue = NaN;
  const t0 = performance.now();
  for (let i = 0; i < a.steps; i++) lossValue = step();
  const dt = (performance.now() - t0) / 1000;
  const peak = rss.read();
  return {
    tokens_per_s: round(B * T * a.steps / dt, 1),
    ms_per_step: round(1000 * dt / a.steps, 2),
    params: model.numParameters(),
    peak_rss_mb: round(peak.mb, 1),
    arena_mb: round(arenaCapacity() / 1048576, 1),
    arena_peak_mb: round(arenaPeakBytes() / 1048576, 2),
    rss_source: peak.source,
    steps: a.steps,
    warmup: a.warmup,
    final_loss: round(lossValue, 4),
    backend: getBackend(),
    threads: getThreads(),
    config: configRecord(a),
    deno: Deno.version.deno,
  };
}

/**
 * Greedy generation of `a.gen` tokens from a seeded `a.prompt`-token prompt (batch 1), as torch_gpt.py's `--gen`:
 * the position table holds max(block_size, prompt + gen) positions so the window never slides, each mode is
 * warmed up with 5 tokens, then timed `a.repeats` times (best kept). Reports tokens/s with and without the KV
 * cache and whether both produced the same tokens.
 */
export function runGeneration(a: ThroughputArgs): Record<string, unknown> {
  const rss = new PeakRss();
  const maxpos = Math.max(a.block_size, a.prompt + a.gen);
  const model = buildModel(a, maxpos).eval();
  const promptRng = new Rng(a.seed + 1);
  const prompt = new Int32Array(a.prompt);
  for (let i = 0; i < prompt.length; i++) prompt[i] = promptRng.int(a.vocab_size);
  const run = (n: number, useCache: boolean) =>
    generate(model, prompt, { maxNewTokens: n, sampling: { greedy: true }, rng: new Rng(0), useCache });
  run(5, false);
  run(5, true);
  const out: Record<string, unknown> = {};
  const seqs: Int32Array[] = [];
  for (const [name, useCache] of [["no_cache", false], ["kv_cache", true]] as const) {
    let best = Infinity;
    let seq: Int32Array = new Int32Array(0);
    for (let r = 0; r < a.repeats; r++) {
      const t0 = performance.now();
      seq = run(a.gen, useCache);
      best = Math.min(best, (performance.now() - t0) / 1000);
      rss.sample();
    }
    seqs.push(seq);
    out[name] = { s: round(best, 4), tokens_per_s: round(a.gen / best, 1) };
  }
  const peak = rss.read();
  return {
    mode: "generate",
    gen_tokens: a.gen,
    prompt: a.prompt,
    repeats: a.repeats,
    gen_maxpos: maxpos,
    ...out,
    same_tokens: seqs[0].length === seqs[1].length && seqs[0].every((t, i) => t === seqs[1][i]),
    params: model.numParameters(),
    peak_rss_mb: round(peak.mb, 1),
    rss_source: peak.source,
    backend: getBackend(),
    threads: getThreads(),
    config: configRecord(a),
    deno: Deno.version.deno,
  };
}

if (import.meta.main) {
  let args: ThroughputArgs;
  try {
    args = parseThroughputArgs(Deno.args);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg === "help") {
      console.log(USAGE);
      Deno.exit(0);
    }
    console.error(`train_throughput: ${msg}\n${USAGE}`);
    Deno.exit(2);
  }
  if (setBackend(args.backend) === "wasm") setThreads(args.threads || defaultThreads());
  await whenThreadsReady();
  console.log(JSON.stringify(args.gen > 0 ? runGeneration(args) : runThroughput(args)));
}

function boolFlag(name: string, v: string): boolean {
  if (v !== "true" && v !== "false") throw new Error(`--${name} must be true or false, got "${v}"`);
  return v === "true";
}
