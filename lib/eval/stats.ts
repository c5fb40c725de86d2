/**
 * Small-sample statistics for comparing sweep results across seeds.
 *
 * A sweep runs every configuration once per seed (typically 3–5 seeds). To say whether two configurations
 * really differ in a metric, the report needs the difference of the means with a confidence interval across
 * seeds and a p-value. With so few samples the normal approximation is badly wrong, so everything here uses
 * Student's t distribution:
 *
 * - {@link studentTCdf} and {@link studentTQuantile}: the t distribution for any real `df > 0` (Welch's
 *   degrees of freedom are not integers), via the regularized incomplete beta function.
 * - {@link meanInterval}: the t-interval for one configuration's mean.
 * - {@link pairedDifference}: the paired t-test, for two configurations run on the same seeds (`a[i]` and
 *   `b[i]` share a seed); this is the usual comparison in a sweep.
 * - {@link welchDifference}: Welch's unpaired t-test, for samples that do not share seeds.
 *
 * Every function that takes data rejects non-finite values (`NaN`, `±Infinity`) with an `Error` that names the
 * offending index, since a diverged run should be excluded deliberately rather than averaged in.
 *
 * @module
 */

/** A t-interval for a mean, as returned by {@link meanInterval}. */
export interface MeanInterval {
  /** Number of samples. */
  n: number;
  /** Sample mean. */
  mean: number;
  /** Sample standard deviation (denominator `n − 1`); `NaN` when `n = 1`. */
  std: number;
  /** Lower end of the confidence interval; `NaN` when `n = 1`. */
  lo: number;
  /** Upper end of the confidence interval; `NaN` when `n = 1`. */
  hi: number;
}

/** Result of {@link pairedDifference}: a paired t-test on `a − b`. */
export interface PairedDifference {
  /** Which test produced this result. */
  test: "paired t";
  /** Number of pairs. */
  n: number;
  /** Mean of the per-seed differences `a[i] − b[i]`. */
  diff: number;
  /** Lower end of the confidence interval for the mean difference. */
  lo: number;
  /** Upper end of the confidence interval for the mean difference. */
  hi: number;
  /** t statistic `diff / (sd / √n)`. */
  t: number;
  /** Degrees of freedom, `n − 1`. */
  df: number;
  /** Two-sided p-value for the null hypothesis "mean difference is 0". */
  p: number;
}

/** Result of {@link welchDifference}: Welch's unpaired t-test on `mean(a) − mean(b)`. */
export interface WelchDifference {
  /** Which test produced this result. */
  test: "Welch t";
  /** Sample sizes `[a.length, b.length]`. */
  n: [number, number];
  /** Difference of the sample means, `mean(a) − mean(b)`. */
  diff: number;
  /** Lower end of the confidence interval for the difference of means. */
  lo: number;
  /** Upper end of the confidence interval for the difference of means. */
  hi: number;
  /** t statistic `diff / √(s²a/na + s²b/nb)`. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom (generally not an integer). */
  df: number;
  /** Two-sided p-value for the null hypothesis "the means are equal". */
  p: number;
}

// ---------------------------------------------------------------------------------------------------------
// Special functions
// ---------------------------------------------------------------------------------------------------------

/** Lanczos approximation constants for g = 7 with nine terms (relative error around 1e-15). */
const LANCZOS_G = 7;
const LANCZOS_COEF: readonly number[] = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/** Natural log of |Γ(x)| for real `x` that is not a non-positive integer (only `x > 0` is used here). */
function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS_COEF[0];
  for (let k = 1; k < LANCZOS_COEF.length; k++) sum += LANCZOS_COEF[k] / (z + k);
  const base = z + LANCZOS_G + 0.5;
  return HALF_LOG_TWO_PI + (z + 0.5) * Math.log(base) - base + Math.log(sum);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** Smallest magnitude allowed in the Lentz recurrences (guards against division by zero). */
const LENTZ_TINY = 1e-300;
const LENTZ_EPS = 1e-16;
const LENTZ_MAX_ITER = 10_000;

/**
 * Continued fraction for the incomplete beta function, evaluated with the modified Lentz method:
 * `1 / (1 + d1 / (1 + d2 / (1 + …)))` with the standard coefficients `d_k`. Converges fast when
 * `x < (a + 1) / (a + b + 2)`.
 */
function betaContinuedFraction(a: number, b: number, x: number): number {
  // The fraction starts at b0 = 0, a1 = 1; f0 = tiny so the first step yields f = 1 / (1 + d1 / …).
  let f = LENTZ_TINY;
  let c = f;
  let d = 0;
  for (let k = 0; k < LENTZ_MAX_ITER; k++) {
    let numerator: number;
    if (k === 0) {
      numerator = 1;
    } else if (k % 2 === 1) {
      const m = (k - 1) / 2;
      numerator = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    } else {
      const m = k / 2;
      numerator = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    }
    d = 1 + numerator * d;
    if (Math.abs(d) < LENTZ_TINY) d = LENTZ_TINY;
    d = 1 / d;
    c = 1 + numerator / c;
    if (Math.abs(c) < LENTZ_TINY) c = LENTZ_TINY;
    const delta = c * d;
    f *= delta;
    if (k > 0 && Math.abs(delta - 1) < LENTZ_EPS) break;
  }
  return f;
}

/**
 * Regularized incomplete beta function I_x(a, b). The caller passes both `x` and `y = 1 − x` so that a `y`
 * computed without cancellation (e.g. `t² / (df + t²)`) keeps its full precision.
 */
function regularizedIncompleteBeta(a: number, b: number, x: number, y: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  if (x > (a + 1) / (a + b + 2)) {
    // Symmetry I_x(a, b) = 1 − I_y(b, a); the fraction converges quickly on this side.
    return 1 - regularizedIncompleteBeta(b, a, y, x);
  }
  const logFront = a * Math.log(x) + b * Math.log(y) - logBeta(a, b);
  return (Math.exp(logFront) / a) * betaContinuedFraction(a, b, x);
}

/** Throws a RangeError unless `df` is a finite number greater than 0. */
function checkDf(df: number, fn: string): void {
  if (!(Number.isFinite(df) && df > 0)) {
    throw new RangeError(`${fn}: degrees of freedom must be a finite number > 0 (got ${df})`);
  }
}

/**
 * P(|T| ≥ |t|) for T ~ t(df): the two-sided tail, computed directly as I_{df/(df+t²)}(df/2, 1/2) so that
 * small tail probabilities keep full relative precision.
 */
function twoSidedTail(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  if (t === 0) return 1;
  const t2 = t * t;
  if (!(t2 < 1e300)) {
    // Far tail (t² near or past overflow): x = df/t² is below 1e-299, where I_x(a, b) equals its leading term
    // x^a / (a · B(a, b)) to full precision; evaluate it in log space so nothing under- or overflows early.
    const a = df / 2;
    const logX = Math.log(df) - 2 * Math.log(Math.abs(t));
    return Math.exp(a * logX - Math.log(a) - logBeta(a, 0.5));
  }
  const denom = df + t2;
  return regularizedIncompleteBeta(df / 2, 0.5, df / denom, t2 / denom);
}

/** Density of Student's t with `df` degrees of freedom at `t`. */
function studentTPdf(t: number, df: number): number {
  const r = (t * t) / df;
  // log1p(t²/df), written to survive t² overflowing for astronomically large |t|.
  const log1pR = Number.isFinite(r) ? Math.log1p(r) : 2 * Math.log(Math.abs(t)) - Math.log(df);
  const logDensity = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) -
    ((df + 1) / 2) * log1pR;
  return Math.exp(logDensity);
}

/**
 * Cumulative distribution function of Student's t distribution, P(T ≤ t).
 *
 * Computed from the regularized incomplete beta function (continued fraction with the modified Lentz method,
 * log-gamma by the Lanczos approximation), so `df` may be any real number greater than 0, as Welch's
 * degrees of freedom require. Lower-tail values keep full relative precision; upper-tail values near 1 are
 * accurate in absolute terms (about 1e-15).
 *
 * @param t The point to evaluate at; `±Infinity` gives 0 or 1, `NaN` gives `NaN`.
 * @param df Degrees of freedom, a finite number greater than 0.
 * @returns P(T ≤ t) for T ~ t(df).
 * @throws {RangeError} If `df` is not a finite number greater than 0.
 */
export function studentTCdf(t: number, df: number): number {
  checkDf(df, "studentTCdf");
  if (Number.isNaN(t)) return NaN;
  const half = twoSidedTail(t, df) / 2;
  return t < 0 ? half : 1 - half;
}

/**
 * Quantile function (inverse CDF) of Student's t distribution: the `t` with P(T ≤ t) = `p`.
 *
 * Solved by Newton's method on {@link studentTCdf}, safeguarded by bisection inside a bracket, to a relative
 * tolerance of about 1e-14 in `t` (accuracy is then limited by the CDF itself, around 1e-12 relative or better).
 * For `p > 0.5` the symmetry `Q(p) = −Q(1 − p)` is used, so both tails are equally precise. If the quantile
 * is beyond the largest double (only for tiny `df` and extreme `p`) the result is `∓Infinity`.
 *
 * @param p Probability, strictly between 0 and 1.
 * @param df Degrees of freedom, a finite number greater than 0 (need not be an integer).
 * @returns The p-quantile of t(df).
 * @throws {RangeError} If `p` is not in (0, 1) or `df` is not a finite number greater than 0.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) {
    throw new RangeError(`studentTQuantile: p must be strictly between 0 and 1 (got ${p})`);
  }
  checkDf(df, "studentTQuantile");
  if (p === 0.5) return 0;
  // 1 − p is exact for p in [0.5, 1), so the upper tail is as precise as the lower one.
  if (p > 0.5) return lowerTailQuantileMagnitude(1 - p, df);
  return -lowerTailQuantileMagnitude(p, df);
}

/** For `0 < q < 0.5`: the `s > 0` with P(T ≤ −s) = q, i.e. twoSidedTail(s) / 2 = q. */
function lowerTailQuantileMagnitude(q: number, df: number): number {
  // g(s) = tail(s)/2 − q is decreasing in s, positive at s = 0. Bracket the root by doubling.
  const g = (s: number): number => twoSidedTail(s, df) / 2 - q;
  let lo = 0;
  let hi = 1;
  while (g(hi) > 0) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) return Infinity;
  }
  // Start Newton from the left end of the bracket (g is convex for s > 0, so Newton approaches from the left).
  let s = lo > 0 ? lo : 0.5 * hi;
  for (let iter = 0; iter < 300; iter++) {
    const gs = g(s);
    if (gs === 0) return s;
    if (gs > 0) lo = s;
    else hi = s;
    // g'(s) = −pdf(s); Newton step s − g/g' = s + g/pdf.
    const density = studentTPdf(s, df);
    let next = density > 0 ? s + gs / density : NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const step = Math.abs(next - s);
    s = next;
    if (step <= 1e-14 * s || hi - lo <= 4 * Number.EPSILON * hi) break;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Descriptive statistics
// ---------------------------------------------------------------------------------------------------------

/** Throws unless every element of `xs` is a finite number; `label` names the array in the message. */
function checkFinite(xs: readonly number[], label: string): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) {
      throw new Error(`${label}: value ${xs[i]} is not a finite number at index ${i}`);
    }
  }
}

/** Throws a RangeError unless `level` is strictly between 0 and 1. */
function checkLevel(level: number, fn: string): void {
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`${fn}: confidence level must be strictly between 0 and 1 (got ${level})`);
  }
}

/** True when every element equals the first (so the spread is exactly zero, free of rounding). */
function allEqual(xs: readonly number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i] !== xs[0]) return false;
  return true;
}

/** Mean without validation; two passes so the result is accurate even for large offsets. */
function meanUnchecked(xs: readonly number[]): number {
  if (allEqual(xs)) return xs[0];
  let sum = 0;
  for (const x of xs) sum += x;
  const first = sum / xs.length;
  let correction = 0;
  for (const x of xs) correction += x - first;
  return first + correction / xs.length;
}

/** Sample standard deviation (n − 1) without validation; `NaN` for a single value, exactly 0 if all equal. */
function sampleStdUnchecked(xs: readonly number[], m: number): number {
  if (xs.length < 2) return NaN;
  if (allEqual(xs)) return 0;
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (xs.length - 1));
}

/**
 * Arithmetic mean. If all values are identical the result is exactly that value (no rounding).
 *
 * @param xs The samples; at least one, all finite.
 * @returns The mean of `xs`.
 * @throws {Error} If `xs` is empty or holds a non-finite value (the message names its index).
 */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("mean: no values (need at least 1)");
  checkFinite(xs, "mean");
  return meanUnchecked(xs);
}

/**
 * Sample standard deviation with Bessel's correction (denominator `n − 1`). If all values are identical the
 * result is exactly 0.
 *
 * @param xs The samples; at least one, all finite.
 * @returns The sample standard deviation; `NaN` when `xs` has a single value (it is undefined for n = 1).
 * @throws {Error} If `xs` is empty or holds a non-finite value (the message names its index).
 */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error("sampleStd: no values (need at least 1)");
  checkFinite(xs, "sampleStd");
  return sampleStdUnchecked(xs, meanUnchecked(xs));
}

/**
 * Student-t confidence interval for the mean of `xs`: `mean ± Q((1 + level)/2, n − 1) · std / √n`.
 *
 * With a single sample (`n = 1`) the spread is unknown: `std`, `lo` and `hi` are `NaN` (the mean is still
 * reported). If all values are identical, `std` is 0 and the interval is `[mean, mean]`.
 *
 * @param xs The samples (e.g. one configuration's metric, one value per seed); all finite.
 * @param level Confidence level, strictly between 0 and 1 (default 0.95).
 * @returns `{ n, mean, std, lo, hi }`.
 * @throws {Error} If `xs` is empty or holds a non-finite value.
 * @throws {RangeError} If `level` is not in (0, 1).
 */
export function meanInterval(xs: readonly number[], level = 0.95): MeanInterval {
  if (xs.length === 0) throw new Error("meanInterval: no values (need at least 1)");
  checkFinite(xs, "meanInterval");
  checkLevel(level, "meanInterval");
  const n = xs.length;
  const m = meanUnchecked(xs);
  if (n < 2) return { n, mean: m, std: NaN, lo: NaN, hi: NaN };
  const std = sampleStdUnchecked(xs, m);
  const half = studentTQuantile((1 + level) / 2, n - 1) * std / Math.sqrt(n);
  return { n, mean: m, std, lo: m - half, hi: m + half };
}

// ---------------------------------------------------------------------------------------------------------
// Two-sample comparisons
// ---------------------------------------------------------------------------------------------------------

/**
 * The t statistic, two-sided p-value and interval from a difference, its standard error and `df`.
 * Zero standard error: the interval collapses to `[diff, diff]`; a nonzero `diff` gives `t = ±Infinity`
 * and `p = 0`, a zero `diff` gives `t = NaN` and `p = 1` (no evidence of any difference).
 */
function tSummary(
  diff: number,
  se: number,
  df: number,
  level: number,
): { lo: number; hi: number; t: number; p: number } {
  if (se === 0) {
    if (diff === 0) return { lo: diff, hi: diff, t: NaN, p: 1 };
    return { lo: diff, hi: diff, t: diff > 0 ? Infinity : -Infinity, p: 0 };
  }
  const t = diff / se;
  const half = studentTQuantile((1 + level) / 2, df) * se;
  return { lo: diff - half, hi: diff + half, t, p: twoSidedTail(t, df) };
}

/**
 * Paired t-test and confidence interval for the mean of `a[i] − b[i]`, where `a[i]` and `b[i]` were run with
 * the same seed. This is the right comparison for a sweep: pairing removes the seed-to-seed variation that
 * both configurations share.
 *
 * - `df = n − 1`, `t = diff / (sd / √n)`, `p` is two-sided, and the interval is
 *   `diff ± Q((1 + level)/2, df) · sd / √n` (matches `scipy.stats.ttest_rel` and its `confidence_interval`).
 * - Zero variance (every difference identical): the interval is `[diff, diff]`; `t = ±Infinity` with `p = 0`
 *   when `diff ≠ 0`, and `t = NaN` with `p = 1` when `diff = 0` (scipy reports `NaN` for that p-value; 1 is
 *   chosen here so that "no difference at all" never reads as significant).
 * - A single pair (`n = 1`): `df = 0` and `lo`, `hi`, `t`, `p` are `NaN`.
 *
 * @param a Metric of the first configuration, one value per seed; all finite.
 * @param b Metric of the second configuration on the same seeds, in the same order; all finite.
 * @param level Confidence level, strictly between 0 and 1 (default 0.95).
 * @returns `{ test: "paired t", n, diff, lo, hi, t, df, p }`.
 * @throws {Error} If the lengths differ, the arrays are empty, or a value is not finite (the message names it).
 * @throws {RangeError} If `level` is not in (0, 1).
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): PairedDifference {
  if (a.length !== b.length) {
    throw new Error(
      `pairedDifference: a and b must have the same length (one value per seed), got ${a.length} and ${b.length}`,
    );
  }
  if (a.length === 0) throw new Error("pairedDifference: no values (need at least 1 pair)");
  checkFinite(a, "pairedDifference: a");
  checkFinite(b, "pairedDifference: b");
  checkLevel(level, "pairedDifference");
  const n = a.length;
  const d = a.map((x, i) => x - b[i]);
  checkFinite(d, "pairedDifference: a − b (overflow)");
  const diff = meanUnchecked(d);
  if (n < 2) return { test: "paired t", n, diff, lo: NaN, hi: NaN, t: NaN, df: 0, p: NaN };
  const df = n - 1;
  const se = sampleStdUnchecked(d, diff) / Math.sqrt(n);
  return { test: "paired t", n, diff, ...tSummary(diff, se, df, level), df };
}

/**
 * Welch's unpaired t-test and confidence interval for `mean(a) − mean(b)`, not assuming equal variances.
 * Use it when the two samples do not share seeds (otherwise prefer {@link pairedDifference}).
 *
 * - Standard error `se = √(s²a/na + s²b/nb)`, `t = diff / se`, Welch–Satterthwaite
 *   `df = (s²a/na + s²b/nb)² / ((s²a/na)²/(na − 1) + (s²b/nb)²/(nb − 1))`, two-sided `p`, and interval
 *   `diff ± Q((1 + level)/2, df) · se` (matches `scipy.stats.ttest_ind(a, b, equal_var=False)`).
 * - Zero variance in both samples: `se = 0`, so `df` is undefined and reported as `NaN`; the interval is
 *   `[diff, diff]`, `t = ±Infinity` with `p = 0` when `diff ≠ 0`, and `t = NaN` with `p = 1` when `diff = 0`.
 *   (If only one sample has zero variance, everything is computed normally with `df` from the other.)
 * - Either sample of size 1: its variance is unknown, so `lo`, `hi`, `t`, `df`, `p` are `NaN`.
 *
 * @param a Samples of the first group; all finite.
 * @param b Samples of the second group; all finite.
 * @param level Confidence level, strictly between 0 and 1 (default 0.95).
 * @returns `{ test: "Welch t", n: [na, nb], diff, lo, hi, t, df, p }`.
 * @throws {Error} If either array is empty or holds a non-finite value (the message names it).
 * @throws {RangeError} If `level` is not in (0, 1).
 */
export function welchDifference(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): WelchDifference {
  if (a.length === 0 || b.length === 0) {
    throw new Error(
      `welchDifference: both samples need at least 1 value, got ${a.length} and ${b.length}`,
    );
  }
  checkFinite(a, "welchDifference: a");
  checkFinite(b, "welchDifference: b");
  checkLevel(level, "welchDifference");
  const na = a.length;
  const nb = b.length;
  const ma = meanUnchecked(a);
  const mb = meanUnchecked(b);
  const diff = ma - mb;
  const n: [number, number] = [na, nb];
  if (na < 2 || nb < 2) return { test: "Welch t", n, diff, lo: NaN, hi: NaN, t: NaN, df: NaN, p: NaN };
  const sa = sampleStdUnchecked(a, ma);
  const sb = sampleStdUnchecked(b, mb);
  const va = (sa * sa) / na;
  const vb = (sb * sb) / nb;
  const v = va + vb;
  if (v === 0) return { test: "Welch t", n, diff, ...tSummary(diff, 0, NaN, level), df: NaN };
  // Welch–Satterthwaite, with the variances normalized by their sum so squaring cannot underflow.
  const ra = va / v;
  const rb = vb / v;
  const df = 1 / ((ra * ra) / (na - 1) + (rb * rb) / (nb - 1));
  return { test: "Welch t", n, diff, ...tSummary(diff, Math.sqrt(v), df, level), df };
}
