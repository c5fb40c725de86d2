/**
 * RMSNorm (LLaMA's norm) on the GPU, mirroring lib/kernels/rmsnorm.ts: y = x / √(mean(x²) + eps) · w over rows
 * of width C, saving rstd per row; the backward overwrites dx and accumulates dw.
 *
 * Launch shapes: the forward and the dx backward run one workgroup per row, 32 to 256 invocations by C
 * (rowWorkgroup), each striding the row, then a fixed-order tree reduction; dw is reduced over rows by
 * normgrad.ts (per-block partials, then a fixed-order pass over the blocks). Arrays larger than one binding are
 * recorded as several dispatches over chunks of whole rows (split.ts). No atomics: two runs give the same bits.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { normWeightGradsGpu } from "./normgrad.ts";
import { forEachChunk } from "./split.ts";
import { bindings, rowMain, rowWorkgroup, workgroupReduce } from "./wgsl.ts";

// the head of a row kernel of wg invocations over a chunk of rows: r (in the chunk; the row is p.r0 + r), o (its
// first element in the bound views)
const row = (wg: number) =>
  workgroupReduce("wsum", "f32", "a + b", wg) + rowMain(wg, "p.nr", "p.skip + r * p.C");

const forwardWgsl = (wg: number) => /* wgsl */ `
${
  bindings(
    [["x", "read"], ["w", "read"], ["y", "read_write"], ["rstd", "read_write"]],
    "nr: u32, C: u32, skip: u32, r0: u32, eps: f32",
  )
}
${row(wg)}
  var ss = 0.0;
  for (var j = lid; j < p.C; j += ${wg}u) { ss += x[o + j] * x[o + j]; }
  let s = 1.0 / sqrt(wsum(ss, lid) / f32(p.C) + p.eps);
  if (lid == 0u) { rstd[p.r0 + r] = s; }
  for (var j = lid; j < p.C; j += ${wg}u) { y[o + j] = x[o + j] * s * w[j]; }
}`;

const backwardDxWgsl = (wg: number) => /* wgsl */ `
${
  bindings(
    [["x", "read"], ["w", "read"], ["rstd", "read"], ["dy", "read"], ["dx", "read_write"]],
    "nr: u32, C: u32, skip: u32, r0: u32",
  )
}
${row(wg)}
  let s = rstd[p.r0 + r];
  var d = 0.0;
  for (var j = lid; j < p.C; j += ${wg}u) { d += dy[o + j] * w[j] * x[o + j] * s; }
  let dot = wsum(d, lid) / f32(p.C);
  for (var j = lid; j < p.C; j += ${wg}u) { dx[o + j] = s * (dy[o + j] * w[j] - x[o + j] * s * dot); }
}`;

/**
 * Records out = x / √(mean(x²) + eps) · w over `rows` rows of width C, rstd[r] = 1/√(mean(x²) + eps) (f32 arrays:
 * x and out rows·C, w C, rstd rows).
 */
export function rmsNormForwardGpu(
  gpu: Gpu,
  x: GpuArray,
  w: GpuArray,
  out: GpuArray,
  rstd: GpuArray,
  rows: number,
  C: number,
  eps: number,
): void {
  const pipeline = gpu.pipeline(forwardWgsl(rowWorkgroup(C)));
  forEachChunk(gpu, rows, C, (c, view) => {
    const params = gpu.params().u32(c.nr, C, c.skip, c.r0).f32(eps);
    gpu.dispatch(pipeline, [view(x), w, view(out), rstd], grid(c.nr), params);
  });
}

/**
 * Records dx = s · (dy⊙w − x̂ · mean(dy⊙w⊙x̂)) with x̂ = x·s (dx overwritten) and dw += Σ_rows dy⊙x̂
 * (accumulated, as the js kernel does); null skips either.
 */
export function rmsNormBackwardGpu(
  gpu: Gpu,
  x: GpuArray,
  w: GpuArray,
  rstd: GpuArray,
  dy: GpuArray,
  dx: GpuArray | null,
  dw: GpuArray | null,
  rows: number,
  C: number,
): void {
  if (dx !== null) {
    const pipeline = gpu.pipeline(backwardDxWgsl(rowWorkgroup(C)));
    forEachChunk(gpu, rows, C, (c, view) => {
      const params = gpu.params().u32(c.nr, C, c.skip, c.r0);
      gpu.dispatch(pipeline, [view(x), w, rstd, view(dy), view(dx)], grid(c.nr), params);
    });
  }
  normWeightGradsGpu(gpu, x, null, rstd, dy, dw, null, rows, C);
}
