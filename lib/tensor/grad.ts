/**
 * Where gradients live: an op hands each fresh gradient it makes to {@link accumulateGrad}, which adopts the
 * first one of an intermediate tensor as its gradient and adds later ones (giving their storage back to the step
 * arena); a parameter keeps one gradient buffer from step to step ({@link adoptStorage} moves it into an
 * optimizer's flat buffer); {@link gradBuffer} lets an op write a gradient in place. Whether ops record the tape
 * at all is the grad mode ({@link noGrad}).
 *
 * @module
 */
import { addVec } from "../kernels/bias.ts";
import type { Float } from "../kernels/types.ts";
import { copyInto } from "../kernels/wasm/runtime.ts";
import { readSync } from "./storage.ts";
import type { Tensor } from "./tensor.ts";

let gradEnabled = true;

/** Whether ops currently record the tape (false inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording the tape (inference, evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** The gradient buffers of leaf tensors, reused from step to step. */
const leafGrads = new WeakMap<Tensor, Float>();
/** Arrays whose views a tensor's storage or gradient buffer is: kept alive as long as the tensor. */
const storageOwners = new WeakMap<Tensor, Float[]>();

/**
 * Storage for a gradient of `t` that is not there yet: a leaf (a parameter) keeps one long-lived buffer across
 * steps, an intermediate gets fresh zeroed storage (from the arena inside a step).
 */
function newGradStorage(t: Tensor): Float {
  if (t.node !== null) {
    // every caller writes it in full (gradBuffer's contract, or a copy): no need to zero it
    return t.device.allocateUninitialized?.(t.dtype, t.size) ?? t.device.allocate(t.dtype, t.size);
  }
  const kept = leafGrads.get(t);
  const buf = kept !== undefined && kept.length === t.size
    ? kept
    : t.device.allocatePersistent(t.dtype, t.size);
  leafGrads.set(t, buf);
  return buf;
}

/**
 * Moves a leaf tensor's values and gradient buffer into caller-given storage (views into larger buffers, e.g.
 * an optimizer's flat parameter buffer): `data` receives the current values and becomes `t.data`; `grad`
 * becomes the buffer every later backward pass writes `t`'s gradient into (the current gradient, if any, is
 * copied there). `owners` are the arrays the views belong to; they stay alive as long as `t` does.
 */
export function adoptStorage(t: Tensor, data: Float, grad: Float, owners: Float[]): void {
  if (data.length !== t.size || grad.length !== t.size || data.constructor !== t.data.constructor) {
    throw new Error(
      `adoptStorage: storage for [${t.shape}] must be two ${t.dtype} arrays of ${t.size} elements`,
    );
  }
  data.set(t.data);
  t.data = data;
  if (t.grad !== null) {
    grad.set(t.grad);
    t.grad = grad;
  }
  leafGrads.set(t, grad);
  storageOwners.set(t, [...(storageOwners.get(t) ?? []), ...owners]);
}

/**
 * The storage an op may write `t`'s gradient into directly (instead of computing it apart and calling
 * {@link accumulateGrad}): `t.grad` itself with `accumulate` true when a gradient is already there, else new
 * storage (a leaf's long-lived buffer, or fresh zeroed storage) installed as `t.grad`, with `accumulate` false:
 * the op must then write every element. Null when `t` needs no gradient.
 */
export function gradBuffer(t: Tensor): { buf: Float; accumulate: boolean } | null {
  if (!t.requiresGrad) return null;
  if (t.grad !== null) return { buf: t.grad, accumulate: true };
  const buf = newGradStorage(t);
  t.grad = buf;
  return { buf, accumulate: false };
}

/**
 * Adds a fresh gradient `g` of `t` (full length, allocated by the caller for this call alone) into `t.grad` and
 * takes ownership of it: the first gradient of an intermediate tensor becomes its gradient without a copy;
 * otherwise `g` is added (or copied into a leaf's kept buffer) and its storage goes back to the step arena.
 */
export function accumulateGrad(t: Tensor, g: Float): void {
  if (!t.requiresGrad) return;
  if (t.grad === null && t.node !== null && g.length === t.size) {
    t.grad = g;
    return;
  }
  accumulateSharedGrad(t, g);
  t.device.release(g);
}

/**
 * Adds a gradient the caller keeps (the output's own gradient, passed on unchanged by `add` and `reshape`, and
 * the seed of a backward pass) into `t.grad`: copied into new storage the first time, added after that.
 */
export function accumulateSharedGrad(t: Tensor, g: Float): void {
  if (!t.requiresGrad) return;
  if (t.grad === null) {
    const buf = newGradStorage(t);
    copyInto(buf, g);
    t.grad = buf;
  } else addVec(t.grad, g, t.grad, t.grad.length); // the plain loop's bits; wasm on the pool where it can
}

/**
 * `t`'s gradient values now (on the CPU: the gradient's storage itself), or null when it has none; throws,
 * naming `await t.read()`, on a device that reads only asynchronously.
 */
export function readGradSync(t: Tensor): Float | null {
  return t.grad === null ? null : readSync(t, t.grad);
}
