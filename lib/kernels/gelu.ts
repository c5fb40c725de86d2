/**
 * GELU, exact form (PyTorch's default): gelu(x) = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)).
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import { gelu as geluJob } from "./wasm/jobs.ts";
import { residentAddresses, wasmHeap } from "./wasm/runtime.ts";

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erf to double precision (|error| < 1e-15): a Taylor series near zero, Lentz's continued fraction for
 * erfc further out. Used for float64 storage (gradient checks) and as the reference for {@link erf32}.
 */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2) {
    // erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))
    const x2 = x * x;
    let term = x, sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return sum * 2 / Math.sqrt(Math.PI);
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))) via modified Lentz.
  const tiny = 1e-300;
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : 1 / d;
    c = ax + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/**
 * erf to float32 precision (|error| < 1.5e-7, Abramowitz & Stegun 7.1.26): cheap enough for the training path.
 */
export function erf32(x: number): number {
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t *
      Math.exp(-ax * ax);
  return x < 0 ? -y : y;
}

/** out[i] = gelu(x[i]). The erf precision follows the storage (float32 or float64). */
export function geluForward(x: Float, out: Float, n: number): void {
  if (useWasm(x, n)) {
    const r = residentAddresses(x, out);
    if (r !== null) return geluJob(n, r[0], 0, r[1]); // in place, no copies
    const heap = wasmHeap(2 * n), p = heap.byteOffset;
    heap.set(x.subarray(0, n), 0);
    geluJob(n, p, 0, p + n * 4);
    out.set(heap.subarray(n, 2 * n));
    return;
  }
  const erf = x instanceof Float64Array ? erf64 : erf32;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + erf(v * INV_SQRT2));
  }
}

/** dx[i] = dy[i] · gelu'(x[i]), gelu'(x) = Φ(x) + x·φ(x). */
export function geluBackward(x: Float, dy: Float, dx: Float, n: number): void {
  if (useWasm(x, n)) {
    const r = residentAddresses(x, dy, dx);
    if (r !== null) return geluJob(n, r[0], r[1], r[2]);
    const heap = wasmHeap(3 * n), p = heap.byteOffset;
    heap.set(x.subarray(0, n), 0);
    heap.set(dy.subarray(0, n), n);
    geluJob(n, p, p + n * 4, p + 2 * n * 4);
    dx.set(heap.subarray(2 * n, 3 * n));
    return;
  }
  const erf = x instanceof Float64Array ? erf64 : erf32;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const cdf = 0.5 * (1 + erf(v * INV_SQRT2));
    const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}
