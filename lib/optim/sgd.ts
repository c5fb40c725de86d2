/**
 * SGD with optional (Nesterov) momentum and L2 weight decay, matching PyTorch's `torch.optim.SGD` with
 * dampening 0.
 *
 * @module
 */
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
  /** Momentum buffer (parameter dtype), or null without momentum. */
  buf: Float | null;
  /** Learning-rate multiplier. */
  scale: number;
}

/**
 * Stochastic gradient descent. With momentum μ: d = g + wd·p, buf = μ·buf + d, p -= lr·(nesterov ? d + μ·buf : buf).
 * Tied tensors are updated once (under their first name).
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
    this.#slots = uniqueParams(params).map((p) => ({
      name: p.name,
      tensor: p.tensor,
      buf: this.momentum > 0 ? allocatePersistent(p.tensor.dtype, p.tensor.size) : null,
      scale: opts.lrScale?.(p) ?? 1,
    }));
  }

  /** Number of `step()` calls made so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** One update of every parameter whose gradient is not null, at learning rate `lr` (default: `this.lr`). */
  step(lr: number = this.lr): void {
    this.#step++;
    for (const s of this.#slots) {
      sgdParam(s.name, s.tensor, s.buf, lr * s.scale, this.momentum, this.weightDecay, this.nesterov);
    }
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const s of this.#slots) s.tensor.zeroGrad();
  }

  /** A copy of the state: `momentum_buffer.<name>` per parameter (Float32Array copies; none without momentum). */
  stateDict(): OptimizerState {
    const tensors: Record<string, Float32Array> = {};
    for (const s of this.#slots) {
      if (s.buf !== null) tensors[`momentum_buffer.${s.name}`] = new Float32Array(s.buf);
    }
    return { step: this.#step, tensors };
  }

  /**
   * Restores a state from {@link SGD.stateDict} (copying it). Throws, changing nothing, if a buffer is missing or
   * mis-sized or an entry is unknown; the error names each one.
   */
  loadStateDict(sd: OptimizerState): void {
    const expected = new Map<string, number>();
    for (const s of this.#slots) if (s.buf !== null) expected.set(`momentum_buffer.${s.name}`, s.tensor.size);
    checkStateDict("SGD", sd, expected);
    this.#step = sd.step;
    for (const s of this.#slots) if (s.buf !== null) s.buf.set(sd.tensors[`momentum_buffer.${s.name}`]);
  }
}
