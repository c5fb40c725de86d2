/**
 * The SwiGLU gate on the GPU, mirroring lib/kernels/swiglu.ts: out = silu(g) ⊙ u, silu(x) = x·σ(x). Launch
 * shape: element-wise (elementwise.ts), one invocation per element, 256 per workgroup.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";
import { dispatchElementwise, elementwiseWgsl } from "./elementwise.ts";
import type { Binding } from "./wgsl.ts";

const FORWARD = elementwiseWgsl(
  [["g", "read"], ["u", "read"], ["y", "read_write"]],
  `let x = g[k];
  y[k] = (x / (1.0 + exp(-x))) * u[k];`,
);

function backwardWgsl(withDg: boolean, withDu: boolean): string {
  const arrays: Binding[] = [["g", "read"], ["u", "read"], ["dy", "read"]];
  if (withDg) arrays.push(["dg", "read_write"]);
  if (withDu) arrays.push(["du", "read_write"]);
  return elementwiseWgsl(
    arrays,
    `let x = g[k];
  let sig = 1.0 / (1.0 + exp(-x));
  ${withDg ? "dg[k] = dy[k] * u[k] * sig * (1.0 + x * (1.0 - sig));" : "_ = u[k]; // bound, so used"}
  ${withDu ? "du[k] = dy[k] * x * sig;" : ""}`,
  );
}

/** Records out[i] = silu(g[i]) · u[i] for i < n (f32 arrays; out must not share a buffer with g or u). */
export function swigluForwardGpu(gpu: Gpu, g: GpuArray, u: GpuArray, out: GpuArray, n: number): void {
  dispatchElementwise(gpu, FORWARD, [g, u, out], n);
}

/**
 * Records dg = dy · u · silu'(g) and du = dy · silu(g) for i < n (null skips one; nothing when both are null),
 * silu'(x) = σ(x)·(1 + x·(1 − σ(x))).
 */
export function swigluBackwardGpu(
  gpu: Gpu,
  g: GpuArray,
  u: GpuArray,
  dy: GpuArray,
  dg: GpuArray | null,
  du: GpuArray | null,
  n: number,
): void {
  if (dg === null && du === null) return;
  const outs = [dg, du].filter((a): a is GpuArray => a !== null);
  dispatchElementwise(gpu, backwardWgsl(dg !== null, du !== null), [g, u, dy, ...outs], n);
}
