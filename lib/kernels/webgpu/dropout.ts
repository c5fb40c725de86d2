/**
 * Inverted dropout on the GPU, mirroring the `dropout` op of lib/tensor/ops/nn.ts: out = keep ? x · scale : 0.
 * The keep-mask is drawn on the CPU by `dropoutMask` from the run's seeded generator and uploaded as one u32 per
 * element, so the random stream is the CPU's. The backward is the same call on the gradient. Launch shape:
 * element-wise (elementwise.ts), one invocation per element, 256 per workgroup.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";
import { dispatchElementwise, elementwiseWgsl } from "./elementwise.ts";

const DROPOUT = elementwiseWgsl(
  [["x", "read"], ["keep", "read", "u32"], ["y", "read_write"]],
  `y[k] = select(0.0, x[k] * p.scale, keep[k] != 0u);`,
  "",
  "scale: f32",
);

/**
 * Records out[i] = keep[i] ≠ 0 ? x[i] · scale : 0 for i < n (x and out f32, keep u32, one per element; out must
 * not share x's buffer); scale = 1/(1 − p). The backward: the same call with the gradient as x.
 */
export function dropoutGpu(
  gpu: Gpu,
  x: GpuArray,
  keep: GpuArray,
  out: GpuArray,
  n: number,
  scale: number,
): void {
  dispatchElementwise(gpu, DROPOUT, [x, keep, out], n, [scale]);
}
