/**
 * Smoothing for noisy training curves, as pure functions of a series. Both are causal: the value at step `t`
 * depends only on points `0..t`, so a smoothed curve never "knows" the future.
 *
 * @module
 */

/**
 * Debiased exponential moving average (the Adam / TensorBoard kind).
 *
 * `ema_t = beta·ema_{t-1} + (1 - beta)·x_t` with `ema_0 = 0`, reported as `ema_t / (1 - beta^t)` (t from 1).
 * The correction removes the pull towards the zero start, so the first output equals `xs[0]`.
 *
 * @param xs the series (finite numbers).
 * @param beta the decay in [0, 1); 0 returns the series unchanged.
 * @returns a new array of the same length.
 */
export function emaDebiased(xs: ArrayLike<number>, beta: number): number[] {
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`emaDebiased: beta must be in [0, 1), got ${beta}`);
  const out = new Array<number>(xs.length);
  let ema = 0;
  let decay = 1; // beta^t
  for (let t = 0; t < xs.length; t++) {
    ema = beta * ema + (1 - beta) * xs[t];
    decay *= beta;
    out[t] = ema / (1 - decay);
  }
  return out;
}

/**
 * Trailing-window mean: `out[i]` is the mean of `xs[max(0, i - window + 1) .. i]`. The first `window - 1`
 * outputs average the points seen so far.
 *
 * @param xs the series (finite numbers).
 * @param window how many points (current included) to average; an integer >= 1.
 * @returns a new array of the same length.
 */
export function trailingMean(xs: ArrayLike<number>, window: number): number[] {
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`trailingMean: window must be an integer >= 1, got ${window}`);
  }
  const out = new Array<number>(xs.length);
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    sum += xs[i];
    if (i >= window) sum -= xs[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}
