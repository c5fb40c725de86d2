/**
 * Optimizers on the GPU: which GPU an optimizer's parameters live on ({@link paramsGpu}) and the step's guard
 * over them ({@link GpuGuard}: the clip coefficient and the non-finite flag in a small `control` array that the
 * updates read, so clipping costs no pass of its own and a bad step is never applied). The state and the update
 * kernels' calls are lib/tensor/gpu/optim.ts's.
 *
 * @module
 */
import type { Gpu } from "../kernels/webgpu/runtime.ts";
import { type GpuGuardOptions, StepGuard } from "../tensor/gpu/guard.ts";
import { type NamedParam, uniqueParams } from "./param.ts";

export type { GpuGuardOptions, GuardReading } from "../tensor/gpu/guard.ts";

/**
 * The GPU every parameter lives on, or null when they all live in host memory; throws (naming one of each) when
 * some are on the GPU and some are not.
 */
export function paramsGpu(owner: string, params: readonly NamedParam[]): Gpu | null {
  const on = params.filter((p) => p.tensor.gpu !== null), off = params.filter((p) => p.tensor.gpu === null);
  if (on.length === 0) return null;
  if (off.length > 0) {
    throw new Error(
      `${owner}: "${on[0].name}" is on the GPU but "${
        off[0].name
      }" is not: move the whole model (model.toGpu) ` +
        "before making the optimizer",
    );
  }
  const gpu = on[0].tensor.gpu!.gpu;
  if (on.some((p) => p.tensor.gpu!.gpu !== gpu)) throw new Error(`${owner}: the parameters are on two GPUs`);
  return gpu;
}

/**
 * The step's guard on the GPU over an optimizer's parameters (tied tensors once, under their first name): see
 * StepGuard (lib/tensor/gpu/guard.ts); its `control` goes to the optimizer's `step(lr, control)`.
 */
export class GpuGuard extends StepGuard {
  /** Prepares the guard for `params` (on `gpu`). */
  constructor(gpu: Gpu, params: readonly NamedParam[], options: GpuGuardOptions) {
    super(gpu, uniqueParams(params), options);
  }
}
