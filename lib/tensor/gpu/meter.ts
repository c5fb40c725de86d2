/**
 * The figures of a step on the GPU that train and detail lines report — per tensor: the gradient's and the
 * weights' squared norms and the squared norm of the update — reduced there (GradStats: fixed order, f32), so
 * that only a few numbers per tensor are read back. The GPU twin of the copies and loops of lib/train/metrics.ts.
 *
 * @module
 */
import { scaleGpu } from "../../kernels/webgpu/arith.ts";
import { addVecGpu } from "../../kernels/webgpu/bias.ts";
import { GradStats } from "../../kernels/webgpu/reduce.ts";
import type { Gpu, GpuArray } from "../../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor.ts";

/** A parameter tensor with its name (lib/optim's NamedParam). */
export interface GpuParam {
  /** Dotted parameter name. */
  readonly name: string;
  /** The tensor, on the GPU. */
  readonly tensor: Tensor;
}

/** Squared L2 norms per parameter tensor (in the order of the meter's parameters). */
export interface StepNorms {
  /** Of the gradient before clipping (detail steps; zeros for a tensor without one), else null. */
  grad: Float32Array | null;
  /** Of the weights before the update. */
  before: Float32Array;
  /** Of the update θ − θ_before. */
  diff: Float32Array;
  /** Of the weights after the update. */
  after: Float32Array;
}

/**
 * Measures one step's update on the GPU: {@link GpuStepMeter.beforeUpdate} before the optimizer's step,
 * {@link GpuStepMeter.afterUpdate} after it, then {@link GpuStepMeter.read}.
 */
export class GpuStepMeter {
  readonly #gpu: Gpu;
  readonly #params: readonly GpuParam[];
  readonly #stats: GradStats;
  readonly #bad: GpuArray;
  readonly #sums: { grad: GpuArray; before: GpuArray; diff: GpuArray; after: GpuArray };
  #copies: GpuArray[] | null = null;
  #withGrads = false;

  /** Prepares the meter for `params` (distinct tensors, on `gpu`). */
  constructor(gpu: Gpu, params: readonly GpuParam[]) {
    this.#gpu = gpu;
    this.#params = params;
    const n = params.length;
    this.#stats = new GradStats(gpu, params.map((p) => p.tensor.size));
    this.#bad = gpu.array(2 * n, "u32", true);
    const sums = () => gpu.array(n, "f32", true);
    this.#sums = { grad: sums(), before: sums(), diff: sums(), after: sums() };
  }

  /**
   * Records, before the update: the weights' norms and a copy of them, and with `grads` the gradients' norms
   * (a tensor without a gradient counts as zeros).
   */
  beforeUpdate(grads: boolean): void {
    const gpu = this.#gpu, weights = this.#weights();
    this.#withGrads = grads;
    if (grads) {
      const zeros: GpuArray[] = [];
      const g = this.#params.map((p) => {
        if (p.tensor.gpuGrad !== null) return p.tensor.gpuGrad;
        const z = gpu.zeros(p.tensor.size, "f32", true);
        zeros.push(z);
        return z;
      });
      this.#stats.record(g, this.#sums.grad, this.#bad);
      for (const z of zeros) gpu.release(z);
    }
    this.#copies = weights.map((w) => {
      const c = gpu.array(w.length, "f32", true);
      gpu.copy(w, c);
      return c;
    });
    this.#stats.record(this.#copies, this.#sums.before, this.#bad);
  }

  /** Records, after the update: the norms of the update (θ − θ_before) and of the weights. */
  afterUpdate(): void {
    const gpu = this.#gpu, weights = this.#weights(), copies = this.#copies;
    if (copies === null) throw new Error("GpuStepMeter.afterUpdate: beforeUpdate was not called");
    copies.forEach((c, i) => {
      scaleGpu(gpu, c, -1, c);
      addVecGpu(gpu, c, weights[i], c, c.length);
    });
    this.#stats.record(copies, this.#sums.diff, this.#bad);
    this.#stats.record(weights, this.#sums.after, this.#bad);
    for (const c of copies) gpu.release(c);
    this.#copies = null;
  }

  /** Reads back what the last step recorded. */
  async read(): Promise<StepNorms> {
    const gpu = this.#gpu, s = this.#sums;
    const [grad, before, diff, after] = await Promise.all([
      this.#withGrads ? gpu.read(s.grad) : Promise.resolve(null),
      gpu.read(s.before),
      gpu.read(s.diff),
      gpu.read(s.after),
    ]);
    return { grad, before: before!, diff: diff!, after: after! };
  }

  #weights(): GpuArray[] {
    return this.#params.map((p) => p.tensor.gpu!);
  }
}
