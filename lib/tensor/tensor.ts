/**
 * The Tensor and the autograd tape.
 *
 * A {@link Tensor} is a flat typed array plus a shape (row-major, contiguous). Storage is `Float32Array` for
 * training; `Float64Array` tensors run through the same ops, which is how the gradient checks get float64
 * precision. Every op that may need a gradient records a {@link Node} (its parents and a backward closure) on
 * its output; {@link backward} walks those nodes in reverse topological order.
 *
 * @module
 */

import type { Float } from "../kernels/types.ts";
import { arenaFloat32, arenaRelease, residentFloat32 } from "../kernels/wasm/runtime.ts";
import { decode16, encode16, getPrecision, roundInPlace } from "./precision.ts";
export type { Float };

/** The element type of a tensor's storage. */
export type DType = "float32" | "float64";

/** The record an op leaves on its output: what it was computed from and how to send a gradient back. */
export interface Node {
  /** Op name, for error messages and debugging. */
  readonly op: string;
  /** Inputs that take part in differentiation. */
  readonly parents: readonly Tensor[];
  /** Given the gradient of the output, accumulates the gradients of the parents (via {@link accumulateGrad}). */
  readonly backward: (grad: Float) => void;
}

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

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Allocates zeroed storage of the given dtype. Inside a `withArena` scope float32 storage comes from the arena
 * (in the kernel memory, released when the scope ends); use {@link allocatePersistent} for storage that outlives
 * the scope.
 */
export function allocate(dtype: DType, n: number): Float {
  if (dtype === "float64") return new Float64Array(n);
  return arenaFloat32(n) ?? new Float32Array(n);
}

/**
 * Zeroed long-lived storage (parameters, optimizer state, caches): float32 goes into the kernel memory where
 * the WASM kernels use it in place, never into an arena.
 */
export function allocatePersistent(dtype: DType, n: number): Float {
  if (dtype === "float64") return new Float64Array(n);
  return residentFloat32(n) ?? new Float32Array(n);
}

/** A buffer an op keeps from its forward pass for its backward pass (see {@link saveForBackward}). */
export interface SavedBuffer {
  /** The values (float32 storage decoded from 16 bits, or the buffer itself). */
  read(): Float;
  /** Hands back what {@link SavedBuffer.read} returned, once the backward pass is done with it. */
  done(values: Float): void;
  /** Bytes it occupies while saved. */
  readonly bytes: number;
}

// Float32 staging storage for buffers that are kept as 16 bits: written by a forward kernel and encoded at once,
// or decoded into for one op's backward. Ops use it one at a time, so one (grown as needed) serves them all.
let staging: Float32Array | null = null;

function stagingFloat32(n: number): Float32Array {
  if (staging === null || staging.length < n) staging = residentFloat32(n) ?? new Float32Array(n);
  return staging.subarray(0, n);
}

function isStaging(buf: Float): boolean {
  return staging !== null && buf.buffer === staging.buffer && buf.byteOffset === staging.byteOffset;
}

function keepsHalf(dtype: DType): "bf16" | "fp16" | null {
  const p = getPrecision();
  return dtype === "float32" && p !== "fp32" && gradEnabled ? p : null;
}

/**
 * Storage for a large buffer an op computes in its forward pass only to hand it to {@link saveForBackward}
 * (attention probabilities, cross-entropy probabilities). Under a 16-bit precision with the tape on, that is
 * shared float32 staging storage, encoded to 16 bits as soon as it is saved, so the full-width buffer never
 * occupies the step's memory; otherwise it is {@link allocate}'s.
 */
export function allocateSaved(dtype: DType, n: number): Float {
  if (keepsHalf(dtype) === null) return allocate(dtype, n);
  const s = stagingFloat32(n);
  s.fill(0);
  return s;
}

/**
 * Keeps `buf` for the backward pass (storage from {@link allocateSaved} or {@link allocate} that nothing else
 * refers to). Under a 16-bit precision a float32 buffer is stored as 16-bit values (its float32 storage is free
 * at once: staging storage is reused, arena storage goes back to the arena), which halves what the op holds
 * between the passes; `read` decodes it. Otherwise (and when the tape is off) the buffer is kept as it is.
 */
export function saveForBackward(buf: Float): SavedBuffer {
  const p = keepsHalf(buf instanceof Float32Array ? "float32" : "float64");
  if (p === null) return { read: () => buf, done: () => {}, bytes: buf.byteLength };
  const n = buf.length, words = allocate("float32", Math.ceil(n / 2)) as Float32Array;
  const half = encode16(buf as Float32Array, p, new Uint16Array(words.buffer, words.byteOffset, n));
  if (!isStaging(buf)) arenaRelease(buf);
  return {
    read: () => decode16(half, p, stagingFloat32(n)),
    done: () => {},
    bytes: words.byteLength,
  };
}

/** A dense, row-major, contiguous n-dimensional array with an optional gradient. */
export class Tensor {
  /** Flat storage, row-major. */
  data: Float;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Accumulated gradient (same length as `data`), or null until a backward pass reaches this tensor. */
  grad: Float | null = null;
  /** Whether gradients flow to this tensor (true for parameters and for outputs of ops on them). */
  requiresGrad: boolean;
  /** The op that produced this tensor, when the tape was recording. */
  node: Node | null = null;
  /** Optional name (parameters carry their nanoGPT name), used in error messages. */
  name: string | undefined;

  /** Wraps existing storage; its length must equal the product of `shape`. */
  constructor(data: Float, shape: readonly number[], requiresGrad = false, name?: string) {
    if (data.length !== numel(shape)) {
      throw new Error(
        `Tensor: storage has ${data.length} elements but shape [${shape}] needs ${numel(shape)}`,
      );
    }
    this.data = data;
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
    this.name = name;
  }

  /** Zero-filled tensor. */
  static zeros(shape: readonly number[], dtype: DType = "float32", requiresGrad = false): Tensor {
    return new Tensor(allocate(dtype, numel(shape)), shape, requiresGrad);
  }

  /** Tensor filled with `value`. */
  static full(
    shape: readonly number[],
    value: number,
    dtype: DType = "float32",
    requiresGrad = false,
  ): Tensor {
    const t = Tensor.zeros(shape, dtype, requiresGrad);
    t.data.fill(value);
    return t;
  }

  /** Tensor from a plain array of numbers. */
  static from(values: ArrayLike<number>, shape: readonly number[], dtype: DType = "float32"): Tensor {
    const data = allocate(dtype, values.length);
    data.set(values as ArrayLike<number>);
    return new Tensor(data, shape);
  }

  /** Element type of the storage. */
  get dtype(): DType {
    return this.data instanceof Float64Array ? "float64" : "float32";
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new Error(`item(): tensor has ${this.data.length} elements, expected 1`);
    }
    return this.data[0];
  }

  /** A tensor sharing no storage with this one and cut from the tape. */
  detach(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** Sets the gradient to null (parameters call this before each accumulation window). */
  zeroGrad(): void {
    this.grad = null;
  }

  /** Runs reverse-mode differentiation from this scalar (or from `grad` for a non-scalar). */
  backward(grad?: Float): void {
    backward(this, grad);
  }
}

/** The gradient buffers of leaf tensors, reused from step to step. */
const leafGrads = new WeakMap<Tensor, Float>();
/** Arrays whose views a tensor's storage or gradient buffer is: kept alive as long as the tensor. */
const storageOwners = new WeakMap<Tensor, Float[]>();

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

// Storage for a gradient that is not there yet: a leaf (a parameter) keeps one long-lived buffer across steps,
// an intermediate gets fresh zeroed storage (from the arena inside a step).
function newGradStorage(t: Tensor): Float {
  if (t.node !== null) return allocate(t.dtype, t.size);
  const kept = leafGrads.get(t);
  const buf = kept !== undefined && kept.length === t.size ? kept : allocatePersistent(t.dtype, t.size);
  leafGrads.set(t, buf);
  return buf;
}

/**
 * Adds `g` into `t.grad`, allocating it on first use. `owned` says that the caller allocated `g` for this call
 * alone (with `allocate`, full length) and will not touch it again: then an intermediate tensor takes it as its
 * gradient without a copy, and otherwise it goes back to the step arena for reuse once added.
 */
export function accumulateGrad(t: Tensor, g: Float, owned = false): void {
  if (!t.requiresGrad) return;
  if (t.grad === null) {
    if (owned && t.node !== null && g.length === t.size) {
      t.grad = g;
      return;
    }
    // `g` is copied: ops may pass the same array to several parents.
    const buf = newGradStorage(t);
    buf.set(g);
    t.grad = buf;
  } else {
    const dst = t.grad;
    for (let i = 0; i < dst.length; i++) dst[i] += g[i];
  }
  if (owned) arenaRelease(g);
}

/**
 * Creates the output of an op: records a tape node when the tape is on and an input needs a gradient.
 * `backward` receives the output's gradient and must call {@link accumulateGrad} on the parents it feeds.
 * Under a 16-bit precision (`setPrecision`), float32 outputs are rounded to the format in place (all but
 * one-element outputs such as losses, and views of an input's storage).
 */
export function result(
  data: Float,
  shape: readonly number[],
  op: string,
  parents: readonly Tensor[],
  backward: (grad: Float) => void,
): Tensor {
  const needs = gradEnabled && parents.some((p) => p.requiresGrad);
  // 16-bit precision: the output holds what a 16-bit activation would. Not rounded: one-element outputs (losses
  // and other reductions stay float32) and views of an input's storage (reshape: rounding would change it)
  if (
    data instanceof Float32Array && data.length > 1 && getPrecision() !== "fp32" &&
    !parents.some((p) => p.data === data)
  ) roundInPlace(data);
  const out = new Tensor(data, shape, needs);
  if (needs) out.node = { op, parents, backward };
  return out;
}

/**
 * Reverse-mode differentiation from `root`. With no `grad`, `root` must have one element and is seeded with 1.
 * Gradients accumulate into `.grad` of every tensor that requires one; intermediate gradients are released
 * after use, leaf (parameter) gradients are kept.
 */
export function backward(root: Tensor, grad?: Float): void {
  if (!root.requiresGrad) {
    throw new Error("backward(): the tensor does not require a gradient (no parameter reaches it)");
  }
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new Error(`backward(): root has ${root.size} elements; pass its gradient explicitly`);
    }
    grad = root.dtype === "float64" ? new Float64Array([1]) : new Float32Array([1]);
  }
  // Iterative post-order DFS (deep models would overflow a recursive one).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const parents = t.node?.parents ?? [];
    if (i < parents.length) {
      top[1] = i + 1;
      const p = parents[i];
      if (p.requiresGrad && !seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  accumulateGrad(root, grad);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    if (t.node === null || t.grad === null) continue;
    // 16-bit precision: activation gradients are 16-bit values too (the root's seed, one-element tensors' and
    // the parameters' stay float32)
    if (t.grad instanceof Float32Array && t !== root && t.size > 1 && getPrecision() !== "fp32") {
      roundInPlace(t.grad);
    }
    t.node.backward(t.grad);
    // Free intermediate gradients and the graph as we go: the tape is single-use. The gradient's storage goes
    // back to the step arena (when it came from there) for the next gradient of the same size.
    arenaRelease(t.grad);
    t.grad = null;
    t.node = null;
  }
}
