/**
 * The GPU twins of the shape ops that copy: permute (transpose), narrow and cat (reshape shares its array and
 * lives in lib/tensor/ops/shape.ts).
 *
 * @module
 */
import { copyRowsGpu, permuteGpu } from "../../kernels/webgpu/layout.ts";
import type { Tensor } from "../tensor.ts";
import { accumulateGpuGrad } from "./grad.ts";
import { gpuArrayOf, gpuResult } from "./ops.ts";

/** Output dimension i is input dimension perm[i] (checked by `permute`); `inv` is the inverse permutation. */
export function permuteOnGpu(x: Tensor, perm: readonly number[], inv: readonly number[]): Tensor {
  const xa = gpuArrayOf(x, "permute"), gpu = xa.gpu;
  const outShape = perm.map((p) => x.shape[p]);
  const out = gpu.array(x.size);
  permuteGpu(gpu, xa, x.shape, perm, out);
  return gpuResult(out, outShape, "permute", [x], (g) => {
    const gx = gpu.array(x.size);
    permuteGpu(gpu, g, outShape, inv, gx);
    accumulateGpuGrad(x, gx);
  });
}

/**
 * The slice [start, start + length) of a dimension (checked by `narrow`), x seen as (outer, size, inner): each of
 * the `outer` rows gives length·inner elements.
 */
export function narrowGpu(
  x: Tensor,
  outShape: readonly number[],
  outer: number,
  size: number,
  inner: number,
  start: number,
  length: number,
): Tensor {
  const xa = gpuArrayOf(x, "narrow"), gpu = xa.gpu, chunk = length * inner;
  const out = gpu.array(outer * chunk);
  copyRowsGpu(gpu, xa, start * inner, size * inner, out, 0, chunk, outer, chunk);
  return gpuResult(out, outShape, "narrow", [x], (g) => {
    const gx = gpu.zeros(x.size);
    copyRowsGpu(gpu, g, 0, chunk, gx, start * inner, size * inner, outer, chunk);
    accumulateGpuGrad(x, gx);
  });
}

/** Concatenation along dimension 0 (checked by `cat`) into `shape`; each part gets its slice of the gradient. */
export function catGpu(
  parts: readonly Tensor[],
  shape: readonly number[],
  offsets: readonly number[],
): Tensor {
  const arrays = parts.map((p) => gpuArrayOf(p, "cat")), gpu = arrays[0].gpu;
  const size = parts.reduce((n, p) => n + p.size, 0);
  const out = gpu.array(size);
  arrays.forEach((a, i) => gpu.copy(a, out, parts[i].size, 0, offsets[i]));
  return gpuResult(out, shape, "cat", parts, (g) => {
    parts.forEach((p, i) => {
      if (!p.requiresGrad) return;
      const gp = gpu.array(p.size);
      gpu.copy(g, gp, p.size, offsets[i], 0);
      accumulateGpuGrad(p, gp);
    });
  });
}
