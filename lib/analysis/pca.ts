/**
 * Exact principal component analysis: the data are centred, the (C, C) sample covariance is formed in float64
 * and diagonalised by cyclic Jacobi rotations (deterministic, no random start), and each component's sign is
 * fixed so that its largest-magnitude loading is positive. The same input always gives the same output.
 *
 * @module
 */

/** Eigen-decomposition of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Eigenvectors, one per row (row k belongs to values[k]), unit length. */
  vectors: Float64Array[];
}

/**
 * Eigenvalues and eigenvectors of the symmetric (n, n) row-major matrix `a` by cyclic Jacobi rotations,
 * sorted by decreasing eigenvalue (ties keep index order). `a` is not modified.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, maxSweeps = 100): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`symmetricEigen: ${a.length} entries for a ${n}×${n} matrix`);
  const A = Float64Array.from(a), V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += A[i] * A[i];
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] * A[p * n + q];
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.abs(theta) > 1e150
          ? 1 / (2 * theta)
          : (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        // A ← Jᵀ A J with J the rotation in the (p, q) plane; V ← V J
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = A[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => A[y * n + y] - A[x * n + x] || x - y);
  return {
    values: Float64Array.from(order, (i) => A[i * n + i]),
    vectors: order.map((i) => Float64Array.from({ length: n }, (_, k) => V[k * n + i])),
  };
}

/** Flips `v` in place so that its largest-magnitude entry (the first, on ties) is positive. */
export function normalizeSign(v: Float64Array): Float64Array {
  let at = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]) > Math.abs(v[at])) at = i;
  if (v[at] < 0) { for (let i = 0; i < v.length; i++) v[i] = -v[i]; }
  return v;
}

/** Result of {@link pca}. */
export interface PcaResult {
  /** The column means that were subtracted, (C). */
  mean: Float64Array;
  /** The top k principal directions, unit length, sign-normalised, (C) each. */
  components: Float64Array[];
  /** Variance along each component: the covariance eigenvalue (divisor N − 1). */
  variances: number[];
  /** Each component's share of the total variance. */
  explainedRatio: number[];
  /** Total variance (trace of the covariance). */
  totalVariance: number;
  /** The centred data projected onto the components, (N, k) row-major. */
  projection: Float64Array;
}

/** PCA of `data` (rows × cols, row-major): the top `k` components (default 2) and the projection onto them. */
export function pca(data: ArrayLike<number>, rows: number, cols: number, k = 2): PcaResult {
  if (data.length !== rows * cols) throw new Error(`pca: ${data.length} values for a ${rows}×${cols} matrix`);
  if (rows < 2) throw new Error(`pca: need at least 2 rows, got ${rows}`);
  if (!(k >= 1 && k <= cols)) throw new Error(`pca: k must be in 1…${cols}, got ${k}`);
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += data[r * cols + c];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  const X = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) X[r * cols + c] = data[r * cols + c] - mean[c];
  }
  const cov = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let a = 0; a < cols; a++) {
      const xa = X[o + a];
      if (xa === 0) continue;
      for (let b = a; b < cols; b++) cov[a * cols + b] += xa * X[o + b];
    }
  }
  for (let a = 0; a < cols; a++) {
    for (let b = a; b < cols; b++) cov[a * cols + b] = cov[b * cols + a] = cov[a * cols + b] / (rows - 1);
  }
  let totalVariance = 0;
  for (let a = 0; a < cols; a++) totalVariance += cov[a * cols + a];
  const { values, vectors } = symmetricEigen(cov, cols);
  const components = vectors.slice(0, k).map(normalizeSign);
  const variances = Array.from(values.subarray(0, k), (v) => Math.max(0, v));
  const projection = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += X[r * cols + c] * components[j][c];
      projection[r * k + j] = s;
    }
  }
  return {
    mean,
    components,
    variances,
    explainedRatio: variances.map((v) => (totalVariance > 0 ? v / totalVariance : 0)),
    totalVariance,
    projection,
  };
}
