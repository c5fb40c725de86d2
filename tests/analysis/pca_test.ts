import { normalizeSign, pca, symmetricEigen } from "../../lib/analysis/pca.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows } from "../_helpers/assert.ts";

/** An orthonormal basis of R^n (rows), by Gram–Schmidt on seeded Gaussian vectors. */
function orthonormalBasis(n: number, rng: Rng): Float64Array[] {
  const basis: Float64Array[] = [];
  while (basis.length < n) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (const b of basis) {
      let d = 0;
      for (let i = 0; i < n; i++) d += v[i] * b[i];
      for (let i = 0; i < n; i++) v[i] -= d * b[i];
    }
    const norm = Math.hypot(...v);
    basis.push(v.map((x) => x / norm));
  }
  return basis;
}

/** Sylvester's Hadamard matrix of order 2^k (entries ±1, orthogonal columns). */
function hadamard(order: number): number[][] {
  let h = [[1]];
  while (h.length < order) h = [...h.map((r) => [...r, ...r]), ...h.map((r) => [...r, ...r.map((x) => -x)])];
  return h;
}

Deno.test("symmetricEigen: a 2×2 matrix with known eigenpairs", () => {
  const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
  assertAllClose(values, [3, 1], 1e-14, 0);
  assertAllClose(normalizeSign(vectors[0]), [Math.SQRT1_2, Math.SQRT1_2], 1e-14, 0);
  const v1 = normalizeSign(vectors[1]);
  assertClose(Math.abs(v1[0]), Math.SQRT1_2, 1e-14);
  assertClose(v1[0] + v1[1], 0, 1e-14);
});

Deno.test("symmetricEigen reconstructs a random symmetric matrix: A = Σ λ v vᵀ", () => {
  const n = 9, rng = new Rng(3), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  const { values, vectors } = symmetricEigen(a, n);
  for (let k = 1; k < n; k++) assertEquals(values[k] <= values[k - 1], true);
  const back = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) back[i * n + j] += values[k] * vectors[k][i] * vectors[k][j];
    }
  }
  assertAllClose(back, a, 1e-12, 0);
});

Deno.test("pca recovers known orthogonal directions and their variances", () => {
  // N = 16 rows: scores are ±σ_k times Hadamard columns 1…4 (mean zero, mutually orthogonal), along four
  // orthonormal directions of R^7, plus a mean offset. The sample covariance is then exactly
  // Σ_k σ_k² · N/(N−1) · d_k d_kᵀ.
  const N = 16, C = 7, sigmas = [3, 2, 1, 0.5];
  const H = hadamard(N), dirs = orthonormalBasis(C, new Rng(7)).slice(0, sigmas.length);
  const offset = Float64Array.from({ length: C }, (_, c) => c - 3);
  const data = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < C; c++) {
      let v = offset[c];
      sigmas.forEach((s, k) => v += s * H[r][k + 1] * dirs[k][c]);
      data[r * C + c] = v;
    }
  }
  const res = pca(data, N, C, 3);
  const expected = sigmas.map((s) => (s * s * N) / (N - 1));
  const total = expected.reduce((a, b) => a + b, 0);
  assertAllClose(res.variances, expected.slice(0, 3), 1e-12, 1e-12);
  assertClose(res.totalVariance, total, 1e-12);
  assertAllClose(res.explainedRatio, expected.slice(0, 3).map((v) => v / total), 1e-13, 0);
  assertAllClose(res.mean, offset, 1e-13, 0);
  for (let k = 0; k < 3; k++) {
    const want = normalizeSign(dirs[k].slice());
    assertAllClose(res.components[k], want, 1e-12, 0, `component ${k}`);
    // projected scores are ±σ_k with the sign of the normalised direction
    const sign = want[0] / dirs[k][0];
    for (let r = 0; r < N; r++) assertClose(res.projection[r * 3 + k], sign * sigmas[k] * H[r][k + 1], 1e-12);
  }
});

Deno.test("pca is deterministic, sign-normalised and invariant to a row permutation", () => {
  const rng = new Rng(11), N = 30, C = 5;
  const data = Float64Array.from({ length: N * C }, (_, i) => rng.normal() * (1 + (i % C)));
  const a = pca(data, N, C), b = pca(data, N, C);
  assertEquals([...a.projection], [...b.projection]);
  for (const comp of a.components) {
    let at = 0;
    for (let i = 1; i < C; i++) if (Math.abs(comp[i]) > Math.abs(comp[at])) at = i;
    assertEquals(comp[at] > 0, true);
  }
  const perm = new Float64Array(N * C);
  for (let r = 0; r < N; r++) perm.set(data.subarray((N - 1 - r) * C, (N - r) * C), r * C);
  const p = pca(perm, N, C);
  for (let k = 0; k < 2; k++) assertAllClose(p.components[k], a.components[k], 1e-10, 0);
  assertThrows(() => pca(data, N, C, 6), "k must be");
  assertThrows(() => pca([1, 2, 3], 1, 3), "at least 2 rows");
});
