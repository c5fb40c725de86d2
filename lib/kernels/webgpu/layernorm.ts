/**
 * LayerNorm on the GPU, mirroring lib/kernels/layernorm.ts: y = (x − mean) / sqrt(var + eps) · w + b over rows of
 * width C (biased variance), saving mean and 1/std per row; the backward overwrites dx and accumulates dw, db.
 *
 * Launch shapes: the forward and the dx backward run one workgroup of {@link WG} invocations per row (each
 * invocation strides the row, then a fixed-order tree reduction); dw/db are reduced over rows by normgrad.ts
 * (per-block partials, then a fixed-order pass over the blocks). No atomics: two runs give the same bits.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { normWeightGradsGpu } from "./normgrad.ts";
import { type Binding, bindings, workgroupReduce } from "./wgsl.ts";

/** Invocations per row in the row kernels. */
const WG = 256;

const ROW = /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; }
  let o = r * p.C;`;

function forwardWgsl(bias: boolean): string {
  const arrays: Binding[] = [["x", "read"], ["w", "read"]];
  if (bias) arrays.push(["b", "read"]);
  arrays.push(["y", "read_write"], ["mean", "read_write"], ["rstd", "read_write"]);
  return /* wgsl */ `
${bindings(arrays, "rows: u32, C: u32, eps: f32")}
${workgroupReduce("wsum", "f32", "a + b", WG)}
${ROW}
  var s = 0.0;
  for (var j = l; j < p.C; j += ${WG}u) { s += x[o + j]; }
  let m = wsum(s, l) / f32(p.C);
  var v = 0.0;
  for (var j = l; j < p.C; j += ${WG}u) {
    let d = x[o + j] - m;
    v += d * d;
  }
  let rs = 1.0 / sqrt(wsum(v, l) / f32(p.C) + p.eps);
  if (l == 0u) {
    mean[r] = m;
    rstd[r] = rs;
  }
  for (var j = l; j < p.C; j += ${WG}u) { y[o + j] = (x[o + j] - m) * rs * w[j]${bias ? " + b[j]" : ""}; }
}`;
}

const BACKWARD_DX = /* wgsl */ `
${
  bindings(
    [["x", "read"], ["w", "read"], ["mean", "read"], ["rstd", "read"], ["dy", "read"], ["dx", "read_write"]],
    "rows: u32, C: u32",
  )
}
${workgroupReduce("wsum2", "vec2f", "a + b", WG)}
${ROW}
  let m = mean[r];
  let s = rstd[r];
  var acc = vec2f(0.0);
  for (var j = l; j < p.C; j += ${WG}u) {
    let g = dy[o + j] * w[j];
    acc += vec2f(g, g * ((x[o + j] - m) * s));
  }
  let t = wsum2(acc, l) / f32(p.C);
  for (var j = l; j < p.C; j += ${WG}u) {
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
  const arrays = b === null ? [x, w, out, mean, rstd] : [x, w, b, out, mean, rstd];
  gpu.dispatch(gpu.pipeline(forwardWgsl(b !== null)), arrays, grid(rows), gpu.params().u32(rows, C).f32(eps));
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
    gpu.dispatch(
      gpu.pipeline(BACKWARD_DX),
      [x, w, mean, rstd, dy, dx],
      grid(rows),
      gpu.params().u32(rows, C),
    );
  }
  normWeightGradsGpu(gpu, x, mean, rstd, dy, dw, db, rows, C);
}
