/**
 * LayerNorm on the GPU, mirroring lib/kernels/layernorm.ts: y = (x − mean) / sqrt(var + eps) · w + b over rows of
 * width C (biased variance), saving mean and 1/std per row; the backward overwrites dx and accumulates dw, db.
 *
 * Launch shapes: the forward and the dx backward run one workgroup per row, 32 to 256 invocations by C
 * (rowWorkgroup), each striding the row, then a fixed-order tree reduction; dw/db are reduced over rows by
 * normgrad.ts (per-block partials, then a fixed-order pass over the blocks). Arrays larger than one binding are
 * recorded as several dispatches over chunks of whole rows (split.ts). No atomics: two runs give the same bits.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { normWeightGradsGpu } from "./normgrad.ts";
import { forEachChunk } from "./split.ts";
import { type Binding, bindings, rowMain, rowWorkgroup, workgroupReduce } from "./wgsl.ts";

// the head of a row kernel of wg invocations over a chunk of rows: r (in the chunk; the row is p.r0 + r), o (its
// first element in the bound views)
const row = (wg: number) => rowMain(wg, "p.nr", "p.skip + r * p.C");

function forwardWgsl(bias: boolean, wg: number): string {
  const arrays: Binding[] = [["x", "read"], ["w", "read"]];
  if (bias) arrays.push(["b", "read"]);
  arrays.push(["y", "read_write"], ["mean", "read_write"], ["rstd", "read_write"]);
  return /* wgsl */ `
${bindings(arrays, "nr: u32, C: u32, skip: u32, r0: u32, eps: f32")}
${workgroupReduce("wsum", "f32", "a + b", wg)}
${row(wg)}
  var s = 0.0;
  for (var j = lid; j < p.C; j += ${wg}u) { s += x[o + j]; }
  let m = wsum(s, lid) / f32(p.C);
  var v = 0.0;
  for (var j = lid; j < p.C; j += ${wg}u) {
    let d = x[o + j] - m;
    v += d * d;
  }
  let rs = 1.0 / sqrt(wsum(v, lid) / f32(p.C) + p.eps);
  if (lid == 0u) {
    mean[p.r0 + r] = m;
    rstd[p.r0 + r] = rs;
  }
  for (var j = lid; j < p.C; j += ${wg}u) { y[o + j] = (x[o + j] - m) * rs * w[j]${bias ? " + b[j]" : ""}; }
}`;
}

const backwardDxWgsl = (wg: number) => /* wgsl */ `
${
  bindings(
    [["x", "read"], ["w", "read"], ["mean", "read"], ["rstd", "read"], ["dy", "read"], ["dx", "read_write"]],
    "nr: u32, C: u32, skip: u32, r0: u32",
  )
}
${workgroupReduce("wsum2", "vec2f", "a + b", wg)}
${row(wg)}
  let m = mean[p.r0 + r];
  let s = rstd[p.r0 + r];
  var acc = vec2f(0.0);
  for (var j = lid; j < p.C; j += ${wg}u) {
    let g = dy[o + j] * w[j];
    acc += vec2f(g, g * ((x[o + j] - m) * s));
  }
  let t = wsum2(acc, lid) / f32(p.C);
  for (var j = lid; j < p.C; j += ${wg}u) {
    let xh = (x[o + j] - m) * s;
    dx[o + j] = s * (dy[o + j] * w[j] - t.x - xh * t.y);
  }
}`;

/**
 * Records the forward for `rows` rows of width C: out = LayerNorm(x)·w (+ b), mean[r] and rstd[r] = 1/std saved
 * for the backward. All arrays f32; x and out (rows·C), w and b (C), mean and rstd (rows).
 */
export function layerNormForwardGpu(
  gpu: Gpu,
  x: GpuArray,
  w: GpuArray,
  b: GpuArray | null,
  out: GpuArray,
  mean: GpuArray,
  rstd: GpuArray,
  rows: number,
  C: number,
  eps: number,
): void {
  const pipeline = gpu.pipeline(forwardWgsl(b !== null, rowWorkgroup(C)));
  forEachChunk(gpu, rows, C, (c, view) => {
    const arrays = b === null ? [view(x), w, view(out), mean, rstd] : [view(x), w, b, view(out), mean, rstd];
    gpu.dispatch(pipeline, arrays, grid(c.nr), gpu.params().u32(c.nr, C, c.skip, c.r0).f32(eps));
  });
}

/**
 * Records the backward: dx = rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂)) with dŷ = dy ⊙ w (dx overwritten);
 * dw += Σ_rows dy ⊙ x̂ and db += Σ_rows dy (accumulated, as the js kernel does; null skips any of the three).
 */
export function layerNormBackwardGpu(
  gpu: Gpu,
  x: GpuArray,
  w: GpuArray,
  mean: GpuArray,
  rstd: GpuArray,
  dy: GpuArray,
  dx: GpuArray | null,
  dw: GpuArray | null,
  db: GpuArray | null,
  rows: number,
  C: number,
): void {
  if (dx !== null) {
    const pipeline = gpu.pipeline(backwardDxWgsl(rowWorkgroup(C)));
    forEachChunk(gpu, rows, C, (c, view) => {
      const params = gpu.params().u32(c.nr, C, c.skip, c.r0);
      gpu.dispatch(pipeline, [view(x), w, mean, rstd, view(dy), view(dx)], grid(c.nr), params);
    });
  }
  normWeightGradsGpu(gpu, x, mean, rstd, dy, dw, db, rows, C);
}
