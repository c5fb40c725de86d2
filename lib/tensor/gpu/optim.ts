/**
 * The optimizers' updates of parameters on the GPU — the twins of lib/tensor/ops/optim.ts: persistent state
 * arrays ({@link gpuState}) and one AdamW or SGD update per parameter that has a gradient, reading the step's
 * guard (`control`, lib/tensor/gpu/guard.ts) when given.
 *
 * @module
 */
import { adamwUpdateGpu, sgdMomentumUpdateGpu, sgdUpdateGpu } from "../../kernels/webgpu/optim.ts";
import type { Gpu, GpuArray } from "../../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor.ts";

/** A persistent zeroed GPU array the size of `t` (moments, momentum buffers). */
export function gpuState(gpu: Gpu, t: Tensor): GpuArray {
  return gpu.zeros(t.size, "f32", true);
}

/**
 * One AdamW step of `t` (on the GPU) with moments `m`, `v`, at its `step`-th update; false (nothing recorded) when
 * `t` has no gradient. With `control` the gradient is scaled by the guard's coefficient, a flagged step changes
 * nothing, and the bias correction counts the steps applied.
 */
export function adamwParamGpu(
  t: Tensor,
  m: GpuArray,
  v: GpuArray,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
  control: GpuArray | null,
): boolean {
  const p = t.gpu, g = t.gpuGrad;
  if (p === null || g === null) return false;
  adamwUpdateGpu(p.gpu, p, g, m, v, lr, beta1, beta2, eps, weightDecay, step, 0, t.size, control);
  return true;
}

/**
 * One SGD step of `t` (on the GPU): plain without `buf`, with momentum (Nesterov's when asked) into `buf`; nothing
 * when `t` has no gradient. `control` as for {@link adamwParamGpu}.
 */
export function sgdParamGpu(
  t: Tensor,
  buf: GpuArray | null,
  lr: number,
  momentum: number,
  weightDecay: number,
  nesterov: boolean,
  control: GpuArray | null,
): void {
  const p = t.gpu, g = t.gpuGrad;
  if (p === null || g === null) return;
  if (buf === null) sgdUpdateGpu(p.gpu, p, g, lr, weightDecay, 0, t.size, control);
  else sgdMomentumUpdateGpu(p.gpu, p, g, buf, lr, momentum, weightDecay, nesterov, 0, t.size, control);
}
