/**
 * WGSL snippets shared by the kernels of lib/kernels/webgpu: the linear index of a 1-D launch spread over two
 * grid dimensions (`grid()`) and the bit-level checks that must not depend on the compiler's float model.
 *
 * @module
 */

/**
 * The builtins of a 1-D kernel's entry point (paste into its parameter list): the workgroup id, the grid size and
 * the invocation's index inside its workgroup (`lid`).
 */
export const LINEAR_ARGS =
  "@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32";

/** The linear workgroup index (a `u32` expression) of a launch spread by `grid()`, given {@link LINEAR_ARGS}. */
export const LINEAR_WG = "(wid.y * nwg.x + wid.x)";

/**
 * `nonFinite(x)`: whether `x` is NaN or ±Inf, decided on its bits (WGSL lets compilers assume floats are finite,
 * so `x != x` may be folded away).
 */
export const NON_FINITE = /* wgsl */ `
fn nonFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}`;
