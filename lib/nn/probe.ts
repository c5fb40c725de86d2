/**
 * Activation probes: while a probe is active ({@link withProbe}), each transformer block reports the mean and
 * standard deviation of its output, and each GELU MLP the share of its hidden units that are dead on the batch
 * (pre-activation ≤ {@link DEAD_GELU_INPUT} at every position, where GELU's output and slope are both ≈ 0). The
 * trainer turns one on for the forward pass of its detail steps (`train.log_interval_detail`); it costs one
 * pass over each block's output and hidden layer on those steps only.
 *
 * @module
 */

/** A pre-activation at or below this counts as a dead GELU input (GELU(−3) ≈ −0.004, GELU′(−3) ≈ −0.012). */
export const DEAD_GELU_INPUT: number = -3;

/** What a probe collects per block, in call order. */
export interface BlockStats {
  /** Mean of the block's output. */
  mean: number;
  /** Standard deviation of the block's output. */
  std: number;
  /** Share of the MLP's hidden units dead on every position of the batch (null: no GELU MLP). */
  dead_gelu: number | null;
}

/** Collects {@link BlockStats}; blocks report in the order they run. */
export class ActivationProbe {
  /** One entry per block run so far. */
  readonly blocks: BlockStats[] = [];
  #pendingDead: number | null = null;

  /** Records a GELU MLP's pre-activation h (rows × width): the share of columns ≤ the dead threshold everywhere. */
  geluInput(h: ArrayLike<number>, width: number): void {
    const rows = h.length / width, alive = new Uint8Array(width);
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let j = 0; j < width; j++) if (h[o + j] > DEAD_GELU_INPUT) alive[j] = 1;
    }
    let dead = 0;
    for (let j = 0; j < width; j++) dead += alive[j] ? 0 : 1;
    this.#pendingDead = dead / width;
  }

  /** Records a block's output (after the MLP of that block reported, if it has a GELU MLP). */
  blockOutput(y: ArrayLike<number>): void {
    let sum = 0, sq = 0;
    for (let i = 0; i < y.length; i++) {
      sum += y[i];
      sq += y[i] * y[i];
    }
    const mean = sum / y.length;
    this.blocks.push({
      mean,
      std: Math.sqrt(Math.max(0, sq / y.length - mean * mean)),
      dead_gelu: this.#pendingDead,
    });
    this.#pendingDead = null;
  }
}

let active: ActivationProbe | null = null;

/** The probe of the current {@link withProbe} scope, or null. */
export function activeProbe(): ActivationProbe | null {
  return active;
}

/** Runs `fn` with `probe` active (blocks and MLPs report to it), then deactivates it. */
export function withProbe<T>(probe: ActivationProbe, fn: () => T): T {
  const prev = active;
  active = probe;
  try {
    return fn();
  } finally {
    active = prev;
  }
}
