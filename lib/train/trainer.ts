/**
 * The training loop: forward → loss → backward → NaN guard → clip → optimizer step, with periodic logging,
 * evaluation, sampling and checkpoints. Everything the loop touches that is random or positional (batcher,
 * dropout generator, optimizer moments, interval sums) is part of {@link TrainerState}, so a run resumed from a
 * checkpoint logs exactly the metrics of a run that was never stopped.
 *
 * @module
 */
import type { Batch, Batcher, BatcherState } from "../data/batcher.ts";
import type { GPT } from "../nn/models/gpt.ts";
import { clipGradNorm, firstNonFinite, gradNorm } from "../optim/clip.ts";
import { layerGroup, type NamedParam, type Optimizer } from "../optim/param.ts";
import type { LrSchedule } from "../optim/schedule.ts";
import type { RngState } from "../random.ts";
import { withArena } from "../kernels/wasm/runtime.ts";
import { noGrad } from "../tensor/tensor.ts";

/** One line of `metrics.jsonl`. */
export type MetricEvent =
  | {
    step: number;
    split: "train";
    loss: number;
    lr: number;
    grad_norm: number;
    tokens_per_s: number;
    elapsed_s: number;
    /** ‖Δθ‖ / ‖θ‖ of this step's update per layer group (`embed`, `h.<i>`, `head`). */
    update_ratio?: Record<string, number>;
  }
  | { step: number; split: "val"; loss: number; ppl: number; elapsed_s: number }
  | { step: number; split: "resume"; elapsed_s: number };

/** Thrown when the loss or a gradient is NaN/Inf; names the step and the first bad tensor. */
export class NonFiniteError extends Error {
  /** Creates the error. */
  constructor(readonly step: number, readonly tensor: string, detail: string) {
    super(`step ${step}: ${detail}; first non-finite tensor: ${tensor}`);
    this.name = "NonFiniteError";
  }
}

/** Position of the loop, saved in checkpoints. */
export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  /** Training tokens consumed. */
  tokensSeen: number;
  /** Training seconds so far (wall clock, across resumes). */
  elapsed: number;
  /** Sum of train losses since the last train log line. */
  intervalLoss: number;
  /** Steps since the last train log line. */
  intervalSteps: number;
  /** The batcher's position. */
  batcher: BatcherState;
  /** The model's dropout generator. */
  dropout: RngState;
}

/** Progress shown by the CLI. */
export interface Progress {
  /** Steps done. */
  step: number;
  /** Steps in the run. */
  maxSteps: number;
  /** Latest train loss (interval mean). */
  loss: number;
  /** Latest validation loss, if any yet. */
  valLoss: number | null;
  /** Throughput of the last interval. */
  tokensPerS: number;
  /** Seconds of training so far. */
  elapsed: number;
}

/** What the loop needs. */
export interface TrainerOptions {
  /** The model (trained in place). */
  model: GPT;
  /** Distinct parameters (tied weights once). */
  params: NamedParam[];
  /** The optimizer over `params`. */
  optimizer: Optimizer;
  /** Learning rate for 0-based step index. */
  schedule: LrSchedule;
  /** Training batches. */
  batcher: Batcher;
  /** Fixed validation batches. */
  evalBatches: Batch[];
  /** Cadence and limits. */
  maxSteps: number;
  /** Clip the global gradient norm to this (0 = no clipping). */
  gradClip: number;
  /**
   * Micro-batches per optimizer step (default 1): their gradients add up (each loss scaled by 1/k), so k
   * batches of B give the update of one batch of k·B (nanoGPT's gradient_accumulation_steps).
   */
  gradAccumSteps?: number;
  /** Train metrics every this many steps. */
  logInterval: number;
  /** Validation every this many steps (and at the end). */
  evalInterval: number;
  /** Checkpoint every this many steps (and at the end). */
  checkpointInterval: number;
  /** Receives every metric event (the runner appends it to metrics.jsonl). */
  log: (e: MetricEvent) => Promise<void>;
  /** Saves a checkpoint of the current state. */
  checkpoint: (s: TrainerState) => Promise<void>;
  /** Called after each evaluation (the runner writes samples). */
  afterEval?: (step: number, valLoss: number) => Promise<void>;
  /** Progress callback (each step). */
  progress?: (p: Progress) => void;
  /** Monotonic clock in milliseconds (injectable for tests). */
  now?: () => number;
  /** Checked after every step; when it returns true the loop checkpoints and stops (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** Mean loss of the model over fixed batches, in eval mode, without the tape. */
export function evaluate(model: GPT, batches: Batch[]): number {
  const wasTraining = model.training;
  model.eval();
  try {
    let total = 0;
    for (const b of batches) {
      const T = model.config.blockSize, B = b.x.length / T;
      total += noGrad(() => withArena(() => model.forward(b.x, B, T, { targets: b.y }).loss!.item()));
    }
    return total / batches.length;
  } finally {
    model.train(wasTraining);
  }
}

/** Runs the loop from `start` to `maxSteps`. Returns the final state and last losses. */
export async function train(
  o: TrainerOptions,
  start: TrainerState,
): Promise<{ state: TrainerState; trainLoss: number | null; valLoss: number | null; interrupted: boolean }> {
  const now = o.now ?? (() => performance.now());
  const s: TrainerState = { ...start };
  const T = o.model.config.blockSize, B = o.batcher.batchSize;
  let lastTrain: number | null = null, lastVal: number | null = null;
  let t0 = now(), intervalStart = now(), intervalTokens = 0;
  const elapsedNow = () => s.elapsed + (now() - t0) / 1000;
  o.model.train();
  while (s.step < o.maxSteps) {
    const lr = o.schedule(s.step);
    const step = s.step + 1;
    const k = o.gradAccumSteps ?? 1;
    // Each micro-batch's activations live in the arena (the kernel memory, reused every step); the gradients of
    // the parameters accumulate outside it.
    let lossSum = 0;
    for (let micro = 0; micro < k; micro++) {
      const batch = o.batcher.next();
      lossSum += withArena(() => {
        const { loss } = o.model.forward(batch.x, B, T, { targets: batch.y });
        const value = loss!.item();
        if (!Number.isFinite(value)) {
          const bad = firstNonFiniteData(o.params);
          throw new NonFiniteError(step, bad ?? "loss", `loss is ${value}`);
        }
        if (k === 1) loss!.backward();
        else {loss!.backward(
            loss!.dtype === "float64" ? new Float64Array([1 / k]) : new Float32Array([1 / k]),
          );}
        return value;
      });
    }
    const lossValue = lossSum / k;
    const logNow = step % o.logInterval === 0 || step === o.maxSteps;
    // on log steps, keep the weights from before the update to measure it per layer
    const before = logNow ? o.params.map((p) => p.tensor.data.slice()) : null;
    const norm = withArena(() => {
      const badGrad = firstNonFinite(o.params);
      if (badGrad) {
        throw new NonFiniteError(
          step,
          `${badGrad.name}.grad`,
          `gradient is ${badGrad.value} at index ${badGrad.index}`,
        );
      }
      const norm = o.gradClip > 0 ? clipGradNorm(o.params, o.gradClip) : gradNorm(o.params);
      o.optimizer.step(lr);
      o.optimizer.zeroGrad();
      return norm;
    });
    s.step = step;
    s.tokensSeen += B * T * k;
    s.intervalLoss += lossValue;
    s.intervalSteps += 1;
    intervalTokens += B * T * k;
    lastTrain = lossValue;
    if (logNow) {
      const dt = (now() - intervalStart) / 1000;
      const tokensPerS = dt > 0 ? intervalTokens / dt : 0;
      const mean = s.intervalLoss / s.intervalSteps;
      await o.log({
        step,
        split: "train",
        loss: mean,
        lr,
        grad_norm: norm,
        tokens_per_s: Math.round(tokensPerS),
        elapsed_s: round3(elapsedNow()),
        update_ratio: updateRatios(o.params, before!),
      });
      o.progress?.({
        step,
        maxSteps: o.maxSteps,
        loss: mean,
        valLoss: lastVal,
        tokensPerS,
        elapsed: elapsedNow(),
      });
      s.intervalLoss = 0;
      s.intervalSteps = 0;
      intervalStart = now();
      intervalTokens = 0;
    }
    if (step % o.evalInterval === 0 || step === o.maxSteps) {
      const pause = now();
      lastVal = evaluate(o.model, o.evalBatches);
      await o.log({
        step,
        split: "val",
        loss: lastVal,
        ppl: Math.exp(lastVal),
        elapsed_s: round3(elapsedNow()),
      });
      await o.afterEval?.(step, lastVal);
      // evaluation and sampling time is not training time for throughput
      const spent = now() - pause;
      intervalStart += spent;
    }
    const stop = o.shouldStop?.() ?? false;
    if (step % o.checkpointInterval === 0 || step === o.maxSteps || stop) {
      s.elapsed = elapsedNow();
      t0 = now();
      s.batcher = o.batcher.state();
      s.dropout = o.model.dropoutRng.state();
      await o.checkpoint({ ...s });
    }
    if (stop && step < o.maxSteps) {
      return { state: s, trainLoss: lastTrain, valLoss: lastVal, interrupted: true };
    }
  }
  s.elapsed = elapsedNow();
  return { state: s, trainLoss: lastTrain, valLoss: lastVal, interrupted: false };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function firstNonFiniteData(params: NamedParam[]): string | null {
  for (const { name, tensor } of params) {
    for (let i = 0; i < tensor.size; i++) if (!Number.isFinite(tensor.data[i])) return name;
  }
  return null;
}

/** ‖θ − θ_before‖ / ‖θ_before‖ per layer group (see `layerGroup`), rounded to 4 significant digits. */
function updateRatios(
  params: readonly NamedParam[],
  before: readonly ArrayLike<number>[],
): Record<string, number> {
  const sums = new Map<string, { d: number; w: number }>();
  params.forEach((p, i) => {
    const g = layerGroup(p.name);
    const acc = sums.get(g) ?? { d: 0, w: 0 };
    const now = p.tensor.data, old = before[i];
    for (let j = 0; j < now.length; j++) {
      const diff = now[j] - old[j];
      acc.d += diff * diff;
      acc.w += old[j] * old[j];
    }
    sums.set(g, acc);
  });
  const out: Record<string, number> = {};
  for (const [g, { d, w }] of sums) out[g] = w > 0 ? Number(Math.sqrt(d / w).toPrecision(4)) : 0;
  return out;
}
