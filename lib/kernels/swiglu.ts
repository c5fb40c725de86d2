/**
 * The SwiGLU gate (LLaMA's MLP), forward and backward: silu(g) ⊙ u. It runs on the WASM kernel, in place, when
 * every array lives in the kernel memory (a training step's arena, parameters), and on the plain loop otherwise
 * (and for float64, the gradient checks).
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import * as jobs from "./wasm/jobs.ts";
import { residentAddresses } from "./wasm/runtime.ts";

/** out[i] = silu(g[i]) · u[i] with silu(x) = x·σ(x). */
export function swigluForward(g: Float, u: Float, out: Float, n: number): void {
  if (useWasm(g, n)) {
    const r = residentAddresses(g, u, out);
    if (r !== null) return jobs.swigluForward(n, r[0], r[1], r[2]);
  }
  for (let i = 0; i < n; i++) {
    const x = g[i];
    out[i] = (x / (1 + Math.exp(-x))) * u[i];
  }
}

/** dg = dy · u · silu'(g), du = dy · silu(g) (null skips one); silu'(x) = σ(x)·(1 + x·(1 − σ(x))). */
export function swigluBackward(
  g: Float,
  u: Float,
  dy: Float,
  dg: Float | null,
  du: Float | null,
  n: number,
): void {
  if (useWasm(g, n)) {
    const r = residentAddresses(g, u, dy, dg, du);
    if (r !== null) return jobs.swigluBackward(n, r[0], r[1], r[2], r[3], r[4]);
  }
  for (let i = 0; i < n; i++) {
    const x = g[i], sig = 1 / (1 + Math.exp(-x));
    if (dg !== null) dg[i] = dy[i] * u[i] * sig * (1 + x * (1 - sig));
    if (du !== null) du[i] = dy[i] * x * sig;
  }
}
