/**
 * Optimizers on the GPU: the parameters' state (moments, momentum buffers) lives in persistent GPU arrays and the
 * updates are WGSL kernels (lib/kernels/webgpu/optim.ts) that read the step's guard — a small `control` array
 * ({@link GpuGuard}) holding the clip coefficient and the non-finite flag — so clipping costs no pass of its own
 * and a bad step is never applied. The host reads the guard's figures afterwards ({@link GpuGuard.read}).
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
} from "../kernels/webgpu/reduce.ts";
import type { Gpu, GpuArray } from "../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { type NamedParam, uniqueParams } from "./param.ts";

/**
 * The GPU every parameter lives on, or null when they all live in host memory; throws (naming one of each) when
 * some are on the GPU and some are not.
 */
export function paramsGpu(owner: string, params: readonly NamedParam[]): Gpu | null {
  const on = params.filter((p) => p.tensor.gpu !== null), off = params.filter((p) => p.tensor.gpu === null);
  if (on.length === 0) return null;
  if (off.length > 0) {
    throw new Error(
      `${owner}: "${on[0].name}" is on the GPU but "${
        off[0].name
      }" is not: move the whole model (model.toGpu) ` +
        "before making the optimizer",
    );
  }
  const gpu = on[0].tensor.gpu!.gpu;
  if (on.some((p) => p.tensor.gpu!.gpu !== gpu)) throw new Error(`${owner}: the parameters are on two GPUs`);
  return gpu;
}

/** A persistent zeroed GPU array per parameter (moments, momentum buffers). */
export function gpuState(gpu: Gpu, t: Tensor): GpuArray {
  return gpu.zeros(t.size, "f32", true);
}

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
 * The step's guard on the GPU, over the unique parameters in order: {@link GpuGuard.record} writes, from their
 * gradients, the norm, the clip coefficient, the non-finite flag (and the loss scale's update) into
 * {@link GpuGuard.control}, which the optimizer's `step(lr, control)` reads. A parameter without a gradient
 * counts as zeros.
 */
export class GpuGuard {
  /** The control array the update kernels read (lib/kernels/webgpu/reduce.ts `CONTROL`). */
  readonly control: GpuArray;
  readonly #gpu: Gpu;
  readonly #params: NamedParam[];
  readonly #stats: GradStats;
  readonly #sums: GpuArray;
  readonly #bad: GpuArray;
  readonly #options: GpuGuardOptions;
  #zeros: GpuArray | null = null;

  /** Prepares the guard for `params` (on `gpu`). */
  constructor(gpu: Gpu, params: readonly NamedParam[], options: GpuGuardOptions) {
    this.#gpu = gpu;
    this.#params = uniqueParams(params);
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

  /** Reads what the last {@link GpuGuard.record} found (waits for the GPU to get there). */
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
