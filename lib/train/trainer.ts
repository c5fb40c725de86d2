/**
 * The training loop: forward → loss → backward → NaN guard → clip → optimizer step, with periodic logging,
 * evaluation, sampling and checkpoints. Everything the loop touches that is random or positional (batcher,
 * dropout generator, optimizer moments, interval sums) is part of {@link TrainerState}, so a run resumed from a
 * checkpoint logs exactly the metrics of a run that was never stopped.
 *
 * @module
 */
import type { Batch } from "../data/batcher.ts";
import { clipGradNorm, firstNonFinite, gradNorm } from "../optim/clip.ts";
import { layerGroup, type NamedParam, type Optimizer } from "../optim/param.ts";
import type { LrSchedule } from "../optim/schedule.ts";
import type { Rng, RngState } from "../random.ts";
import { withArena } from "../kernels/wasm/runtime.ts";
import { getPrecision, setPrecision } from "../tensor/precision.ts";
import { noGrad, type Tensor } from "../tensor/tensor.ts";
import type { LossScaleState, MixedPrecision } from "./precision.ts";
import { ActivationProbe, type BlockStats, withProbe } from "../nn/probe.ts";

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
    /** With layer-wise learning rates: the effective rate of each layer group at this step. */
    layer_lr?: Record<string, number>;
    /** Resident memory of the process (MiB) when the line was logged. */
    rss_mb?: number;
    /** fp16: the loss scale after this step. */
    loss_scale?: number;
    /** fp16: steps skipped since the last train line because a gradient overflowed (their updates were dropped). */
    skipped_steps?: number;
  }
  | {
    step: number;
    split: "val";
    loss: number;
    ppl: number;
    elapsed_s: number;
    /** bert: the share of masked positions whose most likely token is the original one. */
    masked_accuracy?: number;
    /** t5: the share of held-out examples decoded exactly (greedy). */
    exact_match?: number;
  }
  | { step: number; split: "resume"; elapsed_s: number }
  | {
    step: number;
    split: "detail";
    /** Per parameter tensor (model order): gradient norm (before clipping), weight norm, ‖Δθ‖ / ‖θ‖ of the step. */
    params: { name: string; grad_norm: number; weight_norm: number; update_ratio: number }[];
    /** Per block (forward order) on the step's first micro-batch: output mean and std, dead GELU share. */
    blocks: BlockStats[];
  };

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
  /** The batcher's position (what its `state()` returned). */
  batcher: unknown;
  /** The model's dropout generator. */
  dropout: RngState;
  /** fp16: the loss scaler's position (absent for fp32/bf16 and in older checkpoints). */
  lossScale?: LossScaleState;
  /** fp16: skipped steps since the last train line. */
  intervalSkipped?: number;
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

/** What the loop needs of a model: train/eval modes and its dropout generator (part of a checkpoint). */
export interface TrainableModel {
  /** Whether the model is in training mode. */
  readonly training: boolean;
  /** Sets training mode (dropout on). */
  train(on?: boolean): unknown;
  /** Sets evaluation mode. */
  eval(): unknown;
  /** The generator of every dropout mask. */
  readonly dropoutRng: Rng;
}

/** A model that maps (B, T) token ids and targets to a loss: GPT (next token) and Bert (masked tokens). */
export interface LanguageModel extends TrainableModel {
  /** Its shape; every batch row holds blockSize tokens. */
  readonly config: { readonly blockSize: number };
  /** Logits and, with targets, the mean loss. */
  forward(idx: Int32Array, B: number, T: number, opts: { targets?: Int32Array }): { loss: Tensor | null };
}

/** Where training batches come from: the next batch, and a position to save in checkpoints. */
export interface BatchSource<Bt> {
  /** The next batch. */
  next(): Bt;
  /** The position, saved in checkpoints (JSON). */
  state(): unknown;
}

/** The loss of one (x, y) batch of a {@link LanguageModel}: rows of `config.blockSize` tokens. */
export function languageModelLoss(model: LanguageModel): (b: Batch) => Tensor {
  return (b) => {
    const T = model.config.blockSize;
    const loss = model.forward(b.x, b.x.length / T, T, { targets: b.y }).loss;
    if (loss === null) throw new Error("the model returned no loss for a batch with targets");
    return loss;
  };
}

/** What the loop needs. */
export interface TrainerOptions<Bt = Batch> {
  /**
   * The model (trained in place). Without `loss` it must be a {@link LanguageModel} and batches (x, y) pairs.
   */
  model: TrainableModel;
  /**
   * The loss of one batch (forward pass; called inside the step arena, with the tape on while training). Default:
   * {@link languageModelLoss} of the model.
   */
  loss?: (batch: Bt) => Tensor;
  /** Tokens a batch counts for throughput and `tokensSeen` (default: the length of its `x`). */
  tokensOf?: (batch: Bt) => number;
  /** Extra figures for each validation line (e.g. `masked_accuracy`), computed after the validation loss. */
  evalMetrics?: () => { masked_accuracy?: number; exact_match?: number };
  /** Distinct parameters (tied weights once). */
  params: NamedParam[];
  /** The optimizer over `params`. */
  optimizer: Optimizer;
  /** Learning rate for 0-based step index. */
  schedule: LrSchedule;
  /** Training batches. */
  batcher: BatchSource<Bt>;
  /** Fixed validation batches. */
  evalBatches: Bt[];
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
  /**
   * Every this many steps (0 or absent: never), a `detail` event: per-tensor gradient norm, weight norm and
   * update ratio, and per-block activation statistics (see `lib/nn/probe.ts`).
   */
  detailInterval?: number;
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
  /**
   * 16-bit training (bf16/fp16): master weights, compute copies and the fp16 loss scaler over `params`. The loop
   * runs under its precision (every op rounds to the format) and puts the previous precision back at the end.
   */
  precision?: MixedPrecision;
  /** Resident memory of the process in MiB (the runner passes the process's RSS): logged as `rss_mb`. */
  memoryMb?: () => number;
}

/**
 * Mean loss of the model over fixed batches, in eval mode, without the tape. `loss` maps a batch to its loss
 * (default: {@link languageModelLoss}, for (x, y) batches of a {@link LanguageModel}).
 */
export function evaluate<Bt = Batch>(
  model: TrainableModel,
  batches: readonly Bt[],
  loss: (b: Bt) => Tensor = defaultLoss<Bt>(model),
): number {
  const wasTraining = model.training;
  model.eval();
  try {
    let total = 0;
    for (const b of batches) total += noGrad(() => withArena(() => loss(b).item()));
    return total / batches.length;
  } finally {
    model.train(wasTraining);
  }
}

function defaultLoss<Bt>(model: TrainableModel): (b: Bt) => Tensor {
  const m = model as Partial<LanguageModel>;
  if (typeof m.forward !== "function" || typeof m.config?.blockSize !== "number") {
    throw new Error(
      "train/evaluate: the model is not a language model; pass a `loss` function for its batches",
    );
  }
  return languageModelLoss(model as LanguageModel) as unknown as (b: Bt) => Tensor;
}

/** Runs the loop from `start` to `maxSteps`. Returns the final state and last losses. */
export async function train<Bt = Batch>(
  o: TrainerOptions<Bt>,
  start: TrainerState,
): Promise<{ state: TrainerState; trainLoss: number | null; valLoss: number | null; interrupted: boolean }> {
  const mp = o.precision;
  const outerPrecision = getPrecision();
  if (mp !== undefined) {
    setPrecision(mp.precision);
    if (start.lossScale !== undefined) mp.setState(start.lossScale);
  }
  try {
    return await trainLoop(o, start, mp);
  } finally {
    setPrecision(outerPrecision);
  }
}

async function trainLoop<Bt>(
  o: TrainerOptions<Bt>,
  start: TrainerState,
  mp: MixedPrecision | undefined,
): Promise<{ state: TrainerState; trainLoss: number | null; valLoss: number | null; interrupted: boolean }> {
  const now = o.now ?? (() => performance.now());
  const s: TrainerState = { ...start };
  const lossOf = o.loss ?? defaultLoss<Bt>(o.model);
  const tokensOf = o.tokensOf ?? ((b: Bt) => (b as { x: ArrayLike<number> }).x.length);
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
    let lossSum = 0, stepTokens = 0;
    // the seed of each micro-batch's backward: 1/k, times the loss scale under fp16
    const seed = (mp?.scale ?? 1) / k;
    const detailNow = (o.detailInterval ?? 0) > 0 && step % o.detailInterval! === 0;
    const probe = detailNow ? new ActivationProbe() : null;
    const forwardBackward = () => {
      for (let micro = 0; micro < k; micro++) {
        const batch = o.batcher.next();
        stepTokens += tokensOf(batch);
        lossSum += withArena(() => {
          const loss = probe !== null && micro === 0 ? withProbe(probe, () => lossOf(batch)) : lossOf(batch);
          const value = loss.item();
          if (!Number.isFinite(value)) {
            const bad = firstNonFiniteData(o.params);
            throw new NonFiniteError(step, bad ?? "loss", `loss is ${value}`);
          }
          if (seed === 1) loss.backward();
          else loss.backward(loss.dtype === "float64" ? new Float64Array([seed]) : new Float32Array([seed]));
          return value;
        });
      }
    };
    if (mp !== undefined) mp.withComputeWeights(forwardBackward);
    else forwardBackward();
    const lossValue = lossSum / k;
    const logNow = step % o.logInterval === 0 || step === o.maxSteps;
    // on log and detail steps, keep the weights from before the update to measure it per layer and tensor
    const before = logNow || detailNow ? o.params.map((p) => p.tensor.data.slice()) : null;
    let gradNorms: number[] | null = null;
    const norm = withArena(() => {
      const badGrad = firstNonFinite(o.params);
      if (badGrad && mp?.canSkip()) {
        // fp16 overflow: drop this step's update, halve the loss scale, go on
        mp.skipStep();
        o.optimizer.zeroGrad();
        s.intervalSkipped = (s.intervalSkipped ?? 0) + 1;
        return NaN;
      }
      if (badGrad) {
        throw new NonFiniteError(
          step,
          `${badGrad.name}.grad`,
          `gradient is ${badGrad.value} at index ${badGrad.index}` +
            (mp?.dynamic ? ` (loss scale ${mp.scale}, the minimum)` : ""),
        );
      }
      mp?.unscale();
      if (detailNow) gradNorms = o.params.map((p) => l2(p.tensor.grad ?? []));
      const norm = o.gradClip > 0 ? clipGradNorm(o.params, o.gradClip) : gradNorm(o.params);
      o.optimizer.step(lr);
      o.optimizer.zeroGrad();
      return norm;
    });
    if (detailNow && gradNorms !== null) {
      await o.log({
        step,
        split: "detail",
        params: o.params.map((p, i) => {
          const w = l2(before![i]);
          return {
            name: p.name,
            grad_norm: sig4(gradNorms![i]),
            weight_norm: sig4(l2(p.tensor.data)),
            update_ratio: w > 0 ? sig4(l2diff(p.tensor.data, before![i]) / w) : 0,
          };
        }),
        blocks: probe!.blocks.map((b) => ({
          mean: sig4(b.mean),
          std: sig4(b.std),
          dead_gelu: b.dead_gelu === null ? null : sig4(b.dead_gelu),
        })),
      });
    }
    s.step = step;
    s.tokensSeen += stepTokens;
    s.intervalLoss += lossValue;
    s.intervalSteps += 1;
    intervalTokens += stepTokens;
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
        // with layer-wise rates (the optimizer's lrScale), each layer group's effective rate
        ...(o.optimizer.lrScale ? { layer_lr: layerRates(o.params, o.optimizer.lrScale, lr) } : {}),
        ...(o.memoryMb ? { rss_mb: Math.round(o.memoryMb()) } : {}),
        ...(mp?.dynamic ? { loss_scale: mp.scale, skipped_steps: s.intervalSkipped ?? 0 } : {}),
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
      if (mp?.dynamic) s.intervalSkipped = 0;
      intervalStart = now();
      intervalTokens = 0;
    }
    if (step % o.evalInterval === 0 || step === o.maxSteps) {
      const pause = now();
      const validate = () => {
        const loss = evaluate(o.model, o.evalBatches, lossOf);
        return { loss, extra: o.evalMetrics?.() ?? {} };
      };
      const v = mp !== undefined ? mp.withComputeWeights(validate) : validate();
      lastVal = v.loss;
      await o.log({
        step,
        split: "val",
        loss: lastVal,
        ppl: Math.exp(lastVal),
        elapsed_s: round3(elapsedNow()),
        ...v.extra,
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
      if (mp?.dynamic) s.lossScale = mp.state();
      await o.checkpoint({ ...s });
    }
    if (stop && step < o.maxSteps) {
      return { state: s, trainLoss: lastTrain, valLoss: lastVal, interrupted: true };
    }
  }
  s.elapsed = elapsedNow();
  return { state: s, trainLoss: lastTrain, valLoss: lastVal, interrupted: false };
}

function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function l2diff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function sig4(x: number): number {
  return Number(x.toPrecision(4));
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

/** The effective learning rate of each layer group (the scale of its first tensor: a group shares one depth). */
function layerRates(
  params: readonly NamedParam[],
  scale: (p: NamedParam) => number,
  lr: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of params) out[layerGroup(p.name)] ??= Number((lr * scale(p)).toPrecision(4));
  return out;
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
