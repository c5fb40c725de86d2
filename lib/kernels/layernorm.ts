/**
 * LayerNorm over the last dimension: y = (x − mean) / sqrt(var + eps) · w + b, with biased variance (as PyTorch).
 *
 * @module
 */
import type { Float } from "./types.ts";

/** Forward for `rows` rows of width C. Saves mean and 1/std per row (for the backward pass). */
export function layerNormForward(
  x: Float,
  w: Float,
  b: Float | null,
  out: Float,
  mean: Float,
  rstd: Float,
  rows: number,
  C: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let m = 0;
    for (let j = 0; j < C; j++) m += x[o + j];
    m /= C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = x[o + j] - m;
      v += d * d;
    }
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    mean[r] = m;
    rstd[r] = s;
    if (b === null) { for (let j = 0; j < C; j++) out[o + j] = (x[o + j] - m) * s * w[j]; }
    else for (let j = 0; j < C; j++) out[o + j] = (x[o + j] - m) * s * w[j] + b[j];
  }
}

/**
 * Backward: dx = rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂)) with dŷ = dy ⊙ w; dw += Σ dy ⊙ x̂; db += Σ dy.
 * `dx` is overwritten; `dw`/`db` are accumulated (pass null to skip).
 */
export function layerNormBackward(
  x: Float,
  w: Float,
  mean: Float,
  rstd: Float,
  dy: Float,
  dx: Float | null,
  dw: Float | null,
  db: Float | null,
  rows: number,
  C: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * C, m = mean[r], s = rstd[r];
    let sumG = 0, sumGX = 0;
    for (let j = 0; j < C; j++) {
      const xh = (x[o + j] - m) * s;
      const g = dy[o + j] * w[j];
      sumG += g;
      sumGX += g * xh;
      if (dw !== null) dw[j] += dy[o + j] * xh;
      if (db !== null) db[j] += dy[o + j];
    }
    if (dx === null) continue;
    const mg = sumG / C, mgx = sumGX / C;
    for (let j = 0; j < C; j++) {
      const xh = (x[o + j] - m) * s;
      dx[o + j] = s * (dy[o + j] * w[j] - mg - xh * mgx);
    }
  }
}
