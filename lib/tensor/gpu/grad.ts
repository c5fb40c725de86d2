/**
 * Where gradients of tensors on the GPU live — the GPU twin of lib/tensor/grad.ts, with the same ownership rule:
 * an op hands each fresh gradient to {@link accumulateGpuGrad}, which adopts the first one of an intermediate
 * tensor and adds later ones (giving their array back to the pool); a parameter keeps one persistent gradient
 * array from step to step; {@link gpuGradBuffer} lets an op write a gradient in place.
 *
 * @module
 */
import { addVecGpu } from "../../kernels/webgpu/bias.ts";
import type { GpuArray } from "../../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor.ts";

/** The gradient arrays of leaf tensors on the GPU, reused from step to step. */
const leafGrads = new WeakMap<Tensor, GpuArray>();

function gpuOf(t: Tensor): GpuArray {
  if (t.gpu === null) throw new Error(`gradient: tensor ${t.name ?? `[${t.shape}]`} is not on the GPU`);
  return t.gpu;
}

/** An array for a gradient of `t` that is not there yet: a leaf keeps one persistent array, an intermediate gets a step array. */
function newGradArray(t: Tensor): GpuArray {
  const gpu = gpuOf(t).gpu;
  if (t.node !== null) return gpu.array(t.size);
  const kept = leafGrads.get(t);
  const a = kept !== undefined && !kept.released && kept.length === t.size
    ? kept
    : gpu.array(t.size, "f32", true);
  leafGrads.set(t, a);
  return a;
}

/**
 * The array an op may write `t`'s gradient into directly: `t.gpuGrad` with `accumulate` true when a gradient is
 * already there, else a new array installed as `t.gpuGrad` with `accumulate` false (the op must then write every
 * element). Null when `t` needs no gradient.
 */
export function gpuGradBuffer(t: Tensor): { buf: GpuArray; accumulate: boolean } | null {
  if (!t.requiresGrad) return null;
  if (t.gpuGrad !== null) return { buf: t.gpuGrad, accumulate: true };
  const buf = newGradArray(t);
  t.gpuGrad = buf;
  return { buf, accumulate: false };
}

/**
 * Adds a fresh gradient `g` of `t` (made by the caller for this call alone) into `t.gpuGrad` and takes ownership
 * of it: the first gradient of an intermediate tensor becomes its gradient without a copy; otherwise `g` is added
 * (or copied into a leaf's kept array) and given back to the pool.
 */
export function accumulateGpuGrad(t: Tensor, g: GpuArray): void {
  if (!t.requiresGrad) return;
  if (t.gpuGrad === null && t.node !== null && g.length === t.size && g.owner === null) {
    t.gpuGrad = g;
    return;
  }
  accumulateGpuSharedGrad(t, g);
  if (g.owner === null) g.gpu.release(g);
}

/** Adds a gradient the caller keeps into `t.gpuGrad`: copied into a new array the first time, added after that. */
export function accumulateGpuSharedGrad(t: Tensor, g: GpuArray): void {
  if (!t.requiresGrad) return;
  const gpu = gpuOf(t).gpu;
  if (t.gpuGrad === null) {
    const buf = newGradArray(t);
    gpu.copy(g, buf, t.size);
    t.gpuGrad = buf;
  } else addVecGpu(gpu, t.gpuGrad, g, t.gpuGrad, t.size);
}
