/**
 * Optimizer and gradient-clipping updates over parameters' storage: the optimizers (lib/optim) keep their
 * schedule, step counts and state layout, and hand the loops over values and gradients to these ops, which
 * run the update kernels (lib/kernels/optim.ts) in place. {@link FlatParams} gathers float32 parameters and
 * their gradients into one flat buffer each, so that AdamW updates a whole group in one kernel call.
 *
 * @module
 */
import { adamwUpdate, sgdMomentumUpdate, sgdUpdate } from "../../kernels/optim.ts";
import { wasmAvailable } from "../../kernels/wasm/runtime.ts";
import { adoptStorage } from "../grad.ts";
import { allocatePersistent } from "../storage.ts";
import type { Float, Tensor } from "../tensor.ts";

// `t`'s gradient, or null; throws (naming `owner` and `name`) when its length differs from the parameter's.
function gradOf(owner: string, name: string, t: Tensor): Float | null {
  const g = t.grad;
  if (g !== null && g.length !== t.size) {
    throw new Error(`${owner}.step: grad of "${name}" has ${g.length} elements, parameter has ${t.size}`);
  }
  return g;
}

/**
 * One AdamW update (`adamwUpdate`) of parameter `t` from its gradient, with moments `m` and `v` (storage of
 * `t`'s length) and `step` the parameter's 1-based step count. Returns false, changing nothing, when `t` has
 * no gradient; throws, naming `name`, when the gradient's length is wrong.
 */
export function adamwParam(
  name: string,
  t: Tensor,
  m: Float,
  v: Float,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): boolean {
  const g = gradOf("AdamW", name, t);
  if (g === null) return false;
  adamwUpdate(t.data, g, m, v, lr, beta1, beta2, eps, weightDecay, step);
  return true;
}

/**
 * One SGD update of parameter `t` from its gradient: plain (`sgdUpdate`) when `buf` is null, else with momentum
 * buffer `buf` (`sgdMomentumUpdate`). Returns false, changing nothing, when `t` has no gradient; throws, naming
 * `name`, when the gradient's length is wrong.
 */
export function sgdParam(
  name: string,
  t: Tensor,
  buf: Float | null,
  lr: number,
  momentum: number,
  weightDecay: number,
  nesterov: boolean,
): boolean {
  const g = gradOf("SGD", name, t);
  if (g === null) return false;
  if (buf === null) sgdUpdate(t.data, g, lr, weightDecay);
  else sgdMomentumUpdate(t.data, g, buf, lr, momentum, weightDecay, nesterov);
  return true;
}

/**
 * Float32 parameters whose values and gradient buffers were moved, in the given order, into one flat buffer
 * each (long-lived storage: the kernel memory on the CPU), so a run of them updates in one kernel call. Each
 * tensor's storage becomes a view of the flat buffer (storage taken from a tensor before is no longer its).
 */
export class FlatParams {
  readonly #tensors: readonly Tensor[];
  readonly #p: Float;
  readonly #g: Float;
  readonly #grads: Float[] = [];
  /** Total number of elements. */
  readonly size: number;

  /** Whether `tensors` can be flattened: all float32, where the WASM kernels (and their memory) exist. */
  static supported(tensors: readonly Tensor[]): boolean {
    return tensors.every((t) => t.dtype === "float32") && wasmAvailable();
  }

  /** Moves the values and gradient buffers of `tensors` (float32 leaves) into the flat buffers. */
  constructor(tensors: readonly Tensor[]) {
    this.#tensors = tensors;
    this.size = tensors.reduce((n, t) => n + t.size, 0);
    this.#p = allocatePersistent("float32", this.size);
    this.#g = allocatePersistent("float32", this.size);
    let off = 0;
    for (const t of tensors) {
      const view = (a: Float) => a.subarray(off, off + t.size);
      const grad = view(this.#g);
      adoptStorage(t, view(this.#p), grad, [this.#p, this.#g]);
      this.#grads.push(grad);
      off += t.size;
    }
  }

  /** Whether every tensor has its gradient now, in the flat buffer, and its values still in the flat buffer. */
  intact(): boolean {
    return this.#tensors.every((t, i) => t.grad === this.#grads[i] && t.data.buffer === this.#p.buffer);
  }

  /**
   * One AdamW update (`adamwUpdate`) of the flat elements [start, end) with moments `m` and `v` (flat storage
   * of {@link FlatParams.size} elements, laid out as the parameters are); only when {@link FlatParams.intact}.
   */
  adamw(
    start: number,
    end: number,
    m: Float,
    v: Float,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void {
    const [p, g, mm, vv] = [this.#p, this.#g, m, v].map((x) => x.subarray(start, end));
    adamwUpdate(p, g, mm, vv, lr, beta1, beta2, eps, weightDecay, step);
  }
}

/** Σ g² over the gradients of `tensors` (those with none are skipped), in order, accumulated in float64. */
export function gradNormSq(tensors: readonly Tensor[]): number {
  let sum = 0;
  for (const t of tensors) {
    const g = t.grad;
    if (g === null) continue;
    for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  }
  return sum;
}

/** Multiplies the gradients of `tensors` (those with none are skipped) by `s` in place. */
export function scaleGrads(tensors: readonly Tensor[], s: number): void {
  for (const t of tensors) {
    const g = t.grad;
    if (g === null) continue;
    for (let i = 0; i < g.length; i++) g[i] *= s;
  }
}
