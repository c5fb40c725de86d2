/**
 * The backward pass over ops on the GPU: the same walk as the CPU tape (lib/tensor/tensor.ts), handing each
 * node its output's gradient array (`backwardGpu`) and giving intermediate gradients back to the pool as it goes.
 *
 * @module
 */
import type { GpuArray } from "../../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor.ts";
import type { Float } from "../../kernels/types.ts";
import { accumulateGpuSharedGrad } from "./grad.ts";

/**
 * Runs the backward pass from `root` (on the GPU) seeded with `seed` (host values, or a GPU array the caller
 * keeps), over `order` (parents first, root last).
 */
export function gpuBackward(root: Tensor, seed: Float | GpuArray, order: readonly Tensor[]): void {
  const gpu = root.gpu!.gpu;
  if (seed instanceof Float32Array) {
    const first = gpu.upload(seed);
    accumulateGpuSharedGrad(root, first);
    gpu.release(first);
  } else if (seed instanceof Float64Array) {
    throw new Error("backward(): a float64 gradient for a tensor on the GPU");
  } else accumulateGpuSharedGrad(root, seed);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    if (t.node === null || t.gpuGrad === null) continue;
    const back = t.node.backwardGpu;
    if (back === undefined) {
      throw new Error(`backward(): op "${t.node.op}" of a tensor on the GPU has no GPU backward`);
    }
    back(t.gpuGrad);
    gpu.release(t.gpuGrad);
    t.gpuGrad = null;
    t.node = null;
  }
}
