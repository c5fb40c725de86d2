/**
 * The Tensor and the autograd tape. A {@link Tensor} is a shape (row-major, contiguous) over storage on a
 * {@link Device} (storage.ts): float32 for training, float64 through the same ops for the gradient checks. Every
 * op that may need a gradient records a {@link Node} (its parents and a backward closure) on its output;
 * {@link backward} walks those nodes in reverse topological order.
 *
 * @module
 */
import type { Float } from "../kernels/types.ts";
import { type Gpu, GpuArray } from "../kernels/webgpu/runtime.ts";
import { roundActivation, roundActivationGrad } from "./precision.ts";
import { accumulateSharedGrad, isGradEnabled } from "./grad.ts";
import { allocate, allocatePersistent, defaultDevice, type Device, type DType, readSync } from "./storage.ts";
import { gpuDevice } from "./gpu/device.ts";
import { gpuBackward } from "./gpu/tape.ts";
export type { DType, Float };

/** The record an op leaves on its output: what it was computed from and how to send a gradient back. */
export interface Node {
  /** Op name, for error messages and debugging. */
  readonly op: string;
  /** Inputs that take part in differentiation. */
  readonly parents: readonly Tensor[];
  /** Given the output's gradient, hands the parents theirs (`accumulateGrad`, lib/tensor/grad.ts). */
  readonly backward: (grad: Float) => void;
  /**
   * For an op on the GPU: given the output's gradient (a GPU array), hands the parents theirs
   * (`accumulateGpuGrad`, lib/tensor/gpu/grad.ts); `backward` is then never called.
   */
  readonly backwardGpu?: (grad: GpuArray) => void;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A dense, row-major, contiguous n-dimensional array with an optional gradient. */
export class Tensor {
  #data: Float | null;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Accumulated gradient (same length as `data`), or null until a backward pass reaches this tensor. */
  grad: Float | null = null;
  /**
   * The values on the GPU (lib/tensor/gpu), or null for a tensor whose values live in host memory. A tensor on the
   * GPU has no `data`: read it with `await t.read()`.
   */
  gpu: GpuArray | null = null;
  /** The gradient of a tensor on the GPU, on the GPU (null until a backward pass reaches it). */
  gpuGrad: GpuArray | null = null;
  /** Whether gradients flow to this tensor (true for parameters and for outputs of ops on them). */
  requiresGrad: boolean;
  /** The op that produced this tensor, when the tape was recording. */
  node: Node | null = null;
  /** Optional name (parameters carry their nanoGPT name), used in error messages. */
  name: string | undefined;
  /** The device the storage belongs to (the default device when the tensor was made; a GpuDevice for `gpu`). */
  device: Device = defaultDevice();

  /**
   * Wraps existing storage — host storage, or a float32 array on the GPU (the tensor then lives there); its length
   * must equal the product of `shape`.
   */
  constructor(data: Float | GpuArray, shape: readonly number[], requiresGrad = false, name?: string) {
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`Tensor: storage has ${data.length} elements; shape [${shape}] needs ${n}`);
    }
    if (data instanceof GpuArray) {
      if (data.kind !== "f32") throw new Error(`Tensor: a GPU array of ${data.kind} cannot hold a tensor`);
      this.#data = null;
      this.gpu = data;
    } else this.#data = data;
    this.shape = [...shape];
    this.size = n;
    this.requiresGrad = requiresGrad;
    this.name = name;
  }

  /**
   * The host storage, row-major, that the CPU ops and kernels compute on (elsewhere: `read`, `readSync`, `write`).
   * Throws for a tensor on the GPU, naming `await t.read()`.
   */
  get data(): Float {
    const d = this.#data;
    if (d === null) {
      throw new Error(
        `tensor ${
          this.name ?? `[${this.shape}]`
        } lives on the GPU (webgpu): its values are read with \`await t.read()\``,
      );
    }
    return d;
  }

  /** Points the tensor at new host storage (the tensor then lives in host memory). */
  set data(values: Float) {
    this.#data = values;
    this.gpu = null;
  }

  /** Zero-filled tensor. */
  static zeros(shape: readonly number[], dtype: DType = "float32", requiresGrad = false): Tensor {
    return new Tensor(allocate(dtype, numel(shape)), shape, requiresGrad);
  }

  /** Tensor filled with `value`. */
  static full(shape: readonly number[], value: number, dtype: DType = "float32"): Tensor {
    const t = Tensor.zeros(shape, dtype);
    t.data.fill(value);
    return t;
  }

  /** Tensor from a plain array of numbers. */
  static from(values: ArrayLike<number>, shape: readonly number[], dtype: DType = "float32"): Tensor {
    const t = new Tensor(allocate(dtype, values.length), shape);
    t.write(values);
    return t;
  }

  /** Element type of the storage (float32 on the GPU). */
  get dtype(): DType {
    return this.#data instanceof Float64Array ? "float64" : "float32";
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** A host copy of the values as they are now, once it is ready (the storage may change after the call). */
  read(): Promise<Float> {
    if (this.gpu !== null) return this.gpu.gpu.read(this.gpu);
    return this.device.read(this.data);
  }

  /** The values now (on the CPU: the storage itself); throws on a device that reads only asynchronously. */
  readSync(): Float {
    return readSync(this);
  }

  /** Copies `values` into the storage from element `offset` on. */
  write(values: ArrayLike<number>, offset = 0): void {
    if (this.gpu !== null) this.gpu.gpu.write(this.gpu, Float32Array.from(values), offset);
    else this.device.write(this.data, values, offset);
  }

  /** The single value of a one-element tensor (synchronous: see {@link Tensor.readSync}). */
  item(): number {
    if (this.size !== 1) throw new Error(`item(): tensor has ${this.size} elements, expected 1`);
    return this.readSync()[0];
  }

  /** The single value of a one-element tensor, once it is ready (works on every device). */
  async itemAsync(): Promise<number> {
    if (this.size !== 1) throw new Error(`itemAsync(): tensor has ${this.size} elements, expected 1`);
    return (await this.read())[0];
  }

  /** A tensor sharing no storage with this one and cut from the tape (host storage: use it on the CPU). */
  detach(): Tensor {
    if (this.gpu !== null) {
      const copy = this.gpu.gpu.array(this.size);
      this.gpu.gpu.copy(this.gpu, copy);
      const t = new Tensor(copy, this.shape);
      t.device = this.device;
      return t;
    }
    return new Tensor(this.data.slice(), this.shape);
  }

  /**
   * Moves the values to `gpu` (a persistent array; the host storage is dropped): the tensor lives there from now
   * on, and its ops run there. A tensor already on that GPU is left as it is.
   */
  toGpu(gpu: Gpu): this {
    if (this.gpu !== null) {
      if (this.gpu.gpu !== gpu) {
        throw new Error(`toGpu: tensor ${this.name ?? `[${this.shape}]`} is on another GPU`);
      }
      return this;
    }
    const values = this.data;
    if (values instanceof Float64Array) {
      throw new Error("toGpu: float64 tensors stay on the CPU (gradient checks)");
    }
    this.gpu = gpu.upload(values, true);
    this.#data = null;
    this.grad = null;
    this.device = gpuDevice(gpu);
    return this;
  }

  /** Brings the values of a tensor on the GPU back into host memory (the default device's persistent storage). */
  async toHost(): Promise<this> {
    const a = this.gpu;
    if (a === null) return this;
    const values = await a.gpu.read(a);
    a.gpu.release(a);
    if (this.gpuGrad !== null && this.gpuGrad.owner === null) a.gpu.release(this.gpuGrad);
    this.gpuGrad = null;
    this.device = defaultDevice();
    const home = allocatePersistent("float32", values.length);
    home.set(values);
    this.data = home;
    return this;
  }

  /** Sets the gradient to null (parameters call this before each accumulation window). */
  zeroGrad(): void {
    this.grad = null;
    this.gpuGrad = null;
  }

  /**
   * Runs reverse-mode differentiation from this scalar (or from `grad` for a non-scalar; a GPU array for a tensor
   * on the GPU, e.g. activation recompute's output gradient).
   */
  backward(grad?: Float | GpuArray): void {
    backward(this, grad);
  }
}

/**
 * Creates the output of an op: records a tape node when the tape is on and an input needs a gradient.
 * `backward` receives the output's gradient and must hand each parent it feeds its gradient (lib/tensor/grad.ts).
 * Under a 16-bit precision (`setPrecision`) the output is rounded to the format in place (`roundActivation`).
 */
export function result(
  data: Float,
  shape: readonly number[],
  op: string,
  parents: readonly Tensor[],
  backward: (grad: Float) => void,
): Tensor {
  const needs = isGradEnabled() && parents.some((p) => p.requiresGrad);
  roundActivation(data, parents); // under a 16-bit precision
  const out = new Tensor(data, shape, needs);
  if (needs) out.node = { op, parents, backward };
  return out;
}

/**
 * Reverse-mode differentiation from `root`. With no `grad`, `root` must have one element and is seeded with 1.
 * Gradients accumulate into `.grad` of every tensor that requires one; intermediate gradients are released
 * after use, leaf (parameter) gradients are kept.
 */
export function backward(root: Tensor, grad?: Float | GpuArray): void {
  if (!root.requiresGrad) {
    throw new Error("backward(): the tensor does not require a gradient (no parameter reaches it)");
  }
  if (grad === undefined && root.size !== 1) {
    throw new Error(`backward(): root has ${root.size} elements; pass its gradient explicitly`);
  }
  if (root.gpu !== null) return gpuBackward(root, grad ?? new Float32Array([1]), order(root));
  if (grad instanceof GpuArray) throw new Error("backward(): a GPU gradient for a tensor in host memory");
  grad ??= root.dtype === "float64" ? new Float64Array([1]) : new Float32Array([1]);
  const topo = order(root);
  accumulateSharedGrad(root, grad);
  for (let k = topo.length - 1; k >= 0; k--) {
    const t = topo[k];
    if (t.node === null || t.grad === null) continue;
    if (t !== root) roundActivationGrad(t.grad); // under a 16-bit precision (parameters' gradients stay float32)
    t.node.backward(t.grad);
    // Free intermediate gradients and the graph as we go: the tape is single-use. The gradient's storage goes
    // back to the step arena (when it came from there) for the next gradient of the same size.
    t.device.release(t.grad);
    t.grad = null;
    t.node = null;
  }
}

/** The tensors `root` depends on through the tape, parents before children (`root` last). */
function order(root: Tensor): Tensor[] {
  // Iterative post-order DFS (deep models would overflow a recursive one).
  const order: Tensor[] = [], seen = new Set<Tensor>([root]), stack: Array<[Tensor, number]> = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1], [t, i] = top, parents = t.node?.parents ?? [];
    if (i === parents.length) {
      stack.pop();
      order.push(t);
      continue;
    }
    top[1] = i + 1;
    const p = parents[i];
    if (p.requiresGrad && !seen.has(p)) {
      seen.add(p);
      stack.push([p, 0]);
    }
  }
  return order;
}
