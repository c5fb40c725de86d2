/**
 * Exact t-SNE (van der Maaten & Hinton, 2008) for a few hundred to a few thousand points: O(N²) per iteration,
 * no tree approximation.
 *
 * 1. Input affinities: for each point i a Gaussian over the squared distances to the others, its precision
 *    found by binary search so that the distribution's perplexity exp(H) equals the requested perplexity; then
 *    symmetrised, p_ij = (p_j|i + p_i|j) / 2N.
 * 2. Output: 2-D points, started from a tiny seeded Gaussian, moved by gradient descent on KL(P‖Q) with a
 *    Student-t kernel q_ij ∝ 1/(1 + ‖y_i − y_j‖²), early exaggeration (P × 12 for the first 250 iterations),
 *    momentum (0.5, then 0.8) and per-coordinate adaptive gains.
 *
 * Everything is float64 and sequential, and the only randomness is the seeded {@link Rng}, so the same input and
 * seed give bit-identical output.
 *
 * @module
 */
import { Rng } from "../random.ts";

/** Options of {@link tsne}. */
export interface TsneOptions {
  /** Target perplexity (default 30; lowered to (N − 1)/3 for small N). */
  perplexity?: number;
  /** Gradient steps (default 1000). */
  iterations?: number;
  /** Step size; default max(N / exaggeration / 4, 50). */
  learningRate?: number;
  /** Factor on P during the first iterations (default 12). */
  earlyExaggeration?: number;
  /** Iterations with exaggeration and the lower momentum (default 250). */
  exaggerationIterations?: number;
  /** Seed of the initial layout (default 0). */
  seed?: number;
}

/** Result of {@link tsne}. */
export interface TsneResult {
  /** The layout, (N, 2) row-major, centred on the origin. */
  coords: Float64Array;
  /** KL(P‖Q) of the final layout (without exaggeration). */
  kl: number;
  /** The perplexity used. */
  perplexity: number;
}

/** Squared Euclidean distances between the rows of `data` (rows × cols), (N, N) row-major. */
export function squaredDistances(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const D = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = i + 1; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const d = data[i * cols + c] - data[j * cols + c];
        s += d * d;
      }
      D[i * rows + j] = D[j * rows + i] = s;
    }
  }
  return D;
}

/**
 * Conditional affinities p_j|i (row i sums to 1, p_i|i = 0) from squared distances `D` (N, N), each row's
 * Gaussian precision found by binary search so that its perplexity is `perplexity` (to 1e-5 in entropy).
 */
export function conditionalAffinities(D: Float64Array, n: number, perplexity: number): Float64Array {
  const P = new Float64Array(n * n), target = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    // distances relative to the nearest neighbour keep exp() from underflowing; the normalised row is unchanged
    let dmin = Infinity, dsum = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      dmin = Math.min(dmin, D[row + j]);
      dsum += D[row + j];
    }
    const spread = dsum / (n - 1) - dmin;
    let beta = spread > 0 ? 1 / spread : 1, lo = 0, hi = Infinity;
    for (let iter = 0; iter < 200; iter++) {
      let sum = 0, dp = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const d = D[row + j] - dmin, p = Math.exp(-beta * d);
        P[row + j] = p;
        sum += p;
        dp += d * p;
      }
      const h = Math.log(sum) + (beta * dp) / sum; // entropy of the normalised row, in nats
      if (Math.abs(h - target) < 1e-5) break;
      if (h > target) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = (beta + lo) / 2;
      }
    }
    let sum = 0;
    for (let j = 0; j < n; j++) if (j !== i) sum += P[row + j];
    for (let j = 0; j < n; j++) P[row + j] = j === i ? 0 : P[row + j] / sum;
  }
  return P;
}

/** The symmetric joint affinities p_ij = (p_j|i + p_i|j) / 2N (at least 1e-12 off the diagonal). */
export function jointAffinities(cond: Float64Array, n: number): Float64Array {
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      P[i * n + j] = P[j * n + i] = Math.max((cond[i * n + j] + cond[j * n + i]) / (2 * n), 1e-12);
    }
  }
  return P;
}

/** A 2-D t-SNE layout of the rows of `data` (rows × cols, row-major). */
export function tsne(
  data: ArrayLike<number>,
  rows: number,
  cols: number,
  opts: TsneOptions = {},
): TsneResult {
  if (data.length !== rows * cols) {
    throw new Error(`tsne: ${data.length} values for a ${rows}×${cols} matrix`);
  }
  const n = rows;
  if (n < 4) throw new Error(`tsne: need at least 4 points, got ${n}`);
  const perplexity = Math.min(opts.perplexity ?? 30, (n - 1) / 3);
  if (!(perplexity >= 1)) throw new Error(`tsne: perplexity must be >= 1, got ${opts.perplexity}`);
  const iterations = opts.iterations ?? 1000;
  const exaggeration = opts.earlyExaggeration ?? 12;
  const exIters = opts.exaggerationIterations ?? 250;
  const lr = opts.learningRate ?? Math.max(n / exaggeration / 4, 50);
  const P = jointAffinities(conditionalAffinities(squaredDistances(data, rows, cols), n, perplexity), n);

  const rng = new Rng(opts.seed ?? 0);
  const Y = Float64Array.from({ length: 2 * n }, () => 1e-4 * rng.normal());
  const update = new Float64Array(2 * n),
    gains = new Float64Array(2 * n).fill(1),
    grad = new Float64Array(2 * n);
  const num = new Float64Array(n * n);
  for (let it = 0; it < iterations; it++) {
    const ex = it < exIters ? exaggeration : 1, momentum = it < exIters ? 0.5 : 0.8;
    // Student-t kernel and its normaliser
    let Z = 0;
    for (let i = 0; i < n; i++) {
      const yi0 = Y[2 * i], yi1 = Y[2 * i + 1];
      for (let j = i + 1; j < n; j++) {
        const d0 = yi0 - Y[2 * j], d1 = yi1 - Y[2 * j + 1];
        const q = 1 / (1 + d0 * d0 + d1 * d1);
        num[i * n + j] = num[j * n + i] = q;
        Z += 2 * q;
      }
    }
    // dC/dy_i = 4 Σ_j (ex·p_ij − q_ij) num_ij (y_i − y_j)
    for (let i = 0; i < n; i++) {
      let g0 = 0, g1 = 0;
      const yi0 = Y[2 * i], yi1 = Y[2 * i + 1];
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const w = num[i * n + j], m = (ex * P[i * n + j] - w / Z) * w;
        g0 += m * (yi0 - Y[2 * j]);
        g1 += m * (yi1 - Y[2 * j + 1]);
      }
      grad[2 * i] = 4 * g0;
      grad[2 * i + 1] = 4 * g1;
    }
    for (let k = 0; k < 2 * n; k++) {
      gains[k] = (grad[k] > 0) !== (update[k] > 0) ? gains[k] + 0.2 : Math.max(gains[k] * 0.8, 0.01);
      update[k] = momentum * update[k] - lr * gains[k] * grad[k];
      Y[k] += update[k];
    }
    let m0 = 0, m1 = 0;
    for (let i = 0; i < n; i++) m0 += Y[2 * i], m1 += Y[2 * i + 1];
    for (let i = 0; i < n; i++) Y[2 * i] -= m0 / n, Y[2 * i + 1] -= m1 / n;
  }
  return { coords: Y, kl: klDivergence(P, Y, n), perplexity };
}

/** KL(P‖Q) of layout `Y` (N, 2) against joint affinities `P` (N, N). */
export function klDivergence(P: Float64Array, Y: Float64Array, n: number): number {
  let Z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d0 = Y[2 * i] - Y[2 * j], d1 = Y[2 * i + 1] - Y[2 * j + 1];
      Z += 2 / (1 + d0 * d0 + d1 * d1);
    }
  }
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const d0 = Y[2 * i] - Y[2 * j], d1 = Y[2 * i + 1] - Y[2 * j + 1];
      const q = 1 / (1 + d0 * d0 + d1 * d1) / Z, p = P[i * n + j];
      kl += p * Math.log(p / Math.max(q, 1e-300));
    }
  }
  return kl;
}
