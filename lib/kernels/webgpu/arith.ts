/**
 * Element-wise arithmetic of lib/tensor/ops/arith.ts that has no CPU kernel (it loops in TypeScript there), on the
 * GPU: {@link mulGpu} with suffix broadcasting and {@link mulSumRowsGpu} (the small operand's gradient),
 * {@link scaleGpu}, {@link sumGpu}, the fills {@link fillGpu} / {@link fillFromGpu} (sum's backward: the
 * gradient filled from a one-element upstream array, never read back to the host) and the in-place
 * {@link accumulateGpu}. Out-of-place adds are bias.ts's; copies of ranges are `Gpu.copy`.
 *
 * Element-wise kernels are 1-D, one invocation per element, {@link WG} per workgroup, spread by `grid()`, and split
 * into binding-sized windows (chunks.ts) for arrays larger than one binding.
 *
 * @module
 */
import { dispatchWindows, part, type Piece, pieces } from "./chunks.ts";
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray, Params } from "./runtime.ts";
import { LINEAR_ARGS, LINEAR_WG, workgroupReduce } from "./wgsl.ts";

/** Invocations per workgroup. */
export const WG = 256;
/** Elements a workgroup of {@link sumGpu}'s passes adds (each invocation strides over {@link PER}). */
const PER = 8;
const BLOCK = WG * PER;
/** Rows one invocation of {@link mulSumRowsGpu}'s first pass adds. */
const ROWS = 64;

const HEAD = /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }`;

const MUL = /* wgsl */ `
struct P { lo: u32, hi: u32, n: u32, shift: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> u: P;
${HEAD}
  out[i] = x[i] * y[(i + u.shift) % u.n];
}`;

const SCALE = /* wgsl */ `
struct P { lo: u32, hi: u32, s: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: P;
${HEAD}
  out[i] = x[i] * u.s;
}`;

const SCALE_IN_PLACE = /* wgsl */ `
struct P { lo: u32, hi: u32, s: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> u: P;
${HEAD}
  out[i] = out[i] * u.s;
}`;

const FILL = /* wgsl */ `
struct P { lo: u32, hi: u32, value: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> u: P;
${HEAD}
  out[i] = u.value;
}`;

const FILL_FROM = /* wgsl */ `
struct P { lo: u32, hi: u32, at: u32 }
@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: P;
${HEAD}
  out[i] = v[u.at];
}`;

const ACCUMULATE = /* wgsl */ `
struct P { lo: u32, hi: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> acc: array<f32>;
@group(0) @binding(2) var<uniform> u: P;
${HEAD}
  acc[i] = acc[i] + x[i];
}`;

// One workgroup per BLOCK elements of [lo, hi): their sum (each invocation strides, then a fixed tree) into
// out[at + workgroup].
const SUM = /* wgsl */ `
struct P { lo: u32, hi: u32, at: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: P;
${workgroupReduce("total", "f32", "a + b", WG)}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let w = ${LINEAR_WG};
  let first = u.lo + w * ${BLOCK}u;
  if (first >= u.hi) { return; }
  var acc = 0.0;
  for (var k = 0u; k < ${PER}u; k++) {
    let i = first + k * ${WG}u + lid;
    if (i < u.hi) { acc = acc + x[i]; }
  }
  let r = total(acc, lid);
  if (lid == 0u) { out[u.at + w] = r; }
}`;

// Pass 1 of mulSumRows: invocation (column j, chunk c) adds g·x over rows [c·ROWS, min(rows, (c+1)·ROWS)) in order
// into part[c·n + j]. Workgroups: x over columns, y over chunks.
const MUL_SUM_ROWS = /* wgsl */ `
struct P { rows: u32, n: u32 }
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> u: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x * ${WG}u + lid;
  if (j >= u.n) { return; }
  let r1 = min(u.rows, (wid.y + 1u) * ${ROWS}u);
  var acc = 0.0;
  for (var r = wid.y * ${ROWS}u; r < r1; r++) { acc = acc + g[r * u.n + j] * x[r * u.n + j]; }
  part[wid.y * u.n + j] = acc;
}`;

// Pass 2 of mulSumRows: out[j] = Σ over chunks c, in order, of part[c·n + j].
const SUM_CHUNKS = /* wgsl */ `
struct P { lo: u32, hi: u32, chunks: u32, n: u32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> u: P;
${HEAD}
  var acc = 0.0;
  for (var c = 0u; c < u.chunks; c++) { acc = acc + part[c * u.n + i]; }
  out[i] = acc;
}`;

// Records `wgsl` over [0, n) of `arrays` window by window; `more` appends the kernel's scalars after the window's
// range [lo, hi).
function elementwise(
  gpu: Gpu,
  wgsl: string,
  arrays: readonly GpuArray[],
  n: number,
  more?: (params: Params, piece: Piece) => void,
  whole: readonly GpuArray[] = [],
): void {
  for (const a of arrays) {
    if (a.length < n) throw new Error(`webgpu arith: an array of ${a.length} elements, ${n} needed`);
  }
  const bind = (piece: Piece) => [...whole, ...arrays.map((a) => part(a, piece))];
  dispatchWindows(gpu, gpu.pipeline(wgsl), WG, pieces(gpu, n), bind, more);
}

/**
 * out = x · y with suffix broadcasting (lib/tensor/ops/arith.ts `mul`): `x` and `out` hold `rows` × `n` elements,
 * `y` holds `n` (rows = 1: same shapes). Also the big operand's gradient: `mulGpu(gpu, g, y, gx, rows, n)`.
 */
export function mulGpu(gpu: Gpu, x: GpuArray, y: GpuArray, out: GpuArray, rows: number, n: number): void {
  if (y.length < n) throw new Error(`mulGpu: y has ${y.length} elements, ${n} needed`);
  const total = rows * n;
  for (const a of [x, out]) {
    if (a.length < total) throw new Error(`mulGpu: an array of ${a.length} elements, ${total} needed`);
  }
  const bind = (piece: Piece) => [part(x, piece), y, part(out, piece)];
  dispatchWindows(
    gpu,
    gpu.pipeline(MUL),
    WG,
    pieces(gpu, total),
    bind,
    (p, piece) => p.u32(n, piece.base % n),
  );
}

/**
 * The small operand's gradient of {@link mulGpu}: out[j] = Σ over rows r, in order, of g[r·n + j] · x[r·n + j]
 * (`g` and `x` of rows × n elements, each within one binding; `out` of n).
 *
 * Launch shape: (⌈n / WG⌉, ⌈rows / 64⌉) workgroups, one invocation per column and 64-row chunk writing a partial,
 * then a 1-D pass adding each column's chunks in order (skipped when rows ≤ 64).
 */
export function mulSumRowsGpu(
  gpu: Gpu,
  g: GpuArray,
  x: GpuArray,
  out: GpuArray,
  rows: number,
  n: number,
): void {
  const chunks = Math.ceil(rows / ROWS);
  if (Math.ceil(n / WG) > 65535 || chunks > 65535) {
    throw new Error(`mulSumRowsGpu: ${rows} × ${n} is too large`);
  }
  if (chunks === 0 || n === 0) {
    if (n > 0) fillGpu(gpu, out, 0, n);
    return;
  }
  const partial = chunks === 1 ? out : gpu.array(chunks * n);
  const params = gpu.params().u32(rows, n);
  gpu.dispatch(gpu.pipeline(MUL_SUM_ROWS), [g, x, partial], [Math.ceil(n / WG), chunks], params);
  if (partial === out) return;
  elementwise(gpu, SUM_CHUNKS, [out], n, (p) => p.u32(chunks, n), [partial]);
  gpu.release(partial);
}

/** out = x · s over the first `n` elements (`out` may be `x`: in place). */
export function scaleGpu(gpu: Gpu, x: GpuArray, s: number, out: GpuArray, n: number = x.length): void {
  if (x === out) elementwise(gpu, SCALE_IN_PLACE, [out], n, (p) => p.f32(s));
  else elementwise(gpu, SCALE, [x, out], n, (p) => p.f32(s));
}

/** Sets the first `n` elements of `a` to `value` (`Gpu.fill` does zeros without a kernel). */
export function fillGpu(gpu: Gpu, a: GpuArray, value: number, n: number = a.length): void {
  elementwise(gpu, FILL, [a], n, (p) => p.f32(value));
}

/**
 * Sets the first `n` elements of `a` to `v[at]`, a value that stays on the GPU: sum's backward (the upstream
 * gradient, `at` 0), or the loss gradient's seed from a control array's loss scale (`at` = `CONTROL.scale`).
 */
export function fillFromGpu(gpu: Gpu, v: GpuArray, a: GpuArray, n: number = a.length, at = 0): void {
  if (at >= v.length) throw new Error(`fillFromGpu: element ${at} of ${v.length}`);
  elementwise(gpu, FILL_FROM, [a], n, (p) => p.u32(at), [v]);
}

/**
 * acc += x over the first `n` elements, in place (a gradient accumulated into an existing one: WebGPU cannot bind
 * one buffer as an input and an output of the same dispatch, so bias.ts's out-of-place adds cannot do it).
 */
export function accumulateGpu(gpu: Gpu, acc: GpuArray, x: GpuArray, n: number = acc.length): void {
  elementwise(gpu, ACCUMULATE, [x, acc], n);
}

/**
 * out[0] = the sum of the first `n` elements of `x` (lib/tensor/ops/arith.ts `sum`), in f32 in a fixed order:
 * blocks of 2,048 elements (strided per invocation, then a tree), their sums again by blocks, until one is left.
 *
 * Launch shape: one workgroup of {@link WG} per 2,048 elements per pass (per binding window in the first).
 */
export function sumGpu(gpu: Gpu, x: GpuArray, out: GpuArray, n: number = x.length): void {
  if (n === 0) {
    fillGpu(gpu, out, 0, 1);
    return;
  }
  const pipeline = gpu.pipeline(SUM);
  const windows = pieces(gpu, n);
  let count = windows.reduce((k, w) => k + Math.ceil((w.hi - w.lo) / BLOCK), 0);
  let src = count === 1 ? out : gpu.array(count);
  let at = 0;
  for (const piece of windows) {
    const blocks = Math.ceil((piece.hi - piece.lo) / BLOCK);
    gpu.dispatch(pipeline, [part(x, piece), src], grid(blocks), gpu.params().u32(piece.lo, piece.hi, at));
    at += blocks;
  }
  while (count > 1) {
    const blocks = Math.ceil(count / BLOCK);
    const dst = blocks === 1 ? out : gpu.array(blocks);
    gpu.dispatch(pipeline, [src, dst], grid(blocks), gpu.params().u32(0, count, 0));
    gpu.release(src);
    [src, count] = [dst, blocks];
  }
}
