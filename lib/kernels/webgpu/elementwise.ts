/**
 * Element-wise kernels (GELU, SwiGLU, dropout): one invocation per element, {@link EW} per workgroup over a 1-D
 * {@link grid}; arrays larger than one binding are recorded as several dispatches over chunks of views.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { forEachChunk } from "./split.ts";
import { type Binding, bindings, linearMain } from "./wgsl.ts";

/** Invocations per workgroup of the element-wise kernels. */
const EW = 256;

/**
 * The WGSL of an element-wise kernel over `arrays` (all of the same length n): `body` runs once per element with
 * `k`, its index into the bound arrays; `prelude` holds helper functions; `params` names extra f32 parameters
 * (such as `"scale: f32"`), set by {@link dispatchElementwise}'s `extra` in the same order.
 */
export function elementwiseWgsl(arrays: readonly Binding[], body: string, prelude = "", params = ""): string {
  return /* wgsl */ `
${bindings(arrays, `n: u32, skip: u32${params === "" ? "" : `, ${params}`}`)}
${prelude}
${linearMain(EW)}
  if (e >= p.n) { return; }
  let k = e + p.skip;
  ${body}
}`;
}

/**
 * Records the element-wise kernel `wgsl` ({@link elementwiseWgsl}) over the first `n` elements of `arrays`, in
 * chunks that each fit one binding; `extra` are its f32 parameters. No array may share a buffer with another.
 */
export function dispatchElementwise(
  gpu: Gpu,
  wgsl: string,
  arrays: readonly GpuArray[],
  n: number,
  extra: readonly number[] = [],
): void {
  const pipeline = gpu.pipeline(wgsl);
  forEachChunk(gpu, n, 1, (c, view) => {
    gpu.dispatch(
      pipeline,
      arrays.map(view),
      grid(Math.ceil(c.nr / EW)),
      gpu.params().u32(c.nr, c.skip).f32(...extra),
    );
  });
}
