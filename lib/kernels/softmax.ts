/**
 * Row-wise softmax and the fused softmax + cross-entropy, on flat (rows, cols) buffers.
 *
 * @module
 */
import type { Float } from "./types.ts";

/** out[r,:] = softmax(x[r,:]) for each of `rows` rows of length `cols` (max-subtracted, so it never overflows). */
export function softmaxForward(x: Float, out: Float, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - max);
      out[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) out[o + j] *= inv;
  }
}

/** dx[r,:] = p ⊙ (dy − ⟨dy, p⟩) for softmax output p: the Jacobian-vector product of softmax. */
export function softmaxBackward(p: Float, dy: Float, dx: Float, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * p[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = p[o + j] * (dy[o + j] - dot);
  }
}

/**
 * Mean cross-entropy of `rows` logit rows against integer targets. A target of `ignoreIndex` is skipped.
 * Writes the softmax probabilities to `probs` (kept for the backward pass) and returns
 * `{ loss, count }` where count is the number of rows that were not ignored.
 */
export function crossEntropyForward(
  logits: Float,
  targets: Int32Array,
  probs: Float,
  rows: number,
  cols: number,
  ignoreIndex: number,
): { loss: number; count: number } {
  softmaxForward(logits, probs, rows, cols);
  let total = 0, count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= cols) throw new Error(`cross-entropy: target ${t} at row ${r} is outside [0, ${cols})`);
    // log p_t computed as (x_t - max) - log Σ exp(x - max) to keep precision when p_t is tiny.
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(logits[o + j] - max);
    total += Math.log(sum) - (logits[o + t] - max);
    count++;
  }
  return { loss: count > 0 ? total / count : 0, count };
}

/** dlogits[r,:] = g · (probs[r,:] − onehot(target)) / count; ignored rows get zero. */
export function crossEntropyBackward(
  probs: Float,
  targets: Int32Array,
  dlogits: Float,
  rows: number,
  cols: number,
  ignoreIndex: number,
  scale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols, t = targets[r];
    if (t === ignoreIndex) {
      dlogits.fill(0, o, o + cols);
      continue;
    }
    for (let j = 0; j < cols; j++) dlogits[o + j] = probs[o + j] * scale;
    dlogits[o + t] -= scale;
  }
}
