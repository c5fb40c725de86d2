/**
 * WGSL snippets shared by the kernels of lib/kernels/webgpu, interpolated into their sources: binding
 * declarations in the runtime's convention, a fixed-order workgroup reduction, the linear index of a 1-D launch
 * spread over two grid dimensions (`grid()`) and the bit-level checks that must not depend on the compiler's
 * float model.
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

/** One storage binding: its name, access and element type (default `f32`). */
export type Binding = readonly [name: string, access: "read" | "read_write", type?: string];

/**
 * The declarations of a kernel's bindings in the runtime's convention: the storage arrays at group 0, bindings
 * 0, 1, … in the order given, then (when `params` is given: the fields of a struct of 4-byte scalars, such as
 * `"rows: u32, C: u32, eps: f32"`) the uniform parameters `p` of struct `P` at the next binding.
 */
export function bindings(arrays: readonly Binding[], params?: string): string {
  const lines = arrays.map(([name, access, type = "f32"], i) =>
    `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${type}>;`
  );
  if (params !== undefined) {
    lines.push(`struct P { ${params} }`, `@group(0) @binding(${arrays.length}) var<uniform> p: P;`);
  }
  return lines.join("\n");
}

/**
 * A workgroup-wide reduction `fn name(v: type, l: u32) -> type`: combines the `v` of all `wg` invocations
 * (`wg` a power of two; `l` the local invocation index) with `op`, a WGSL expression of `a` and `b`, in a fixed
 * tree order (so two runs give the same bits), and returns the result to every invocation. It has barriers:
 * call it from uniform control flow. It declares the workgroup array `name_buf`.
 */
export function workgroupReduce(name: string, type: string, op: string, wg: number): string {
  if (wg < 1 || (wg & (wg - 1)) !== 0) throw new Error(`workgroupReduce: ${wg} is not a power of two`);
  return /* wgsl */ `
var<workgroup> ${name}_buf: array<${type}, ${wg}>;
fn ${name}_op(a: ${type}, b: ${type}) -> ${type} { return ${op}; }
fn ${name}(v: ${type}, l: u32) -> ${type} {
  ${name}_buf[l] = v;
  workgroupBarrier();
  for (var s = ${wg >> 1}u; s > 0u; s = s >> 1u) {
    if (l < s) { ${name}_buf[l] = ${name}_op(${name}_buf[l], ${name}_buf[l + s]); }
    workgroupBarrier();
  }
  let r = ${name}_buf[0];
  workgroupBarrier();
  return r;
}`;
}

/**
 * Invocations per workgroup of a row kernel (one workgroup per row) for rows of `cols` elements: the power of two
 * at or above `cols`, from 32 to 256, so short rows do not leave most of a large workgroup idle.
 */
export function rowWorkgroup(cols: number): number {
  let wg = 32;
  while (wg < cols && wg < 256) wg *= 2;
  return wg;
}

/**
 * The head of a row kernel's entry point `main` ({@link LINEAR_ARGS}), one workgroup of `wg` invocations per row: it
 * defines `r` (the row: the linear workgroup index; workgroups past `rows`, a WGSL expression, return) and `o` =
 * `first` (a WGSL expression of r: the row's first element). The kernel's body and closing brace follow.
 */
export function rowMain(wg: number, rows: string, first: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${wg})
fn main(${LINEAR_ARGS}) {
  let r = ${LINEAR_WG};
  if (r >= ${rows}) { return; }
  let o = ${first};`;
}

/**
 * The head of a one-invocation-per-item kernel's entry point `main` ({@link LINEAR_ARGS}), `wg` invocations per
 * workgroup over a launch spread by `grid()`: it defines `e`, the item's index (the kernel bounds it); the body
 * and closing brace follow.
 */
export function linearMain(wg: number): string {
  return /* wgsl */ `
@compute @workgroup_size(${wg})
fn main(${LINEAR_ARGS}) {
  let e = ${LINEAR_WG} * ${wg}u + lid;`;
}
