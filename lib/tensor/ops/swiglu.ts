/**
 * The SwiGLU gate (LLaMA-style MLP) as a differentiable op: forward and its hand-written backward (float64
 * storage runs through the same loops, for the gradient checks).
 *
 * @module
 */
import { swigluBackward, swigluForward } from "../../kernels/swiglu.ts";
import { allocateForWrite } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { swigluGpu } from "../gpu/layers.ts";

/**
 * The SwiGLU gate: silu(gate) ⊙ up, with silu(g) = g·σ(g). gate and up have the same shape (the outputs of the
 * MLP's gate and up projections).
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size || gate.ndim !== up.ndim || gate.shape.some((d, i) => d !== up.shape[i])) {
    throw new Error(`swiglu: gate [${gate.shape}] and up [${up.shape}] must have the same shape`);
  }
  if (gate.gpu !== null) return swigluGpu(gate, up);
  const n = gate.size;
  const out = allocateForWrite(gate.dtype, n);
  swigluForward(gate.data, up.data, out, n);
  return result(out, gate.shape, "swiglu", [gate, up], (g) => {
    const dg = gate.requiresGrad ? allocateForWrite(gate.dtype, n) : null;
    const du = up.requiresGrad ? allocateForWrite(up.dtype, n) : null;
    swigluBackward(gate.data, up.data, g, dg, du, n);
    if (dg !== null) accumulateGrad(gate, dg);
    if (du !== null) accumulateGrad(up, du);
  });
}
