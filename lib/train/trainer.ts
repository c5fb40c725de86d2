/**
 * The training loop, read top-down like nanoGPT's train.py. Each step: batch → forward → backward (k
 * micro-batches) → guard (non-finite values) → clip → optimizer step, then on their intervals: log, eval (and
 * sample, through a hook), checkpoint.
 *
 * What it takes comes in four groups: the {@link Learner} (model, parameters, optimizer, schedule, and how a step
 * updates them), the {@link TrainData} a model family gives (batches, its loss, its validation figures), the
 * {@link Intervals} and the caller's {@link TrainHooks}. Everything the loop touches that is random or positional
 * (batcher, dropout generator, optimizer moments, loss scale, interval sums) is part of {@link TrainerState}, so
 * a run resumed from a checkpoint logs exactly the metrics of a run that was never stopped.
 *
 * With every parameter on the GPU (`model.toGpu` before the optimizer is made) a step runs there: the guard
 * (norm, clip coefficient, non-finite flag: lib/optim/gpu.ts) is recorded after the backward pass and the
 * optimizer's update reads it, so a bad step is never applied; the host reads back only the losses, the guard
 * and, on log and detail steps, a few norms per tensor (lib/tensor/gpu/meter.ts).
 *
 * @module
 */
import type { BatchSource } from "../data/batcher.ts";
import { ActivationProbe, withProbe } from "../nn/probe.ts";
import { clipGradNorm, firstNonFinite, gradNorm } from "../optim/clip.ts";
import { GpuGuard, type GuardReading, paramsGpu } from "../optim/gpu.ts";
import type { NamedParam, Optimizer } from "../optim/param.ts";
import type { LrSchedule } from "../optim/schedule.ts";
import type { Rng, RngState } from "../random.ts";
import { readGradSync } from "../tensor/grad.ts";
import { getPrecision, setPrecision } from "../tensor/precision.ts";
import { withStep } from "../tensor/storage.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Gpu } from "../kernels/webgpu/runtime.ts";
import { noGrad } from "../tensor/grad.ts";
import {
  copyWeights,
  detailEvent,
  detailEventFromNorms,
  l2,
  layerRates,
  type MetricEvent,
  round3,
  updateRatios,
  updateRatiosFromNorms,
} from "./metrics.ts";
import { GpuStepMeter, type StepNorms } from "../tensor/gpu/meter.ts";
import type { LossScaleState, MixedPrecision } from "./precision.ts";

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

/** What is trained, and how one step updates it. */
export interface Learner {
  /** The model (trained in place). */
  model: TrainableModel;
  /** Its distinct parameters (tied weights once). */
  params: NamedParam[];
  /** The optimizer over `params`. */
  optimizer: Optimizer;
  /** Learning rate for a 0-based step index. */
  schedule: LrSchedule;
  /** Clip the global gradient norm to this (0 = no clipping). */
  gradClip: number;
  /**
   * Micro-batches per optimizer step (default 1): their gradients add up (each loss scaled by 1/k), so k
   * batches of B give the update of one batch of k·B (nanoGPT's gradient_accumulation_steps).
   */
  gradAccumSteps?: number;
  /**
   * 16-bit training (bf16/fp16): master weights, compute copies and the fp16 loss scaler over `params`. The loop
   * runs under its precision (every op rounds to the format) and puts the previous precision back at the end.
   */
  precision?: MixedPrecision;
}

/**
 * What a model family trains on. `loss` and `tokens` are methods, so the data of one family (say of `Batch`es)
 * is also data of the union of every family's batch type.
 */
export interface TrainData<B> {
  /** Training batches. */
  batcher: BatchSource<B>;
  /** Fixed validation batches. */
  evalBatches: readonly B[];
  /** The loss of one batch: the forward pass (in the step arena, with the tape on while training). */
  loss(batch: B): Tensor;
  /** Tokens a batch counts for throughput and `tokensSeen`. */
  tokens(batch: B): number;
  /** The family's own validation figures (e.g. `masked_accuracy`), computed after the validation loss. */
  evalMetrics?(): Record<string, number>;
  /**
   * {@link TrainData.evalMetrics} on any device (the model's outputs read back asynchronously): what a model on the
   * GPU is evaluated with (there, without it, `evalMetrics` is tried).
   */
  evalMetricsAsync?(): Promise<Record<string, number>>;
}

/** How long the loop runs, and how often it logs, evaluates and checkpoints (each also on the last step). */
export interface Intervals {
  /** Optimizer steps of the run. */
  maxSteps: number;
  /** A `train` line every this many steps. */
  log: number;
  /**
   * A `detail` line every this many steps (0 or absent: never): per-tensor gradient norm, weight norm and update
   * ratio, and per-block activation statistics (see `lib/nn/probe.ts`).
   */
  detail?: number;
  /** Validation every this many steps. */
  eval: number;
  /** A checkpoint every this many steps. */
  checkpoint: number;
}

/** What the caller does with what the loop produces. */
export interface TrainHooks {
  /** Receives every metric event (the runner appends it to metrics.jsonl). */
  log: (e: MetricEvent) => Promise<void>;
  /** Saves a checkpoint of the given state. */
  checkpoint: (s: TrainerState) => Promise<void>;
  /** Called after each evaluation (the runner writes samples). */
  afterEval?: (step: number, valLoss: number) => Promise<void>;
  /** Called on each train line. */
  progress?: (p: Progress) => void;
  /** Checked after every step; when it returns true the loop checkpoints and stops (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Resident memory of the process in MiB (the runner passes the process's RSS): logged as `rss_mb`. */
  memoryMb?: () => number;
  /** Monotonic clock in milliseconds (injectable for tests). */
  now?: () => number;
}

/** What {@link train} takes. */
export interface TrainOptions<B> {
  /** The model, its optimizer and schedule, and how a step updates them. */
  learner: Learner;
  /** The family's batches, loss and validation figures. */
  data: TrainData<B>;
  /** How long and how often. */
  intervals: Intervals;
  /** The caller's side: logging, checkpoints, samples, progress, stopping. */
  hooks: TrainHooks;
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

/** What {@link train} returns: the final state and the last losses. */
export interface TrainResult {
  /** The loop's position at the end. */
  state: TrainerState;
  /** The last step's train loss. */
  trainLoss: number | null;
  /** The last validation loss. */
  valLoss: number | null;
  /** Whether `shouldStop` ended the run before `maxSteps`. */
  interrupted: boolean;
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

/** Thrown when the loss or a gradient is NaN/Inf; names the step and the first bad tensor. */
export class NonFiniteError extends Error {
  /** Creates the error. */
  constructor(readonly step: number, readonly tensor: string, detail: string) {
    super(`step ${step}: ${detail}; first non-finite tensor: ${tensor}`);
    this.name = "NonFiniteError";
  }
}

/** Runs the loop from `start` to `intervals.maxSteps` (or until `hooks.shouldStop`). */
export async function train<B>(o: TrainOptions<B>, start: TrainerState): Promise<TrainResult> {
  const { learner, data, intervals: every, hooks } = o;
  const { model, params, optimizer, schedule, precision: mp } = learner;
  const k = learner.gradAccumSteps ?? 1;
  const now = hooks.now ?? (() => performance.now());
  // on the GPU (every parameter there): the guard of each step runs there too
  const gpu = paramsGpu("train", params);
  if (gpu !== null && mp !== undefined) {
    throw new Error(`train.precision ${mp.precision}: not on webgpu yet (train in fp32 there)`);
  }
  const guard = gpu === null ? null : new GpuGuard(gpu, params, { maxNorm: learner.gradClip });
  const meter = gpu === null ? null : new GpuStepMeter(gpu, params);
  const logAt = (step: number) => step % every.log === 0 || step === every.maxSteps;
  const detailAt = (step: number) => (every.detail ?? 0) > 0 && step % every.detail! === 0;
  // a step recorded on the GPU (the measured ones with the meter); `ahead`: the next one, recorded early
  const recordOnGpu = (step: number, lr: number) => {
    const measure = logAt(step) || detailAt(step) ? { meter: meter!, grads: detailAt(step) } : null;
    return recordGpuStep(learner, data, guard!, gpu!, step, lr, measure);
  };
  let ahead: GpuStep | null = null;
  const outerPrecision = getPrecision();
  if (mp !== undefined) {
    setPrecision(mp.precision);
    if (start.lossScale !== undefined) mp.setState(start.lossScale);
  }
  const s: TrainerState = { ...start };
  let lastTrain: number | null = null, lastVal: number | null = null;
  // the clock: training time since the last checkpoint (t0) and since the last train line (intervalStart)
  let t0 = now(), intervalStart = now(), intervalStartTokens = s.tokensSeen;
  const elapsedNow = () => s.elapsed + (now() - t0) / 1000;
  try {
    model.train();
    while (s.step < every.maxSteps) {
      const step = s.step + 1, lr = schedule(s.step);
      const logNow = logAt(step), detailNow = detailAt(step);
      const evalNow = step % every.eval === 0 || step === every.maxSteps;
      // whether the caller asked to stop (asked once per step: here when the GPU path needs it early)
      let stopAsked: boolean | undefined;

      let pass: { loss: number; tokens: number }, norm: number;
      // what measures the update: the weights from before (CPU), or their norms (GPU)
      let before: ArrayLike<number>[] | null = null, norms: StepNorms | null = null;
      if (guard !== null) {
        const recorded = ahead?.step === step ? ahead : recordOnGpu(step, lr);
        ahead = null;
        // after a step that logs, evaluates or checkpoints nothing, the next one is recorded before this one is
        // read back, so that the GPU works while the host waits (a non-finite step still fails the run with its
        // own step's error; the run stops there, with no checkpoint of the step recorded after it)
        const quiet = !logNow && !detailNow && !evalNow && step % every.checkpoint !== 0;
        if (quiet && step < every.maxSteps && !(stopAsked = hooks.shouldStop?.() ?? false)) {
          ahead = recordOnGpu(step + 1, schedule(step));
        }
        ({ norm, norms, ...pass } = await settleGpuStep(recorded, params));
        if (detailNow) await hooks.log(detailEventFromNorms(step, params, norms!));
      } else {
        // batch → forward → backward: k micro-batches, on the 16-bit compute weights under mixed precision
        const probe = detailNow ? new ActivationProbe() : null;
        const seed = (mp?.scale ?? 1) / k;
        pass = onComputeWeights(mp, () => forwardBackward(data, params, k, seed, step, probe));

        // guard → clip → step; on log and detail steps the weights from before measure the update
        before = logNow || detailNow ? copyWeights(params) : null;
        const gradNorms = detailNow ? [] : null;
        norm = withStep(() => update(learner, lr, step, s, gradNorms));
        const skipped = Number.isNaN(norm);
        if (detailNow && !skipped) await hooks.log(detailEvent(step, params, before!, gradNorms!, probe!));
      }
      // the step is done: its loss and tokens count
      s.step = step;
      s.tokensSeen += pass.tokens;
      s.intervalLoss += pass.loss;
      s.intervalSteps += 1;
      lastTrain = pass.loss;

      // log: the mean train loss of the interval
      if (logNow) {
        const dt = (now() - intervalStart) / 1000;
        const tokensPerS = dt > 0 ? (s.tokensSeen - intervalStartTokens) / dt : 0;
        const mean = s.intervalLoss / s.intervalSteps;
        await hooks.log({
          step,
          split: "train",
          loss: mean,
          lr,
          grad_norm: norm,
          tokens_per_s: Math.round(tokensPerS),
          elapsed_s: round3(elapsedNow()),
          update_ratio: before !== null
            ? updateRatios(params, before)
            : updateRatiosFromNorms(params, norms!),
          // with layer-wise rates (the optimizer's lrScale), each layer group's effective rate
          ...(optimizer.lrScale ? { layer_lr: layerRates(params, optimizer.lrScale, lr) } : {}),
          ...(hooks.memoryMb ? { rss_mb: Math.round(hooks.memoryMb()) } : {}),
          ...(mp?.dynamic ? { loss_scale: mp.scale, skipped_steps: s.intervalSkipped ?? 0 } : {}),
        });
        hooks.progress?.({
          step,
          maxSteps: every.maxSteps,
          loss: mean,
          valLoss: lastVal,
          tokensPerS,
          elapsed: elapsedNow(),
        });
        s.intervalLoss = 0;
        s.intervalSteps = 0;
        if (mp?.dynamic) s.intervalSkipped = 0;
        intervalStart = now();
        intervalStartTokens = s.tokensSeen;
      }

      // eval → sample (the afterEval hook); this time is not training time for throughput
      if (evalNow) {
        const pause = now();
        const v = gpu === null
          ? onComputeWeights(mp, () => validate(model, data))
          : await validateAsync(model, data, gpu);
        lastVal = v.loss;
        await hooks.log({
          step,
          split: "val",
          loss: v.loss,
          ppl: Math.exp(v.loss),
          elapsed_s: round3(elapsedNow()),
          ...v.metrics,
        });
        await hooks.afterEval?.(step, v.loss);
        intervalStart += now() - pause;
      }

      // checkpoint (also when asked to stop)
      const stop = stopAsked ?? hooks.shouldStop?.() ?? false;
      if (step % every.checkpoint === 0 || step === every.maxSteps || stop) {
        s.elapsed = elapsedNow();
        t0 = now();
        s.batcher = data.batcher.state();
        s.dropout = model.dropoutRng.state();
        if (mp?.dynamic) s.lossScale = mp.state();
        await hooks.checkpoint({ ...s });
      }
      if (stop && step < every.maxSteps) {
        return { state: s, trainLoss: lastTrain, valLoss: lastVal, interrupted: true };
      }
    }
    s.elapsed = elapsedNow();
    return { state: s, trainLoss: lastTrain, valLoss: lastVal, interrupted: false };
  } finally {
    setPrecision(outerPrecision);
  }
}

/**
 * Mean loss of the model over fixed batches, in eval mode, without the tape; `loss` maps a batch to its loss.
 * The training flag is put back.
 */
export function evaluate<B>(model: TrainableModel, batches: readonly B[], loss: (b: B) => Tensor): number {
  const wasTraining = model.training;
  model.eval();
  try {
    let total = 0;
    for (const b of batches) total += noGrad(() => withStep(() => loss(b).item()));
    return total / batches.length;
  } finally {
    model.train(wasTraining);
  }
}

/**
 * {@link evaluate} on any device: the losses are read asynchronously (a model on the GPU has no synchronous
 * reads), each batch in a step of `gpu` (null: host memory) so its arrays go back to the pool. The same sum in
 * the same order as `evaluate`.
 */
export async function evaluateAsync<B>(
  model: TrainableModel,
  batches: readonly B[],
  loss: (b: B) => Tensor,
  gpu: Gpu | null,
): Promise<number> {
  const wasTraining = model.training;
  model.eval();
  try {
    const values = batches.map((b) => noGrad(() => inStep(gpu, () => loss(b).itemAsync())));
    let total = 0;
    for (const v of values) total += await v;
    return total / batches.length;
  } finally {
    model.train(wasTraining);
  }
}

// `fn` as one step: its arrays (in host memory, or on `gpu`) are given back when it returns. On the GPU the few
// host arrays of a step (ids, masks) are plain ones, outside the CPU's step arena.
function inStep<T>(gpu: Gpu | null, fn: () => T): T {
  return gpu === null ? withStep(fn) : gpu.step(fn);
}

/** A step recorded on the GPU: what it drew, and its figures once the GPU gets there. */
interface GpuStep {
  /** The 1-based step. */
  step: number;
  /** Tokens of its batches. */
  tokens: number;
  /** Each micro-batch's loss. */
  losses: Promise<number>[];
  /** What its guard found. */
  reading: Promise<GuardReading>;
  /** What the meter measured (log and detail steps), else null. */
  norms: Promise<StepNorms> | null;
}

/**
 * Records one step on the GPU, waiting for nothing: batch → forward → backward (k micro-batches, each loss's
 * read recorded) → the guard (norm, clip coefficient, non-finite flag, lib/optim/gpu.ts) → the optimizer's
 * update, which reads the guard and changes nothing on a flagged step. With `measure` (log and detail steps)
 * the meter measures the update (and with `grads` the gradients). Every read is recorded here, before the next
 * step can overwrite what it reads; {@link settleGpuStep} waits for them.
 */
function recordGpuStep<B>(
  l: Learner,
  data: TrainData<B>,
  guard: GpuGuard,
  gpu: Gpu,
  step: number,
  lr: number,
  measure: { meter: GpuStepMeter; grads: boolean } | null,
): GpuStep {
  const k = l.gradAccumSteps ?? 1;
  const losses: Promise<number>[] = [];
  let tokens = 0;
  for (let micro = 0; micro < k; micro++) {
    const batch = data.batcher.next();
    tokens += data.tokens(batch);
    losses.push(inStep(gpu, () => {
      const loss = data.loss(batch);
      const value = loss.itemAsync();
      loss.backward(k === 1 ? undefined : new Float32Array([1 / k]));
      return value;
    }));
  }
  measure?.meter.beforeUpdate(measure.grads);
  guard.record();
  l.optimizer.step(lr, guard.control);
  measure?.meter.afterUpdate();
  l.optimizer.zeroGrad();
  return { step, tokens, losses, reading: guard.read(), norms: measure?.meter.read() ?? null };
}

/**
 * Waits for a recorded step's figures: a non-finite loss or gradient throws a {@link NonFiniteError} (the
 * step's update was not applied). Returns the mean loss, the tokens drawn, the gradient norm before clipping
 * and what the meter measured.
 */
async function settleGpuStep(
  r: GpuStep,
  params: readonly NamedParam[],
): Promise<{ loss: number; tokens: number; norm: number; norms: StepNorms | null }> {
  let lossSum = 0;
  for (const p of r.losses) {
    const value = await p;
    if (!Number.isFinite(value)) {
      throw new NonFiniteError(
        r.step,
        (await firstNonFiniteWeightAsync(params)) ?? "loss",
        `loss is ${value}`,
      );
    }
    lossSum += value;
  }
  const reading = await r.reading;
  if (reading.fatal) {
    const bad = reading.nonFinite;
    throw new NonFiniteError(
      r.step,
      bad === null ? "(unknown)" : `${bad.name}.grad`,
      bad === null ? "non-finite gradient" : `gradient is ${bad.value} at index ${bad.index}`,
    );
  }
  const norms = r.norms === null ? null : await r.norms;
  return { loss: lossSum / r.losses.length, tokens: r.tokens, norm: reading.norm, norms };
}

// Runs `fn` with the parameters pointed at their 16-bit compute copies (directly without mixed precision).
function onComputeWeights<T>(mp: MixedPrecision | undefined, fn: () => T): T {
  return mp === undefined ? fn() : mp.withComputeWeights(fn);
}

/**
 * batch → forward → backward of one step: k micro-batches, each backward seeded with `seed` (1/k, times the
 * fp16 loss scale) so their gradients add up outside the step arena where each one's activations live. The probe
 * (detail steps) watches the first. Returns the mean loss and the tokens drawn; a non-finite loss throws.
 */
function forwardBackward<B>(
  data: TrainData<B>,
  params: readonly NamedParam[],
  k: number,
  seed: number,
  step: number,
  probe: ActivationProbe | null,
): { loss: number; tokens: number } {
  let lossSum = 0, tokens = 0;
  for (let micro = 0; micro < k; micro++) {
    const batch = data.batcher.next();
    tokens += data.tokens(batch);
    lossSum += withStep(() => {
      const loss = probe !== null && micro === 0
        ? withProbe(probe, () => data.loss(batch))
        : data.loss(batch);
      const value = loss.item();
      if (!Number.isFinite(value)) {
        throw new NonFiniteError(step, firstNonFiniteWeight(params) ?? "loss", `loss is ${value}`);
      }
      if (seed === 1) loss.backward();
      else loss.backward(loss.dtype === "float64" ? new Float64Array([seed]) : new Float32Array([seed]));
      return value;
    });
  }
  return { loss: lossSum / k, tokens };
}

/**
 * guard → clip → step. A non-finite gradient throws, except under fp16 above the minimum loss scale: there the
 * step is skipped (its update dropped, the scale halved, counted in `s.intervalSkipped`). Returns the gradient
 * norm before clipping, NaN for a skipped step. `gradNorms` (detail steps) receives each tensor's norm.
 */
function update(l: Learner, lr: number, step: number, s: TrainerState, gradNorms: number[] | null): number {
  const { params, optimizer, precision: mp } = l;
  const bad = firstNonFinite(params);
  if (bad && mp?.canSkip()) {
    mp.skipStep();
    optimizer.zeroGrad();
    s.intervalSkipped = (s.intervalSkipped ?? 0) + 1;
    return NaN;
  }
  if (bad) {
    throw new NonFiniteError(
      step,
      `${bad.name}.grad`,
      `gradient is ${bad.value} at index ${bad.index}` +
        (mp?.dynamic ? ` (loss scale ${mp.scale}, the minimum)` : ""),
    );
  }
  mp?.unscale();
  if (gradNorms !== null) { for (const p of params) gradNorms.push(l2(readGradSync(p.tensor) ?? [])); }
  const norm = l.gradClip > 0 ? clipGradNorm(params, l.gradClip) : gradNorm(params);
  optimizer.step(lr);
  optimizer.zeroGrad();
  return norm;
}

// validate, on the GPU.
async function validateAsync<B>(
  model: TrainableModel,
  data: TrainData<B>,
  gpu: Gpu,
): Promise<{ loss: number; metrics: Record<string, number> }> {
  const loss = await evaluateAsync(model, data.evalBatches, (b) => data.loss(b), gpu);
  return { loss, metrics: (await data.evalMetricsAsync?.()) ?? data.evalMetrics?.() ?? {} };
}

// The validation loss and the family's figures.
function validate<B>(
  model: TrainableModel,
  data: TrainData<B>,
): { loss: number; metrics: Record<string, number> } {
  const loss = evaluate(model, data.evalBatches, (b) => data.loss(b));
  return { loss, metrics: data.evalMetrics?.() ?? {} };
}

// The first parameter holding a non-finite weight (what a non-finite loss is blamed on), or null.
function firstNonFiniteWeight(params: readonly NamedParam[]): string | null {
  for (const { name, tensor } of params) if (!allFinite(tensor.readSync())) return name;
  return null;
}

// firstNonFiniteWeight on any device (the weights read back).
async function firstNonFiniteWeightAsync(params: readonly NamedParam[]): Promise<string | null> {
  for (const { name, tensor } of params) if (!allFinite(await tensor.read())) return name;
  return null;
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}
