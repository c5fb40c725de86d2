/**
 * The step's guard on the GPU, over named parameter tensors: from their gradients it writes the norm, the clip
 * coefficient, the non-finite flag (and the loss scale's update) into a small control array that the optimizers'
 * update kernels read (lib/kernels/webgpu/reduce.ts, optim.ts) — so a bad step is never applied and clipping
 * costs no pass of its own — and reads back afterwards what it found. lib/optim/gpu.ts's GpuGuard is this over an
 * optimizer's unique parameters.
 *
 * @module
 */
import {
  CONTROL,
  CONTROL_LENGTH,
  controlArray,
  GradStats,
  guardGpu,
  NONE,
} from "../../kernels/webgpu/reduce.ts";
import type { Gpu, GpuArray } from "../../kernels/webgpu/runtime.ts";
import type { GpuParam } from "./meter.ts";

/** What the guard found, read back from the GPU after the step. */
export interface GuardReading {
  /** The global L2 norm of the (unscaled) gradients before clipping; NaN on a flagged step. */
  norm: number;
  /** The first non-finite gradient value (parameters in order, then by index), or null. */
  nonFinite: { name: string; index: number; value: number } | null;
  /** A flagged step that could not be skipped (no dynamic loss scaling, or the scale at its minimum). */
  fatal: boolean;
  /** The loss scale in force for the next step (1 without scaling). */
  lossScale: number;
  /** Good steps since the scale last changed. */
  goodSteps: number;
}

/** Options of {@link GpuGuard}. */
export interface GpuGuardOptions {
  /** Clip the global gradient norm to this; 0 = no clipping. */
  readonly maxNorm: number;
  /** fp16's dynamic loss scaling. */
  readonly dynamic?: boolean;
  /** Initial loss scale (a resumed run's), default 1. */
  readonly lossScale?: number;
  /** Initial good-step count (a resumed run's), default 0. */
  readonly goodSteps?: number;
  /** Good steps in a row before the scale doubles. */
  readonly growthInterval?: number;
}

/**
 * The step's guard on the GPU, over the parameters in order: {@link StepGuard.record} writes, from their
 * gradients, the norm, the clip coefficient, the non-finite flag (and the loss scale's update) into
 * {@link StepGuard.control}, which the optimizer's `step(lr, control)` reads. A parameter without a gradient
 * counts as zeros.
 */
export class StepGuard {
  /** The control array the update kernels read (lib/kernels/webgpu/reduce.ts `CONTROL`). */
  readonly control: GpuArray;
  readonly #gpu: Gpu;
  readonly #params: readonly GpuParam[];
  readonly #stats: GradStats;
  readonly #sums: GpuArray;
  readonly #bad: GpuArray;
  readonly #options: GpuGuardOptions;
  #zeros: GpuArray | null = null;

  /** Prepares the guard for `params` (distinct tensors, on `gpu`), in this order. */
  constructor(gpu: Gpu, params: readonly GpuParam[], options: GpuGuardOptions) {
    this.#gpu = gpu;
    this.#params = [...params];
    this.#options = options;
    this.#stats = new GradStats(gpu, this.#params.map((p) => p.tensor.size));
    this.#sums = gpu.array(this.#params.length, "f32", true);
    this.#bad = gpu.array(2 * this.#params.length, "u32", true);
    this.control = controlArray(gpu, options.lossScale ?? 1, options.goodSteps ?? 0);
  }

  /** Records this step's guard from the parameters' gradients (nothing is read back). */
  record(): void {
    const grads = this.#params.map((p) => p.tensor.gpuGrad ?? this.#zerosFor(p.tensor.size));
    this.#stats.record(grads, this.#sums, this.#bad);
    guardGpu(this.#gpu, this.#sums, this.#bad, this.#params.length, this.control, {
      maxNorm: this.#options.maxNorm,
      dynamic: this.#options.dynamic,
      growthInterval: this.#options.growthInterval,
    });
  }

  /** Reads what the last {@link StepGuard.record} found (waits for the GPU to get there). */
  async read(): Promise<GuardReading> {
    const [c, bad] = await Promise.all([
      this.#gpu.read(this.control, 0, CONTROL_LENGTH),
      this.#gpu.readInts(this.#bad),
    ]);
    let nonFinite: GuardReading["nonFinite"] = null;
    if (c[CONTROL.flag] !== 0) {
      const t = c[CONTROL.bad];
      const index = bad[2 * t] >>> 0;
      if (t >= 0 && index !== NONE) {
        const value = new Float32Array(Int32Array.of(bad[2 * t + 1]).buffer)[0];
        nonFinite = { name: this.#params[t].name, index, value };
      }
    }
    return {
      norm: c[CONTROL.norm],
      nonFinite,
      fatal: c[CONTROL.fatal] !== 0,
      lossScale: c[CONTROL.scale],
      goodSteps: c[CONTROL.goodSteps],
    };
  }

  #zerosFor(n: number): GpuArray {
    if (this.#zeros === null || this.#zeros.length < n) {
      if (this.#zeros !== null) this.#gpu.release(this.#zeros);
      this.#zeros = this.#gpu.zeros(Math.max(n, ...this.#params.map((p) => p.tensor.size)), "f32", true);
    }
    return this.#zeros.length === n ? this.#zeros : this.#zeros.view(0, n);
  }
}

/** The steps a guard's `control` array has flagged and skipped so far (read back). */
export async function skippedSteps(control: GpuArray): Promise<number> {
  return (await control.gpu.read(control, CONTROL.skipped, 1))[0];
}
