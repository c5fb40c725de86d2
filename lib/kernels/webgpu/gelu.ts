/**
 * GELU on the GPU, exact erf form, mirroring lib/kernels/gelu.ts for float32: gelu(x) = 0.5·x·(1 + erf(x/√2)),
 * with erf the same Abramowitz & Stegun polynomial as `erf32`. Launch shape: element-wise (elementwise.ts), one
 * invocation per element, 256 per workgroup.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";
import { dispatchElementwise, elementwiseWgsl } from "./elementwise.ts";

/** WGSL `erf32(x)`: erf to float32 precision (|error| < 1.5e-7), the polynomial of lib/kernels/gelu.ts `erf32`. */
export const ERF32_WGSL = /* wgsl */ `
fn erf32(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t *
    exp(-ax * ax);
  return select(y, -y, x < 0.0);
}`;

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const FORWARD = elementwiseWgsl(
  [["x", "read"], ["y", "read_write"]],
  `let v = x[k];
  y[k] = 0.5 * v * (1.0 + erf32(v * ${INV_SQRT2}));`,
  ERF32_WGSL,
);

const BACKWARD = elementwiseWgsl(
  [["x", "read"], ["dy", "read"], ["dx", "read_write"]],
  `let v = x[k];
  let cdf = 0.5 * (1.0 + erf32(v * ${INV_SQRT2}));
  let pdf = ${INV_SQRT_2PI} * exp(-0.5 * v * v);
  dx[k] = dy[k] * (cdf + v * pdf);`,
  ERF32_WGSL,
);

/** Records out[i] = gelu(x[i]) for i < n (f32 arrays; out must not share x's buffer). */
export function geluForwardGpu(gpu: Gpu, x: GpuArray, out: GpuArray, n: number): void {
  dispatchElementwise(gpu, FORWARD, [x, out], n);
}

/** Records dx[i] = dy[i] · gelu'(x[i]) with gelu'(x) = Φ(x) + x·φ(x), for i < n (dx must not share a buffer). */
export function geluBackwardGpu(gpu: Gpu, x: GpuArray, dy: GpuArray, dx: GpuArray, n: number): void {
  dispatchElementwise(gpu, BACKWARD, [x, dy, dx], n);
}
