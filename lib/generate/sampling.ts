/**
 * Picking the next token from one row of logits: greedy (argmax), or a draw after temperature, top-k and
 * nucleus (top-p) truncation.
 *
 * The order of operations is the usual one (nanoGPT's `generate`, Hugging Face's logits warpers): divide by the
 * temperature, keep the k largest logits, turn them into probabilities, keep the smallest most-probable prefix
 * whose mass reaches p, renormalise, then draw. A non-greedy draw always consumes exactly one `rng.next()`, so
 * the generator's stream advances the same way whatever the logits are.
 *
 * @module
 */
import type { Rng } from "../random.ts";

/** How to turn logits into a token. Every field is optional; the default is a plain draw at temperature 1. */
export interface SamplingOptions {
  /** Logits are divided by this before the softmax; must be > 0 (use `greedy` for the limit 0). Default 1. */
  temperature?: number;
  /** Keep only the k largest logits (ties broken towards the lower id); k ≥ vocabulary size keeps all. */
  topK?: number;
  /** Nucleus sampling: keep the smallest set of most probable tokens whose probability sums to ≥ p, p in (0, 1]. */
  topP?: number;
  /** Take the argmax (lowest id on ties); temperature, top-k and top-p are then irrelevant. */
  greedy?: boolean;
}

/** Throws an Error with a clear message when an option is out of range. Called by {@link sampleToken}. */
export function validateSampling(opts: SamplingOptions): void {
  const { temperature, topK, topP } = opts;
  if (!opts.greedy && temperature !== undefined) {
    if (temperature === 0) {
      throw new Error("sampling: temperature must be > 0; for deterministic decoding use greedy: true");
    }
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new Error(`sampling: temperature must be a finite number > 0, got ${temperature}`);
    }
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) {
    throw new Error(`sampling: top_k must be a positive integer, got ${topK}`);
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new Error(`sampling: top_p must be in (0, 1], got ${topP}`);
  }
}

/** Index of the largest logit; the lowest index wins a tie. NaN logits are an error. */
export function argmax(logits: Float32Array | Float64Array): number {
  if (logits.length === 0) throw new Error("sampling: empty logits");
  let best = 0, max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (Number.isNaN(x)) throw new Error(`sampling: logit ${i} is NaN`);
    if (x > max) {
      max = x;
      best = i;
    }
  }
  return best;
}

/** The candidates left after truncation, most probable first, with their renormalised probabilities. */
interface Candidates {
  /** Token ids, in the order the inverse CDF walks them. */
  ids: Int32Array;
  /** Probabilities of `ids`, summing to 1. */
  probs: Float64Array;
}

// logits: (V). Temperature → top-k → softmax → top-p → renormalise. Works in float64 throughout.
function candidates(logits: Float32Array | Float64Array, opts: SamplingOptions): Candidates {
  const V = logits.length;
  if (V === 0) throw new Error("sampling: empty logits");
  const invT = 1 / (opts.temperature ?? 1);
  const k = Math.min(opts.topK ?? V, V);
  const p = opts.topP ?? 1;
  let ids = new Int32Array(V);
  for (let i = 0; i < V; i++) {
    if (Number.isNaN(logits[i])) throw new Error(`sampling: logit ${i} is NaN`);
    ids[i] = i;
  }
  // Truncation needs the ranking (descending logit, lower id first on ties); a plain draw walks ids in order.
  if (k < V || p < 1) {
    ids.sort((a, b) => logits[b] - logits[a] || a - b);
    ids = ids.subarray(0, k);
  }
  let max = -Infinity;
  for (const i of ids) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) throw new Error("sampling: every logit is -Infinity");
  if (max === Infinity) throw new Error("sampling: a logit is +Infinity");
  const probs = new Float64Array(ids.length);
  let sum = 0;
  for (let j = 0; j < ids.length; j++) {
    const e = Math.exp((logits[ids[j]] - max) * invT);
    probs[j] = e;
    sum += e;
  }
  let n = ids.length;
  if (p < 1) {
    // Smallest prefix (ids are sorted by probability) whose mass reaches p; always at least one token.
    const target = p * sum;
    let cum = 0;
    n = 0;
    while (n < ids.length) {
      cum += probs[n++];
      if (cum >= target) break;
    }
    sum = cum;
  }
  const kept = probs.subarray(0, n);
  for (let j = 0; j < n; j++) kept[j] /= sum;
  return { ids: ids.subarray(0, n), probs: kept };
}

/**
 * The distribution {@link sampleToken} draws from, as a dense vector over the vocabulary (zeros for truncated
 * tokens). Greedy gives a one-hot vector at the argmax.
 */
export function tokenProbabilities(
  logits: Float32Array | Float64Array,
  opts: SamplingOptions = {},
): Float64Array {
  validateSampling(opts);
  const out = new Float64Array(logits.length);
  if (opts.greedy) {
    out[argmax(logits)] = 1;
    return out;
  }
  const { ids, probs } = candidates(logits, opts);
  for (let j = 0; j < ids.length; j++) out[ids[j]] = probs[j];
  return out;
}

/**
 * Picks the next token from one row of logits (length = vocabulary size). Greedy returns the argmax and does not
 * touch `rng`; otherwise exactly one `rng.next()` is drawn and mapped through the inverse CDF of the truncated,
 * renormalised distribution (most probable first when top-k or top-p truncates, id order otherwise).
 * -Infinity logits are never drawn; NaN logits are an error.
 */
export function sampleToken(
  logits: Float32Array | Float64Array,
  opts: SamplingOptions,
  rng: Rng,
): number {
  validateSampling(opts);
  if (opts.greedy) return argmax(logits);
  const { ids, probs } = candidates(logits, opts);
  const u = rng.next();
  let cum = 0;
  for (let j = 0; j < ids.length; j++) {
    cum += probs[j];
    if (u < cum && probs[j] > 0) return ids[j];
  }
  // Rounding can leave the total a hair below 1: fall back to the last token with non-zero probability.
  for (let j = ids.length - 1; j >= 0; j--) if (probs[j] > 0) return ids[j];
  return ids[0];
}
