/**
 * RMSNorm (LLaMA's norm) on the GPU, mirroring lib/kernels/rmsnorm.ts: y = x / √(mean(x²) + eps) · w over rows
 * of width C, saving rstd per row; the backward overwrites dx and accumulates dw.
 *
 * Launch shapes: the forward and the dx backward run one workgroup of {@link WG} invocations per row (each
 * invocation strides the row, then a fixed-order tree reduction); dw is reduced over rows by normgrad.ts
 * (per-block partials, then a fixed-order pass over the blocks). No atomics: two runs give the same bits.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { normWeightGradsGpu } from "./normgrad.ts";
import { bindings, workgroupReduce } from "./wgsl.ts";

/** Invocations per row. */
const WG = 256;

const ROW = /* wgsl */ `
${workgroupReduce("wsum", "f32", "a + b", WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; }
  let o = r * p.C;`;

const FORWARD = /* wgsl */ `
${
  bindings(
    [["x", "read"], ["w", "read"], ["y", "read_write"], ["rstd", "read_write"]],
    "rows: u32, C: u32, eps: f32",
  )
}
${ROW}
  var ss = 0.0;
  for (var j = l; j < p.C; j += ${WG}u) { ss += x[o + j] * x[o + j]; }
  let s = 1.0 / sqrt(wsum(ss, l) / f32(p.C) + p.eps);
  if (l == 0u) { rstd[r] = s; }
  for (var j = l; j < p.C; j += ${WG}u) { y[o + j] = x[o + j] * s * w[j]; }
}`;

const BACKWARD_DX = /* wgsl */ `
${
  bindings(
    [["x", "read"], ["w", "read"], ["rstd", "read"], ["dy", "read"], ["dx", "read_write"]],
    "rows: u32, C: u32",
  )
}
${ROW}
  let s = rstd[r];
  var d = 0.0;
  for (var j = l; j < p.C; j += ${WG}u) { d += dy[o + j] * w[j] * x[o + j] * s; }
  let dot = wsum(d, l) / f32(p.C);
  for (var j = l; j < p.C; j += ${WG}u) { dx[o + j] = s * (dy[o + j] * w[j] - x[o + j] * s * dot); }
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
  gpu.dispatch(gpu.pipeline(FORWARD), [x, w, out, rstd], grid(rows), gpu.params().u32(rows, C).f32(eps));
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
    gpu.dispatch(gpu.pipeline(BACKWARD_DX), [x, w, rstd, dy, dx], grid(rows), gpu.params().u32(rows, C));
  }
  normWeightGradsGpu(gpu, x, null, rstd, dy, dw, null, rows, C);
}
