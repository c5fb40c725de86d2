/**
 * Bias add and its gradient on row-major (rows, n) buffers: `y[r, :] += b` and `out += Σ_r g[r, :]`. They run
 * on the WASM kernels, in place, when every array lives in the kernel memory (activations inside a step arena,
 * parameters); otherwise, and for float64, on plain loops.
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import { residentAddresses, wasmKernels } from "./wasm/runtime.ts";

/** y[r, j] += b[j] for `rows` rows of width n. */
export function addBias(y: Float, b: Float, rows: number, n: number): void {
  if (useWasm(y, rows * n)) {
    const r = residentAddresses(y, b);
    if (r !== null) return wasmKernels()!.add_bias(rows, n, r[0], r[1]);
  }
  for (let i = 0; i < rows; i++) for (let j = 0, o = i * n; j < n; j++) y[o + j] += b[j];
}

/** out[j] += Σ_r g[r, j] over `rows` rows of width n (rows added in order). */
export function sumRows(g: Float, rows: number, n: number, out: Float): void {
  if (useWasm(g, rows * n)) {
    const r = residentAddresses(g, out);
    if (r !== null) return wasmKernels()!.sum_rows(rows, n, r[0], r[1]);
  }
  for (let o = 0; o < rows * n; o += n) for (let j = 0; j < n; j++) out[j] += g[o + j];
}
