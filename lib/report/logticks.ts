/**
 * Tick values for a log-scale axis that are all worth labelling: the sparsest of 1-2-5, 1-2-3-5 and 1…9 per
 * decade that puts at least three ticks in the range. Plot's default log ticks put unlabelled minor ticks everywhere and
 * can leave the top of a short range without a label.
 *
 * @module
 */

function decadeTicks(lo: number, hi: number, mantissas: readonly number[]): number[] {
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of mantissas) {
      const v = Number((m * 10 ** k).toPrecision(12));
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/**
 * Ticks in `[lo, hi]` (0 < lo <= hi) for a log axis, ascending; `undefined` when fewer than two nice values fall
 * in the range (then let the plotting library choose).
 */
export function logTicks(lo: number, hi: number): number[] | undefined {
  if (!(lo > 0) || !(hi >= lo) || !Number.isFinite(hi)) return undefined;
  for (const mantissas of [[1, 2, 5], [1, 2, 3, 5]]) {
    const ticks = decadeTicks(lo, hi, mantissas);
    if (ticks.length >= 3) return ticks;
  }
  const fine = decadeTicks(lo, hi, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  return fine.length >= 2 ? fine : undefined;
}

/** `[min, max]` of the `y` of every point in `series`; `undefined` when there is none. */
export function yExtent(series: readonly (readonly { y: number }[])[]): [number, number] | undefined {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const p of s) lo = Math.min(lo, p.y), hi = Math.max(hi, p.y);
  return lo <= hi ? [lo, hi] : undefined;
}
