/**
 * Turning a run's events into plot-ready point lists: pick a field, drop missing values, smooth on the full
 * series, then thin to a point budget.
 *
 * @module
 */
import { downsampleMinMax } from "./downsample.ts";
import { emaDebiased, trailingMean } from "./smooth.ts";

/** A plotted point: step and value. */
export interface XY {
  /** Step. */
  x: number;
  /** Value. */
  y: number;
}

/** A field of a series as parallel arrays, missing values dropped. */
export interface Columns {
  /** Steps. */
  xs: number[];
  /** Values. */
  ys: number[];
}

/** The steps and values of `get(p)` over `points`, keeping finite values (and only positive ones if asked). */
export function column<T extends { step: number }>(
  points: readonly T[],
  get: (p: T) => number | undefined,
  positiveOnly = false,
): Columns {
  const xs: number[] = [], ys: number[] = [];
  for (const p of points) {
    const v = get(p);
    if (v === undefined || !Number.isFinite(v) || (positiveOnly && !(v > 0))) continue;
    xs.push(p.step);
    ys.push(v);
  }
  return { xs, ys };
}

/** Zips `xs` with `ys`, thinned by min–max bucketing to at most `maxPoints` points. */
export function thin(xs: readonly number[], ys: readonly number[], maxPoints: number): XY[] {
  return downsampleMinMax(ys, maxPoints).map((i) => ({ x: xs[i], y: ys[i] }));
}

/** A noisy series and its smoothed version, both thinned. */
export interface RawAndSmooth {
  /** The series as logged. */
  raw: XY[];
  /** The smoothed series. */
  smooth: XY[];
}

/** How a series is smoothed: a debiased EMA with decay `beta`, or a trailing mean over `window` points. */
export type Smoother = { ema: number } | { window: number };

/** Smooths `c` on all its points, then thins raw and smoothed series to `maxPoints` each. */
export function rawAndSmooth(c: Columns, smoother: Smoother, maxPoints: number): RawAndSmooth {
  const s = "ema" in smoother ? emaDebiased(c.ys, smoother.ema) : trailingMean(c.ys, smoother.window);
  return { raw: thin(c.xs, c.ys, maxPoints), smooth: thin(c.xs, s, maxPoints) };
}
