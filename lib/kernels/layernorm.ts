/**
 * LayerNorm over the last dimension: y = (x − mean) / sqrt(var + eps) · w + b, with biased variance (as PyTorch).
 * Float32 storage on a backend other than `js` runs on the WASM SIMD kernels (in chunks of rows); float64 and the
 * `js` backend take the TypeScript loops.
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import * as jobs from "./wasm/jobs.ts";
import {
  LN_BWD_DB,
  LN_BWD_DW,
  LN_BWD_DX,
  residentAddresses,
  wasmChunkRows,
  wasmHeap,
  wasmKernels,
} from "./wasm/runtime.ts";

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
  if (useWasm(x, rows * C)) {
    layerNormForwardWasm(x, w, b, out, mean, rstd, rows, C, eps);
    return;
  }
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
  if (useWasm(x, rows * C)) {
    layerNormBackwardWasm(x, w, mean, rstd, dy, dx, dw, db, rows, C);
    return;
  }
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

/** {@link layerNormForward} on the wasm kernel, in chunks of rows. */
function layerNormForwardWasm(
  x: Float32Array,
  w: Float,
  b: Float | null,
  out: Float,
  mean: Float,
  rstd: Float,
  rows: number,
  C: number,
  eps: number,
): void {
  const k = wasmKernels()!;
  const r = residentAddresses(x, w, b, out, mean, rstd);
  if (r !== null) {
    // everything lives in the kernel memory: one call, in place
    jobs.layerNormForward(rows, C, r[0], r[1], r[2], r[3], r[4], r[5], eps);
    return;
  }
  const R = Math.min(rows, wasmChunkRows(C));
  // heap layout (floats): [w | b | mean | rstd | x | out], the last four for R rows
  const offW = 0, offB = C, offM = 2 * C, offS = offM + R, offX = offS + R, offY = offX + R * C;
  const heap = wasmHeap(offY + R * C);
  const base = heap.byteOffset;
  heap.set(w.subarray(0, C), offW);
  if (b !== null) heap.set(b.subarray(0, C), offB);
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0), o = r0 * C, n = nr * C;
    heap.set(x.subarray(o, o + n), offX);
    k.layernorm_fwd(
      nr,
      C,
      base + offX * 4,
      base + offW * 4,
      base + offB * 4,
      b === null ? 0 : 1,
      base + offY * 4,
      base + offM * 4,
      base + offS * 4,
      eps,
    );
    out.set(heap.subarray(offY, offY + n), o);
    mean.set(heap.subarray(offM, offM + nr), r0);
    rstd.set(heap.subarray(offS, offS + nr), r0);
  }
}

/** {@link layerNormBackward} on the wasm kernel, in chunks of rows; dw and db stay in the heap until the end. */
function layerNormBackwardWasm(
  x: Float32Array,
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
  if (dx === null && dw === null && db === null) return;
  const flags = (dx !== null ? LN_BWD_DX : 0) | (dw !== null ? LN_BWD_DW : 0) | (db !== null ? LN_BWD_DB : 0);
  const k = wasmKernels()!;
  const r = residentAddresses(x, w, mean, rstd, dy, dx, dw, db);
  if (r !== null) {
    jobs.layerNormBackward(rows, C, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return;
  }
  const R = Math.min(rows, wasmChunkRows(C));
  // heap layout (floats): [w | dw | db | mean | rstd | x | dy | dx], the last five for R rows
  const offW = 0, offDw = C, offDb = 2 * C, offM = 3 * C, offS = offM + R;
  const offX = offS + R, offG = offX + R * C, offDx = offG + R * C;
  const heap = wasmHeap(offDx + R * C);
  const base = heap.byteOffset;
  heap.set(w.subarray(0, C), offW);
  if (dw !== null) heap.set(dw.subarray(0, C), offDw);
  if (db !== null) heap.set(db.subarray(0, C), offDb);
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0), o = r0 * C, n = nr * C;
    heap.set(mean.subarray(r0, r0 + nr), offM);
    heap.set(rstd.subarray(r0, r0 + nr), offS);
    heap.set(x.subarray(o, o + n), offX);
    heap.set(dy.subarray(o, o + n), offG);
    k.layernorm_bwd(
      nr,
      C,
      base + offX * 4,
      base + offW * 4,
      base + offM * 4,
      base + offS * 4,
      base + offG * 4,
      base + offDx * 4,
      base + offDw * 4,
      base + offDb * 4,
      flags,
    );
    if (dx !== null) dx.set(heap.subarray(offDx, offDx + n), o);
  }
  if (dw !== null) dw.set(heap.subarray(offDw, offDw + C));
  if (db !== null) db.set(heap.subarray(offDb, offDb + C));
}
