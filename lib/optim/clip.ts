/**
 * Gradient norm, clipping by global norm (as PyTorch's `clip_grad_norm_`) and the non-finite-gradient probe used
 * by the trainer's NaN guard. Parameters with a null gradient are skipped; tied tensors count once.
 *
 * @module
 */
import { readGradSync } from "../tensor/grad.ts";
import { gradNormSq, scaleGrads } from "../tensor/ops/optim.ts";
import { type NamedParam, uniqueParams } from "./param.ts";

const tensorsOf = (params: readonly NamedParam[]) => uniqueParams(params).map((p) => p.tensor);

/** Global L2 norm of all gradients, √(Σ g²), accumulated in float64. NaN/Infinity if a gradient is non-finite. */
export function gradNorm(params: readonly NamedParam[]): number {
  return Math.sqrt(gradNormSq(tensorsOf(params)));
}

/**
 * Clips gradients in place to a global L2 norm of at most `maxNorm` and returns the norm before clipping. As in
 * PyTorch, gradients are multiplied by maxNorm / (norm + 1e-6) when that factor is below 1. A non-finite norm is
 * returned without touching the gradients (the caller's NaN guard decides what to do).
 */
export function clipGradNorm(params: readonly NamedParam[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const tensors = tensorsOf(params);
  const norm = Math.sqrt(gradNormSq(tensors));
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) scaleGrads(tensors, coef);
  return norm;
}

/** Where a non-finite gradient value was found. */
export interface NonFinite {
  /** Name of the parameter (its first name, for tied tensors). */
  name: string;
  /** Flat index of the value in the gradient. */
  index: number;
  /** The value (NaN, Infinity or -Infinity). */
  value: number;
}

/** The first gradient value (parameters in order, then by flat index) that is NaN or ±Infinity, or null if none. */
export function firstNonFinite(params: readonly NamedParam[]): NonFinite | null {
  for (const { name, tensor } of uniqueParams(params)) {
    const g = readGradSync(tensor);
    if (g === null) continue;
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i])) return { name, index: i, value: g[i] };
    }
  }
  return null;
}
