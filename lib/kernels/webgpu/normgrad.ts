/**
 * The weight and bias gradients of the row norms (LayerNorm, RMSNorm): dw += Σ_rows dy ⊙ x̂ and db += Σ_rows dy,
 * with x̂ = (x − mean)·rstd (LayerNorm) or x·rstd (RMSNorm, no mean), reduced over rows without atomics.
 *
 * Launch shape: per-block partials (a 2-D launch: {@link CW} columns per workgroup × one block of {@link RB}
 * rows, each invocation summing its column over the block's rows in order), then a pass over the blocks in
 * order, one invocation per column, adding the sum to dw (db). x and dy larger than one binding are read in
 * chunks of whole rows (split.ts), each chunk's blocks in order. Two runs give the same bits.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";
import { chunkView, rowChunks } from "./split.ts";
import { type Binding, bindings } from "./wgsl.ts";

/** Rows per block of the partial sums. */
const RB = 64;
/** Columns per workgroup. */
const CW = 64;

// for the blocks of a chunk of rows (views with skip; the chunk's first row p.r0, its first block p.b0):
// part[b·C + j] = Σ over block b's rows of dy·x̂; part[(nb + b)·C + j] = Σ dy
function partialsWgsl(centered: boolean): string {
  const arrays: Binding[] = centered
    ? [["x", "read"], ["mean", "read"], ["rstd", "read"], ["dy", "read"], ["part", "read_write"]]
    : [["x", "read"], ["rstd", "read"], ["dy", "read"], ["part", "read_write"]];
  return /* wgsl */ `
${bindings(arrays, "nr: u32, C: u32, skip: u32, r0: u32, nb: u32, b0: u32")}
@compute @workgroup_size(${CW})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let blk = gid.y;
  if (j >= p.C) { return; }
  let r1 = min(p.nr, (blk + 1u) * ${RB}u);
  var sw = 0.0;
  var sb = 0.0;
  for (var r = blk * ${RB}u; r < r1; r++) {
    let at = p.skip + r * p.C + j;
    let g = dy[at];
    sw += g * ((x[at]${centered ? " - mean[p.r0 + r]" : ""}) * rstd[p.r0 + r]);
    sb += g;
  }
  part[(p.b0 + blk) * p.C + j] = sw;
  part[(p.nb + p.b0 + blk) * p.C + j] = sb;
}`;
}

// out[j] += Σ_b part[base + b·C + j], the blocks in order
const COLUMN_SUM = /* wgsl */ `
${bindings([["part", "read"], ["out", "read_write"]], "C: u32, nb: u32, base: u32")}
@compute @workgroup_size(${CW})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= p.C) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.nb; b++) { s += part[p.base + b * p.C + j]; }
  out[j] = out[j] + s;
}`;

/**
 * Records dw += Σ_rows dy ⊙ x̂ and db += Σ_rows dy over `rows` rows of width C, x̂ = (x − mean)·rstd, or x·rstd
 * where `mean` is null; null dw or db skips it (nothing is recorded when both are null).
 */
export function normWeightGradsGpu(
  gpu: Gpu,
  x: GpuArray,
  mean: GpuArray | null,
  rstd: GpuArray,
  dy: GpuArray,
  dw: GpuArray | null,
  db: GpuArray | null,
  rows: number,
  C: number,
): void {
  if ((dw === null && db === null) || rows === 0) return;
  const chunks = rowChunks(gpu, rows, C), cw = Math.ceil(C / CW);
  const nb = chunks.reduce((sum, c) => sum + Math.ceil(c.nr / RB), 0);
  const part = gpu.array(2 * nb * C), partials = gpu.pipeline(partialsWgsl(mean !== null));
  let b0 = 0;
  for (const c of chunks) {
    const xv = chunkView(x, c, C), dyv = chunkView(dy, c, C), nbc = Math.ceil(c.nr / RB);
    const arrays = mean === null ? [xv, rstd, dyv, part] : [xv, mean, rstd, dyv, part];
    gpu.dispatch(partials, arrays, [cw, nbc], gpu.params().u32(c.nr, C, c.skip, c.r0, nb, b0));
    b0 += nbc;
  }
  const sum = gpu.pipeline(COLUMN_SUM);
  if (dw !== null) gpu.dispatch(sum, [part, dw], [cw], gpu.params().u32(C, nb, 0));
  if (db !== null) gpu.dispatch(sum, [part, db], [cw], gpu.params().u32(C, nb, nb * C));
  gpu.release(part);
}
