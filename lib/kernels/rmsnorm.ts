/**
 * RMSNorm (LLaMA's norm), forward and backward, over rows of width C. It runs on the WASM kernel, in place, when
 * every array lives in the kernel memory (a training step's arena, parameters), and on the plain loops otherwise
 * (and for float64, the gradient checks).
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import * as jobs from "./wasm/jobs.ts";
import { residentAddresses } from "./wasm/runtime.ts";

/** y = x / √(mean(x²) + eps) · w over `rows` rows of width C; rstd[r] receives 1/√(mean(x²) + eps). */
export function rmsNormForward(
  x: Float,
  w: Float,
  out: Float,
  rstd: Float,
  rows: number,
  C: number,
  eps: number,
): void {
  if (useWasm(x, rows * C)) {
    const r = residentAddresses(x, w, out, rstd);
    if (r !== null) return jobs.rmsNormForward(rows, C, r[0], r[1], r[2], r[3], eps);
  }
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let ss = 0;
    for (let j = 0; j < C; j++) ss += x[o + j] * x[o + j];
    const s = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = s;
    for (let j = 0; j < C; j++) out[o + j] = x[o + j] * s * w[j];
  }
}

/** dx = s · (dy⊙w − x̂ · mean(dy⊙w⊙x̂)) with x̂ = x·s (dx overwritten); dw += Σ_rows dy⊙x̂ (null skips one). */
export function rmsNormBackward(
  x: Float,
  w: Float,
  rstd: Float,
  dy: Float,
  dx: Float | null,
  dw: Float | null,
  rows: number,
  C: number,
): void {
  if (useWasm(x, rows * C)) {
    const r = residentAddresses(x, w, rstd, dy, dx, dw);
    if (r !== null) return jobs.rmsNormBackward(rows, C, r[0], r[1], r[2], r[3], r[4], r[5]);
  }
  for (let r = 0; r < rows; r++) {
    const o = r * C, s = rstd[r];
    let dot = 0;
    for (let j = 0; j < C; j++) dot += dy[o + j] * w[j] * x[o + j] * s;
    dot /= C;
    for (let j = 0; j < C; j++) {
      const xh = x[o + j] * s;
      if (dx !== null) dx[o + j] = s * (dy[o + j] * w[j] - xh * dot);
      if (dw !== null) dw[j] += dy[o + j] * xh;
    }
  }
}
