/**
 * SGD with optional (Nesterov) momentum and L2 weight decay, matching PyTorch's `torch.optim.SGD` with
 * dampening 0.
 *
 * @module
 */
import type { Gpu, GpuArray } from "../kernels/webgpu/runtime.ts";
import { sgdParam } from "../tensor/ops/optim.ts";
import { allocatePersistent } from "../tensor/storage.ts";
import type { Float, Tensor } from "../tensor/tensor.ts";
import {
  checkStateDict,
  type NamedParam,
  type Optimizer,
  type OptimizerState,
  uniqueParams,
} from "./param.ts";
import { paramsGpu } from "./gpu.ts";
import { gpuState, sgdParamGpu } from "../tensor/gpu/optim.ts";

export type { Optimizer, OptimizerState } from "./param.ts";

/** Options for {@link SGD}. */
export interface SGDOptions {
  /** Base learning rate (used when `step()` gets none). */
  lr: number;
  /** Momentum factor μ. Default 0 (plain SGD, no state). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (g + wd·p), applied to every parameter. Default 0. */
  weightDecay?: number;
  /** Each parameter's learning-rate multiplier (parameter groups, e.g. `layerLrScales`). Default 1. */
  lrScale?: (p: NamedParam) => number;
}

interface Slot {
  name: string;
  tensor: Tensor;
  /** Momentum buffer (parameter dtype), or null without momentum or on the GPU. */
  buf: Float | null;
  /** The momentum buffer on the GPU, for a parameter there (with momentum). */
  gpuBuf: GpuArray | null;
  /** Learning-rate multiplier. */
  scale: number;
}

/**
 * Stochastic gradient descent. With momentum μ: d = g + wd·p, buf = μ·buf + d, p -= lr·(nesterov ? d + μ·buf : buf).
 * Tied tensors are updated once (under their first name). With every parameter on the GPU (`model.toGpu` before the
 * optimizer is made), the momentum buffers live there and a step records the update kernels
 * (lib/kernels/webgpu/optim.ts), which read the step's guard (`step(lr, control)`).
 */
export class SGD implements Optimizer {
  /** Base learning rate, used when `step()` is called without one. */
  lr: number;
  /** Momentum factor. */
  readonly momentum: number;
  /** Whether the momentum is Nesterov's. */
  readonly nesterov: boolean;
  /** L2 weight decay. */
  readonly weightDecay: number;
  /** The per-parameter learning-rate multiplier it was made with (none: 1 for every parameter). */
  readonly lrScale?: (p: NamedParam) => number;
  #slots: Slot[];
  #step = 0;

  /** Creates the optimizer (with zero momentum buffers when momentum > 0). */
  constructor(params: readonly NamedParam[], opts: SGDOptions) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.lrScale = opts.lrScale;
    for (
      const [k, x] of [["lr", this.lr], ["momentum", this.momentum], [
        "weightDecay",
        this.weightDecay,
      ]] as const
    ) {
      if (!(Number.isFinite(x) && x >= 0)) {
        throw new Error(`SGD: ${k} must be a finite number >= 0, got ${x}`);
      }
    }
    if (this.nesterov && this.momentum <= 0) throw new Error("SGD: nesterov momentum needs momentum > 0");
    const unique = uniqueParams(params);
    const gpu = paramsGpu("SGD", unique);
    this.#gpu = gpu;
    this.#slots = unique.map((p) => ({
      name: p.name,
      tensor: p.tensor,
      buf: this.momentum > 0 && gpu === null ? allocatePersistent(p.tensor.dtype, p.tensor.size) : null,
      gpuBuf: this.momentum > 0 && gpu !== null ? gpuState(gpu, p.tensor) : null,
      scale: opts.lrScale?.(p) ?? 1,
    }));
  }

  /** The GPU the parameters and momentum buffers live on, or null. */
  readonly #gpu: Gpu | null;

  /** Number of `step()` calls made so far. */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * One update of every parameter whose gradient is not null, at learning rate `lr` (default: `this.lr`). On the
   * GPU, `control` is the step's guard (GpuGuard.control): the update multiplies each gradient by its coefficient
   * (clipping) and changes nothing when it flags a non-finite gradient.
   */
  step(lr: number = this.lr, control?: GpuArray): void {
    this.#step++;
    const gpu = this.#gpu;
    for (const s of this.#slots) {
      const scaled = lr * s.scale;
      if (gpu === null) {
        sgdParam(s.name, s.tensor, s.buf, scaled, this.momentum, this.weightDecay, this.nesterov);
        continue;
      }
      sgdParamGpu(
        s.tensor,
        s.gpuBuf,
        scaled,
        this.momentum,
        this.weightDecay,
        this.nesterov,
        control ?? null,
      );
    }
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const s of this.#slots) s.tensor.zeroGrad();
  }

  /** A copy of the state: `momentum_buffer.<name>` per parameter (Float32Array copies; none without momentum). */
  stateDict(): OptimizerState {
    if (this.#gpu !== null) {
      throw new Error("SGD.stateDict: the momentum buffers are on the GPU: use await stateDictAsync()");
    }
    const tensors: Record<string, Float32Array> = {};
    for (const s of this.#slots) {
      if (s.buf !== null) tensors[`momentum_buffer.${s.name}`] = new Float32Array(s.buf);
    }
    return { step: this.#step, tensors };
  }

  /** {@link SGD.stateDict} on any device: the momentum buffers of a GPU run are read back. */
  async stateDictAsync(): Promise<OptimizerState> {
    const gpu = this.#gpu;
    if (gpu === null) return this.stateDict();
    const tensors: Record<string, Float32Array> = {};
    for (const s of this.#slots) {
      if (s.gpuBuf !== null) tensors[`momentum_buffer.${s.name}`] = await gpu.read(s.gpuBuf);
    }
    return { step: this.#step, tensors };
  }

  /**
   * Restores a state from {@link SGD.stateDict} (copying it). Throws, changing nothing, if a buffer is missing or
   * mis-sized or an entry is unknown; the error names each one.
   */
  loadStateDict(sd: OptimizerState): void {
    const expected = new Map<string, number>();
    for (const s of this.#slots) {
      if (s.buf !== null || s.gpuBuf !== null) expected.set(`momentum_buffer.${s.name}`, s.tensor.size);
    }
    checkStateDict("SGD", sd, expected);
    this.#step = sd.step;
    for (const s of this.#slots) {
      const values = sd.tensors[`momentum_buffer.${s.name}`];
      if (s.gpuBuf !== null) this.#gpu!.write(s.gpuBuf, values);
      else s.buf?.set(values);
    }
  }
}
