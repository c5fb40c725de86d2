import { conditionalAffinities, jointAffinities, squaredDistances, tsne } from "../../lib/analysis/tsne.ts";
import { Rng } from "../../lib/random.ts";
import { assertClose, assertEquals, assertNotEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

/** `k` clusters of `m` points in `dim` dimensions: centres 20 apart on the axes, unit Gaussian spread. */
function clusters(k: number, m: number, dim: number, seed: number): { data: Float64Array; label: number[] } {
  const rng = new Rng(seed), data = new Float64Array(k * m * dim), label: number[] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < m; i++) {
      const r = c * m + i;
      label.push(c);
      for (let d = 0; d < dim; d++) data[r * dim + d] = rng.normal() + (d === c ? 20 : 0);
    }
  }
  return { data, label };
}

Deno.test("conditional affinities reach the requested perplexity and the joint ones sum to 1", () => {
  const { data } = clusters(2, 20, 4, 1), n = 40;
  const D = squaredDistances(data, n, 4);
  const P = conditionalAffinities(D, n, 10);
  for (let i = 0; i < n; i++) {
    let h = 0, s = 0;
    for (let j = 0; j < n; j++) {
      const p = P[i * n + j];
      s += p;
      if (p > 0) h -= p * Math.log(p);
    }
    assertClose(s, 1, 1e-12);
    assertEquals(P[i * n + i], 0);
    assertClose(Math.exp(h), 10, 1e-3, `row ${i} perplexity`);
  }
  const J = jointAffinities(P, n);
  assertClose(J.reduce((a, b) => a + b, 0), 1, 1e-9);
  assertEquals(J[3 * n + 7], J[7 * n + 3]);
});

Deno.test("tsne: the same seed gives identical output, another seed a different one", () => {
  const { data } = clusters(3, 12, 6, 2);
  const opts = { perplexity: 8, iterations: 300, seed: 5 };
  const a = tsne(data, 36, 6, opts), b = tsne(data, 36, 6, opts);
  assertEquals([...a.coords], [...b.coords]);
  assertEquals(a.kl, b.kl);
  assertNotEquals([...tsne(data, 36, 6, { ...opts, seed: 6 }).coords], [...a.coords]);
  assertThrows(() => tsne(data, 3, 6), "values for a 3×6");
});

Deno.test("tsne keeps well-separated clusters separated", () => {
  const k = 3, m = 15, { data, label } = clusters(k, m, 10, 3), n = k * m;
  const { coords, kl, perplexity } = tsne(data, n, 10, { perplexity: 10, iterations: 500, seed: 1 });
  assertEquals(perplexity, 10);
  assertTrue(Number.isFinite(kl) && kl >= 0, `KL ${kl}`);
  // every point's nearest neighbour in the layout is from its own cluster
  for (let i = 0; i < n; i++) {
    let best = -1, bd = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = (coords[2 * i] - coords[2 * j]) ** 2 + (coords[2 * i + 1] - coords[2 * j + 1]) ** 2;
      if (d < bd) bd = d, best = j;
    }
    assertEquals(label[best], label[i], `point ${i}`);
  }
  // and the clusters' centroids are further apart than any cluster is wide
  const centroid = (c: number) => {
    let x = 0, y = 0;
    for (let i = c * m; i < (c + 1) * m; i++) x += coords[2 * i] / m, y += coords[2 * i + 1] / m;
    return [x, y];
  };
  const cs = [0, 1, 2].map(centroid);
  let radius = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = cs[label[i]];
    radius = Math.max(radius, Math.hypot(coords[2 * i] - x, coords[2 * i + 1] - y));
  }
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      const gap = Math.hypot(cs[a][0] - cs[b][0], cs[a][1] - cs[b][1]);
      assertTrue(gap > 2 * radius, `clusters ${a}, ${b}: centroid gap ${gap} vs radius ${radius}`);
    }
  }
});
