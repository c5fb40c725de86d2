/**
 * End-to-end training throughput of the GPT, the counterpart of `bench/reference/torch_gpt.py`: the same model
 * (dropout 0, biases, tied head by default), AdamW (lr 3e-4, weight decay 0.01 on every parameter, as
 * `torch.optim.AdamW(model.parameters())`), one fixed batch of seeded random tokens, and the same step:
 * forward, loss, zero grad, backward, optimizer step. Runs `--warmup` untimed steps, then `--steps` timed ones,
 * and prints one JSON line.
 *
 * ```sh
 * deno run --allow-read --allow-env bench/train_throughput.ts --n-layer 4 --n-head 4 --n-embd 256 \
 *   --block-size 128 --batch-size 8 --vocab-size 512 [--steps 5] [--warmup 2] [--seed 0] [--tie true]
 * ```
 *
 * Every flag, with its default: {@link TRAIN_THROUGHPUT} (`--help`, docs/cli.md).
 *
 * @module
 */
import { generate } from "../lib/generate/generate.ts";
import { getBackend } from "../lib/kernels/backend.ts";
import { getThreads } from "../lib/kernels/wasm/pool.ts";
import { arenaCapacity, arenaPeakBytes, resetArenaPeak, withArena } from "../lib/kernels/wasm/runtime.ts";
import { GPT } from "../lib/nn/models/gpt.ts";
import { MODEL_FLAGS, type ModelArgs, modelArgs, PeakRss, round, selectBackend } from "./_common.ts";
import { type Command, type Parsed, runMain } from "../lib/experiment/cli/_command.ts";
import { AdamW } from "../lib/optim/adamw.ts";
import { Rng } from "../lib/random.ts";
import { type Precision, setPrecision } from "../lib/tensor/precision.ts";
import { MixedPrecision } from "../lib/train/precision.ts";
import { Gpu, gpuUnavailableReason } from "../lib/kernels/webgpu/runtime.ts";
import { GpuGuard } from "../lib/optim/gpu.ts";

/** Parsed command line. */
export interface ThroughputArgs extends ModelArgs {
  /** Sequences per step. */
  batch_size: number;
  /** Timed steps. */
  steps: number;
  /** Untimed steps before timing. */
  warmup: number;
  /** Recompute each block's activations in backward (activation checkpointing). */
  checkpointing: boolean;
  /** When > 0: measure greedy generation of this many tokens (batch 1) instead of training. */
  gen: number;
  /** Prompt length of the generation bench. */
  prompt: number;
  /** Timed generation runs per mode; the best is reported. */
  repeats: number;
  /** Number format of activations and compute weights (emulated 16-bit, float32 master weights). */
  precision: Precision;
  /** Train on the GPU (`--backend webgpu`) instead of a CPU backend. */
  webgpu: boolean;
}

/** The declaration of `bench/train_throughput.ts`. */
export const TRAIN_THROUGHPUT = {
  name: "train_throughput",
  run: "deno run --allow-read --allow-env bench/train_throughput.ts",
  description:
    "End-to-end training throughput of the GPT, the counterpart of bench/reference/torch_gpt.py: " +
    "the same model (dropout 0, biases, tied head by default), AdamW, one fixed batch of seeded random tokens, " +
    "and the same step (forward, loss, zero grad, backward, optimizer step); --warmup untimed steps, then " +
    "--steps timed ones. With --gen: greedy generation instead, with and without the KV cache. Prints one JSON " +
    "line.",
  positionals: [],
  flags: {
    ...MODEL_FLAGS,
    backend: {
      ...MODEL_FLAGS.backend,
      choices: [...MODEL_FLAGS.backend.choices, "webgpu"],
      description:
        "kernel backend (blas needs --allow-ffi; webgpu: Deno 2.9.6 has WebGPU, older versions need --unstable-webgpu)",
    },
    "batch-size": { type: "integer", min: 1, default: 8, description: "sequences per step" },
    steps: { type: "integer", min: 1, default: 5, description: "timed steps" },
    warmup: { type: "integer", min: 0, default: 2, description: "untimed steps first" },
    checkpointing: {
      type: "string",
      choices: ["true", "false"],
      default: "false",
      value: "BOOL",
      description: "recompute each block's activations in backward",
    },
    gen: {
      type: "integer",
      min: 0,
      default: 0,
      description:
        "instead of training: greedy generation of N tokens, batch 1, with and without the KV cache",
    },
    prompt: { type: "integer", min: 1, default: 1, description: "prompt tokens for --gen" },
    repeats: {
      type: "integer",
      min: 1,
      default: 3,
      description: "timed runs per mode for --gen, best reported",
    },
    precision: {
      type: "string",
      choices: ["fp32", "bf16", "fp16"],
      default: "fp32",
      value: "P",
      description: "number format of activations and compute weights (emulated 16-bit)",
    },
  },
  examples: [
    "deno run --allow-read --allow-env bench/train_throughput.ts --n-layer 4 --n-embd 256 --batch-size 8",
    "deno run --allow-read --allow-env bench/train_throughput.ts --gen 200 --threads 0",
    "deno run --allow-read --allow-env bench/train_throughput.ts --backend webgpu --n-layer 2 --n-embd 64 --block-size 32",
  ],
} as const satisfies Command;

/** The bench's arguments from its parsed command line; throws a UsageError naming a bad flag. */
export function throughputArgs({ values: v, typed }: Parsed<typeof TRAIN_THROUGHPUT>): ThroughputArgs {
  const webgpu = v.backend === "webgpu";
  return {
    ...modelArgs({ ...v, backend: v.backend === "webgpu" ? "auto" : v.backend }, typed),
    webgpu,
    batch_size: v["batch-size"],
    steps: v.steps,
    warmup: v.warmup,
    checkpointing: v.checkpointing === "true",
    gen: v.gen,
    prompt: v.prompt,
    repeats: v.repeats,
    precision: v.precision,
  };
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

// One batch of (batch, block+1) random tokens, reused every step: x = data[:, :-1], y = data[:, 1:].
function fixedBatch(a: ThroughputArgs): { x: Int32Array; y: Int32Array } {
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
  return { x, y };
}

/** Builds the model and optimizer, trains, and returns the JSON record. */
export function runThroughput(a: ThroughputArgs): Record<string, unknown> {
  const rss = new PeakRss();
  const model = buildModel(a, a.block_size);
  const opt = new AdamW(model.namedParameters(), { lr: 3e-4, decay: () => true });
  // as the trainer: master weights in the optimizer, a rounded compute copy for the passes, the loss scaled
  const mp = new MixedPrecision(model.namedParameters(), a.precision);
  setPrecision(a.precision);
  const B = a.batch_size, T = a.block_size, { x, y } = fixedBatch(a);
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
 * The same step on the GPU (`--backend webgpu`): the model moved there, AdamW reading the step's guard
 * (no clipping), the loss read back after each step (as the trainer does). Reports tokens/s over the wall clock,
 * the GPU's own time per step where the adapter has timestamps, and the dispatches and submissions per step.
 */
export async function runThroughputGpu(a: ThroughputArgs): Promise<Record<string, unknown>> {
  if (a.precision !== "fp32") throw new Error(`--precision ${a.precision}: not on webgpu yet (fp32 only)`);
  const gpu = await Gpu.open();
  if (gpu === null) {
    throw new Error(
      `--backend webgpu: ${gpuUnavailableReason() ?? "no WebGPU adapter"} (Debian: mesa-vulkan-drivers)`,
    );
  }
  const rss = new PeakRss();
  const model = buildModel(a, a.block_size).toGpu(gpu);
  const params = model.namedParameters();
  const opt = new AdamW(params, { lr: 3e-4, decay: () => true });
  const guard = new GpuGuard(gpu, params, { maxNorm: 0 });
  const B = a.batch_size, T = a.block_size, { x, y } = fixedBatch(a);
  let loss: Promise<number> = Promise.resolve(NaN);
  const record = () =>
    gpu.step(() => {
      opt.zeroGrad();
      const out = model.forward(x, B, T, { targets: y }).loss;
      if (out === null) throw new Error("GPT.forward returned no loss");
      out.backward();
      guard.record();
      opt.step(undefined, guard.control);
      loss = out.itemAsync();
    });
  const step = async (): Promise<{ loss: number; gpuNs: number | null }> => {
    const gpuNs = await gpu.timed(record);
    const value = await loss;
    rss.sample();
    return { loss: value, gpuNs };
  };
  for (let i = 0; i < a.warmup; i++) await step();
  const d0 = gpu.dispatches, s0 = gpu.submits;
  let last = { loss: NaN, gpuNs: null as number | null }, gpuNs = 0;
  const t0 = performance.now();
  for (let i = 0; i < a.steps; i++) {
    last = await step();
    gpuNs += last.gpuNs ?? 0;
  }
  const dt = (performance.now() - t0) / 1000;
  const peak = rss.read();
  return {
    tokens_per_s: round(B * T * a.steps / dt, 1),
    ms_per_step: round(1000 * dt / a.steps, 2),
    gpu_ms_per_step: last.gpuNs === null ? null : round(gpuNs / 1e6 / a.steps, 2),
    dispatches_per_step: round((gpu.dispatches - d0) / a.steps, 1),
    submits_per_step: round((gpu.submits - s0) / a.steps, 1),
    params: model.numParameters(),
    peak_rss_mb: round(peak.mb, 1),
    rss_source: peak.source,
    steps: a.steps,
    warmup: a.warmup,
    final_loss: round(last.loss, 4),
    backend: "webgpu",
    adapter: gpu.info.name,
    software: gpu.info.software,
    timer: gpu.info.timestamps ? "timestamp-query" : "wall clock",
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
  await runMain(TRAIN_THROUGHPUT, async (parsed) => {
    const args = throughputArgs(parsed);
    if (args.webgpu) {
      if (args.gen > 0) throw new Error("--gen: generation on webgpu is measured by the generation bench");
      console.log(JSON.stringify(await runThroughputGpu(args)));
      return;
    }
    await selectBackend(args.backend, args.threads);
    console.log(JSON.stringify(args.gen > 0 ? runGeneration(args) : runThroughput(args)));
  });
}
