/**
 * Bias add and its gradient on row-major (rows, n) buffers, `y[r, :] += b` and `out += Σ_r g[r, :]`, and the
 * element-wise add of the residual stream. They run
 * on the WASM kernels (split over the thread pool when large), in place, when every array lives in the kernel
 * memory (activations inside a step arena,
 * parameters); otherwise, and for float64, on plain loops.
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import * as jobs from "./wasm/jobs.ts";
import { residentAddresses } from "./wasm/runtime.ts";

/** out[r, j] = x[r, j] + b[j] for `rows` rows of width n (out may be x: the bias add in place). */
export function addRows(x: Float, b: Float, out: Float, rows: number, n: number): void {
  if (useWasm(x, rows * n)) {
    const r = residentAddresses(x, b, out);
    if (r !== null) return jobs.addRows(rows, n, r[0], r[1], r[2]);
  }
  for (let i = 0; i < rows; i++) for (let j = 0, o = i * n; j < n; j++) out[o + j] = x[o + j] + b[j];
}

/** y[r, j] += b[j] for `rows` rows of width n. */
export function addBias(y: Float, b: Float, rows: number, n: number): void {
  addRows(y, b, y, rows, n);
}

/** out[i] = a[i] + b[i] for i < n. */
export function addVec(a: Float, b: Float, out: Float, n: number): void {
  if (useWasm(a, n)) {
    const r = residentAddresses(a, b, out);
    if (r !== null) return jobs.addVec(n, r[0], r[1], r[2]);
  }
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** out[j] += Σ_r g[r, j] over `rows` rows of width n (rows added in order). */
export function sumRows(g: Float, rows: number, n: number, out: Float): void {
  if (useWasm(g, rows * n)) {
    const r = residentAddresses(g, out);
    if (r !== null) return jobs.sumRows(rows, n, r[0], r[1]);
  }
  for (let o = 0; o < rows * n; o += n) for (let j = 0; j < n; j++) out[j] += g[o + j];
}
