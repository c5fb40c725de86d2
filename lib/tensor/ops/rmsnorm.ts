/**
 * RMSNorm (LLaMA-style) as a differentiable op over the last dimension: forward and its hand-written backward
 * (float64 storage runs through the same loops, for the gradient checks).
 *
 * @module
 */
import { rmsNormBackward, rmsNormForward } from "../../kernels/rmsnorm.ts";
import { allocate, allocateForWrite } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { rmsNormGpu } from "../gpu/layers.ts";

/**
 * RMSNorm over the last dimension: y = x / √(mean(x²) + eps) · w (no mean subtraction, no bias), as in LLaMA.
 * x (..., C), weight (C).
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C) {
    throw new Error(`rmsNorm: input [${x.shape}] does not match weight [${weight.shape}]`);
  }
  if (x.gpu !== null) return rmsNormGpu(x, weight, eps);
  const rows = x.size / C;
  const out = allocateForWrite(x.dtype, x.size), rstd = allocateForWrite(x.dtype, rows);
  rmsNormForward(x.data, weight.data, out, rstd, rows, C, eps);
  return result(out, x.shape, "rmsNorm", [x, weight], (g) => {
    const dx = x.requiresGrad ? allocateForWrite(x.dtype, x.size) : null;
    const dw = weight.requiresGrad ? allocate(x.dtype, C) : null;
    rmsNormBackward(x.data, weight.data, rstd, g, dx, dw, rows, C);
    if (dx !== null) accumulateGrad(x, dx);
    if (dw !== null) accumulateGrad(weight, dw);
  });
}
