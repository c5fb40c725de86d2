/**
 * The backward pass over ops on the GPU: the same walk as the CPU tape (lib/tensor/tensor.ts), handing each
 * node its output's gradient array (`backwardGpu`) and giving intermediate gradients back to the pool as it goes.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { accumulateGpuSharedGrad } from "./grad.ts";

/** Runs the backward pass from `root` (on the GPU) seeded with `seed`, over `order` (parents first, root last). */
export function gpuBackward(root: Tensor, seed: Float32Array, order: readonly Tensor[]): void {
  const gpu = root.gpu!.gpu;
  const first = gpu.upload(seed);
  accumulateGpuSharedGrad(root, first);
  gpu.release(first);
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
