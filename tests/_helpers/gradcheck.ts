/**
 * The one op-check helper: compares analytic gradients with float64 central differences.
 *
 * `checkGrad(fn, inputs)` reduces `fn(...inputs)` to a scalar with fixed random weights (so every output element
 * matters), runs backward, then perturbs each input element by ±eps and compares.
 *
 * @module
 */
import { Rng } from "../../lib/random.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { Tensor as T } from "../../lib/tensor/tensor.ts";
import { assertTrue } from "./assert.ts";

/** A float64 tensor of normal samples (requires grad). */
export function randn64(shape: number[], rng: Rng, scale = 1): T {
  const t = T.zeros(shape, "float64", true);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * scale;
  return t;
}

/** Options of {@link checkGrad}. */
export interface GradCheckOptions {
  /** Finite-difference step. */
  eps?: number;
  /** Absolute tolerance. */
  atol?: number;
  /** Relative tolerance. */
  rtol?: number;
  /** Check at most this many elements per input (evenly spaced), to keep big checks fast. */
  maxPerInput?: number;
  /** Seed of the output weights. */
  seed?: number;
}

function weightedSum(out: Tensor, w: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.size; i++) s += out.data[i] * w[i];
  return s;
}

/** Asserts that analytic gradients of `fn` match central differences for every input that requires a gradient. */
export function checkGrad(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradCheckOptions = {},
): void {
  const { eps = 1e-6, atol = 1e-8, rtol = 1e-6, maxPerInput = 200, seed = 7 } = opts;
  for (const x of inputs) {
    assertTrue(x.dtype === "float64", "checkGrad: inputs must be float64");
    x.grad = null;
  }
  const out = fn(...inputs);
  const rng = new Rng(seed);
  const w = new Float64Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  out.backward(w);
  for (const [which, x] of inputs.entries()) {
    if (!x.requiresGrad) continue;
    const analytic = x.grad ?? new Float64Array(x.size);
    const step = Math.max(1, Math.floor(x.size / maxPerInput));
    for (let i = 0; i < x.size; i += step) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const plus = noGrad(() => weightedSum(fn(...inputs), w));
      x.data[i] = orig - eps;
      const minus = noGrad(() => weightedSum(fn(...inputs), w));
      x.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i];
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        throw new Error(
          `gradient mismatch for input ${which}${
            x.name ? ` (${x.name})` : ""
          } element ${i}: analytic ${a}, numeric ${numeric}`,
        );
      }
    }
  }
}
