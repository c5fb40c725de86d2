/**
 * Bias add, its gradient and the residual add on the GPU, mirroring lib/kernels/bias.ts: `out = x + b` per row,
 * `out = a + b` element-wise, and `out += Σ_r g[r, :]` (a fixed-order two-pass reduction: two runs give the
 * same bits).
 *
 * Arrays larger than one storage binding are processed in pieces of views ({@link bindSpan}). An output may be
 * the very array of an input (the in-place forms of the reference); any other sharing of a buffer between an
 * output and an input is refused (WebGPU cannot bind one buffer as both read-only and writable).
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { bindingElements, bindSpan } from "./span.ts";

const WG = 256; // invocations per workgroup of the element-wise kernels: one element each
const COLS = 64; // columns per workgroup of the column sums: one column per invocation

/** Whether `a` and `b` are the same elements of the same buffer. */
function same(a: GpuArray, b: GpuArray): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

/** Refuses an input that shares the output's buffer without being the output itself. */
function checkAlias(name: string, input: GpuArray, out: GpuArray): void {
  if (input.buffer === out.buffer && !same(input, out)) {
    throw new Error(`${name}: an input shares the output's buffer at another offset (not supported)`);
  }
}

/**
 * The element-wise add over a span: out[i] = x[i] + y[i], where x is `out` itself when `inPlace`, and y is
 * `b[(base + i) % n]` (`rowBias`: a bias row), or x again (`twice`), or `b[i]`. Launch: {@link grid} over
 * ⌈len / 256⌉ workgroups of 256 invocations, one element each.
 */
function addWgsl(rowBias: boolean, inPlace: boolean, twice: boolean): string {
  const x = inPlace ? "o[p.or + i]" : "x[p.xr + i]";
  const y = rowBias ? "b[p.br + (p.base + i) % p.n]" : twice ? x : "b[p.br + i]";
  const bindings = [
    inPlace ? null : "var<storage, read> x: array<f32>;",
    twice ? null : "var<storage, read> b: array<f32>;",
    "var<storage, read_write> o: array<f32>;",
  ].filter((s) => s !== null);
  return /* wgsl */ `
struct P { len: u32, n: u32, base: u32, xr: u32, br: u32, or: u32 }
${bindings.map((s, k) => `@group(0) @binding(${k}) ${s}`).join("\n")}
@group(0) @binding(${bindings.length}) var<uniform> p: P;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + l;
  if (i >= p.len) { return; }
  o[p.or + i] = ${x} + ${y};
}`;
}

/**
 * Records out = x + y over `total` elements, in pieces that fit one binding. `rowBias`: y is the bias row
 * `b` (width n) repeated; otherwise y is `b` element-wise, or x itself when `b` is x.
 */
function addSpans(
  gpu: Gpu,
  x: GpuArray,
  b: GpuArray,
  out: GpuArray,
  total: number,
  n: number,
  rowBias: boolean,
): void {
  const inPlace = same(x, out);
  const twice = !rowBias && same(x, b);
  const pipeline = gpu.pipeline(addWgsl(rowBias, inPlace, twice));
  const piece = Math.max(64, Math.floor((bindingElements(gpu) - 63) / 64) * 64);
  for (let start = 0; start < total; start += piece) {
    const len = Math.min(piece, total - start);
    const xs = bindSpan(x, start, len);
    const bs = rowBias ? bindSpan(b, 0, n) : bindSpan(b, start, len);
    const os = bindSpan(out, start, len);
    const arrays = [inPlace ? null : xs.array, twice ? null : bs.array, os.array]
      .filter((a) => a !== null);
    const params = gpu.params().u32(len, Math.max(n, 1), rowBias ? start % n : 0, xs.at, bs.at, os.at);
    gpu.dispatch(pipeline, arrays, grid(Math.ceil(len / WG)), params);
  }
}

/**
 * Records out[r, j] = x[r, j] + b[j] for `rows` rows of width n, as `addRows` (out may be x: the bias add in
 * place). Launch: ⌈rows·n / 256⌉ workgroups of 256 invocations, one element each.
 */
export function addRowsGpu(gpu: Gpu, x: GpuArray, b: GpuArray, out: GpuArray, rows: number, n: number): void {
  checkAlias("addRowsGpu", x, out);
  checkAlias("addRowsGpu", b, out);
  if (same(b, out)) throw new Error("addRowsGpu: the bias may not be the output");
  addSpans(gpu, x, b, out, rows * n, n, true);
}

/** Records y[r, j] += b[j] for `rows` rows of width n, as `addBias` (see {@link addRowsGpu}). */
export function addBiasGpu(gpu: Gpu, y: GpuArray, b: GpuArray, rows: number, n: number): void {
  addRowsGpu(gpu, y, b, y, rows, n);
}

/**
 * Records out[i] = a[i] + b[i] for i < n, as `addVec`; out may be a or b (or both). Launch: ⌈n / 256⌉
 * workgroups of 256 invocations, one element each.
 */
export function addVecGpu(gpu: Gpu, a: GpuArray, b: GpuArray, out: GpuArray, n: number): void {
  checkAlias("addVecGpu", a, out);
  checkAlias("addVecGpu", b, out);
  // IEEE addition commutes: out = a + out is out + a, the in-place form with a as the other operand
  if (same(b, out) && !same(a, out)) addSpans(gpu, b, a, out, n, n, false);
  else addSpans(gpu, a, b, out, n, n, false);
}

/**
 * Pass 1 of the column sums: partial[c, j] = Σ g[r, j] over chunk c's rows, in row order. Launch: ⌈n / 64⌉ ×
 * (chunks in the piece) workgroups of 64 invocations, one column each.
 */
const PARTIAL_WGSL = /* wgsl */ `
struct P { n: u32, rows: u32, chunkRows: u32, gr: u32, chunk0: u32 }
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${COLS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let j = wid.x * ${COLS}u + l;
  if (j >= p.n) { return; }
  let r0 = wid.y * p.chunkRows;
  let r1 = min(r0 + p.chunkRows, p.rows);
  var s = 0.0;
  for (var r = r0; r < r1; r++) { s += g[p.gr + r * p.n + j]; }
  partial[(p.chunk0 + wid.y) * p.n + j] = s;
}`;

/** Pass 2: out[j] += Σ_c partial[c, j], chunks in order. Launch: ⌈n / 64⌉ workgroups of 64 invocations. */
const TOTAL_WGSL = /* wgsl */ `
struct P { n: u32, chunks: u32, or: u32 }
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${COLS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let j = wid.x * ${COLS}u + l;
  if (j >= p.n) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.chunks; c++) { s += partial[c * p.n + j]; }
  o[p.or + j] = o[p.or + j] + s;
}`;

/**
 * Records out[j] += Σ_r g[r, j] over `rows` rows of width n, as `sumRows` (out is added into). Deterministic:
 * each column sums chunks of ≈√rows rows in order (pass 1), then the chunks' sums in order (pass 2). The
 * order differs from the reference's single running sum, within the fp32 tolerance.
 */
export function sumRowsGpu(gpu: Gpu, g: GpuArray, rows: number, n: number, out: GpuArray): void {
  checkAlias("sumRowsGpu", g, out);
  if (same(g, out)) throw new Error("sumRowsGpu: g may not be the output");
  if (rows === 0 || n === 0) return;
  const limit = bindingElements(gpu);
  const rowsPerPiece = Math.floor((limit - 63) / n);
  if (rowsPerPiece < 1) throw new Error(`sumRowsGpu: a row of ${n} elements exceeds one binding`);
  // chunks × n partial sums must fit one binding too
  const chunkRows = Math.min(
    rowsPerPiece,
    Math.max(Math.ceil(Math.sqrt(rows)), Math.ceil((rows * n) / Math.max(1, limit - n))),
  );
  const chunks = Math.ceil(rows / chunkRows);
  if (chunks * n > limit) throw new Error(`sumRowsGpu: ${rows} rows of ${n} exceed what one pass can reduce`);
  const partial = gpu.array(chunks * n);
  const pass1 = gpu.pipeline(PARTIAL_WGSL);
  const chunksPerPiece = Math.min(65535, Math.floor(rowsPerPiece / chunkRows));
  const cols = Math.ceil(n / COLS);
  for (let c0 = 0; c0 < chunks; c0 += chunksPerPiece) {
    const c1 = Math.min(chunks, c0 + chunksPerPiece);
    const r0 = c0 * chunkRows, r1 = Math.min(rows, c1 * chunkRows);
    const gs = bindSpan(g, r0 * n, (r1 - r0) * n);
    const params = gpu.params().u32(n, r1 - r0, chunkRows, gs.at, c0);
    gpu.dispatch(pass1, [gs.array, partial], [cols, c1 - c0], params);
  }
  const os = bindSpan(out, 0, n);
  gpu.dispatch(gpu.pipeline(TOTAL_WGSL), [partial, os.array], [cols], gpu.params().u32(n, chunks, os.at));
  gpu.release(partial);
}
