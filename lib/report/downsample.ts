/**
 * Thinning long series before plotting. A plot a few hundred pixels wide cannot show more than ~1000 points per
 * line, and drawing more only makes the SVG large and slow. Min–max bucketing keeps each bucket's lowest and
 * highest point, so loss spikes and dips survive the thinning.
 *
 * @module
 */

/**
 * Indices to keep so that a series of `ys` has at most `maxPoints` points: the first and last point, and the
 * minimum and maximum of each of `floor((maxPoints - 2) / 2)` equal buckets in between.
 *
 * @param ys the series' values (non-finite values are never chosen as a bucket's min or max unless the whole
 *   bucket is non-finite).
 * @param maxPoints the budget, >= 4.
 * @returns strictly increasing indices into `ys`.
 */
export function downsampleMinMax(ys: ArrayLike<number>, maxPoints: number): number[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 4) {
    throw new RangeError(`downsampleMinMax: maxPoints must be an integer >= 4, got ${maxPoints}`);
  }
  const n = ys.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.floor((maxPoints - 2) / 2);
  const inner = n - 2; // points 1..n-2
  const out: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const lo = 1 + Math.floor((b * inner) / buckets);
    const hi = 1 + Math.floor(((b + 1) * inner) / buckets); // exclusive
    if (hi <= lo) continue;
    let iMin = lo, iMax = lo;
    for (let i = lo; i < hi; i++) {
      if (ys[i] < ys[iMin] || !(ys[iMin] === ys[iMin])) iMin = i;
      if (ys[i] > ys[iMax] || !(ys[iMax] === ys[iMax])) iMax = i;
    }
    if (iMin === iMax) out.push(iMin);
    else out.push(Math.min(iMin, iMax), Math.max(iMin, iMax));
  }
  out.push(n - 1);
  return out;
}
