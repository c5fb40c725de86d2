/**
 * Learning-rate schedules: functions from the 0-based step to the learning rate for that step.
 *
 * @module
 */

/** A learning-rate schedule: 0-based step → learning rate. */
export type LrSchedule = (step: number) => number;

/** Options for {@link cosineWithWarmup}. */
export interface CosineOptions {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Final learning rate, held after `decaySteps`. */
  minLr: number;
  /** Number of linear warmup steps (0 for none). */
  warmupSteps: number;
  /** Step at which the cosine reaches `minLr` (>= `warmupSteps`). */
  decaySteps: number;
}

/**
 * nanoGPT's `get_lr`: for step `it` < warmup, lr·(it+1)/(warmup+1); for it > decaySteps, minLr; in between, a
 * half cosine from lr (at it = warmup) down to minLr (at it = decaySteps). When decaySteps equals warmupSteps the
 * cosine segment is empty and step `warmupSteps` gets minLr.
 */
export function cosineWithWarmup(opts: CosineOptions): LrSchedule {
  const { lr, minLr, warmupSteps, decaySteps } = opts;
  if (!Number.isFinite(lr) || !Number.isFinite(minLr)) {
    throw new Error(`cosineWithWarmup: lr and minLr must be finite, got ${lr} and ${minLr}`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new Error(`cosineWithWarmup: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  }
  if (!Number.isInteger(decaySteps) || decaySteps < warmupSteps) {
    throw new Error(
      `cosineWithWarmup: decaySteps must be an integer >= warmupSteps (${warmupSteps}), got ${decaySteps}`,
    );
  }
  const span = decaySteps - warmupSteps;
  return (it: number): number => {
    if (it < warmupSteps) return lr * (it + 1) / (warmupSteps + 1);
    if (it >= decaySteps) return minLr;
    const ratio = (it - warmupSteps) / span;
    const coeff = 0.5 * (1 + Math.cos(Math.PI * ratio));
    return minLr + coeff * (lr - minLr);
  };
}

/** A schedule that always returns `lr`. */
export function constantLr(lr: number): LrSchedule {
  return () => lr;
}
