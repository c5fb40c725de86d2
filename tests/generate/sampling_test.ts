import {
  argmax,
  sampleToken,
  type SamplingOptions,
  tokenProbabilities,
  validateSampling,
} from "../../lib/generate/sampling.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

/** A reference softmax in float64, over the listed ids only. */
function softmaxOver(logits: number[], ids: number[], temperature: number): Map<number, number> {
  const z = ids.map((i) => Math.exp(logits[i] / temperature));
  const s = z.reduce((a, b) => a + b, 0);
  return new Map(ids.map((id, j) => [id, z[j] / s]));
}

/** Draws n tokens and returns the empirical frequency of each id. */
function frequencies(logits: Float32Array, opts: SamplingOptions, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const counts = new Float64Array(logits.length);
  for (let i = 0; i < n; i++) counts[sampleToken(logits, opts, rng)]++;
  return counts.map((c) => c / n);
}

function randomLogits(rng: Rng, V: number): Float32Array {
  return Float32Array.from({ length: V }, () => rng.normal() * 3);
}

Deno.test("greedy is the argmax, lowest index on ties, and draws nothing", () => {
  const rng = new Rng(3);
  const before = rng.state();
  assertEquals(sampleToken(new Float32Array([0.1, 2, -1, 2, 1.5]), { greedy: true }, rng), 1);
  assertEquals(sampleToken(new Float64Array([-5, -Infinity, -4.5]), { greedy: true }, rng), 2);
  assertEquals(sampleToken(new Float32Array([7]), { greedy: true, temperature: 0 }, rng), 0);
  assertEquals(rng.state(), before);
  assertEquals(argmax(new Float32Array([3, 3, 3])), 0);
});

Deno.test("top-k = 1 and a tiny top-p both equal greedy", () => {
  const gen = new Rng(11), rng = new Rng(12);
  for (let trial = 0; trial < 50; trial++) {
    const logits = randomLogits(gen, 37);
    const g = sampleToken(logits, { greedy: true }, rng);
    for (const temperature of [0.3, 1, 2.5]) {
      assertEquals(sampleToken(logits, { topK: 1, temperature }, rng), g);
      assertEquals(sampleToken(logits, { topP: 1e-9, temperature }, rng), g);
    }
  }
  // Tie at the top: top-k = 1 keeps the lower id, like greedy.
  const tie = new Float32Array([0, 4, 1, 4]);
  for (let i = 0; i < 20; i++) assertEquals(sampleToken(tie, { topK: 1 }, rng), 1);
});

Deno.test("a non-greedy draw consumes exactly one rng.next()", () => {
  const logits = new Float32Array([1, 2, 3, 0.5]);
  for (const opts of [{}, { topK: 1 }, { topK: 2, topP: 0.5, temperature: 0.7 }] as SamplingOptions[]) {
    const a = new Rng(5), b = new Rng(5);
    sampleToken(logits, opts, a);
    b.next();
    assertEquals(a.state(), b.state());
  }
});

Deno.test("plain draws follow softmax(logits / temperature)", () => {
  const raw = [2, 1, 0.5, 0, -1, -3];
  const logits = new Float32Array(raw);
  const temperature = 0.8;
  const expected = softmaxOver(raw, [0, 1, 2, 3, 4, 5], temperature);
  const freq = frequencies(logits, { temperature }, 20000, 1);
  for (let i = 0; i < raw.length; i++) assertClose(freq[i], expected.get(i)!, 0.015, `token ${i}`);
});

Deno.test("top-k draws follow the renormalised top-k distribution; other tokens never appear", () => {
  const raw = [0.5, 2, -1, 1, 0, 1.5, -3, 0.2];
  const logits = new Float32Array(raw);
  // The three largest logits are at ids 1 (2), 5 (1.5), 3 (1).
  const expected = softmaxOver(raw, [1, 5, 3], 1.3);
  const freq = frequencies(logits, { topK: 3, temperature: 1.3 }, 20000, 2);
  for (let i = 0; i < raw.length; i++) {
    const p = expected.get(i);
    if (p === undefined) assertEquals(freq[i], 0, `token ${i} is outside the top-k`);
    else assertClose(freq[i], p, 0.015, `token ${i}`);
  }
});

Deno.test("top-p keeps the smallest most-probable set reaching p", () => {
  const raw = [Math.log(0.1), Math.log(0.4), Math.log(0.05), Math.log(0.3), Math.log(0.15)];
  const logits = new Float64Array(raw);
  // Sorted: 0.4 (id 1), 0.3 (id 3), 0.15 (id 4), 0.1, 0.05. Cumulative: 0.4, 0.7, 0.85 ≥ 0.8.
  const expected = new Map([[1, 0.4 / 0.85], [3, 0.3 / 0.85], [4, 0.15 / 0.85]]);
  const freq = frequencies(new Float32Array(raw), { topP: 0.8 }, 20000, 3);
  for (let i = 0; i < raw.length; i++) {
    const p = expected.get(i);
    if (p === undefined) assertEquals(freq[i], 0, `token ${i} is outside the nucleus`);
    else assertClose(freq[i], p, 0.015, `token ${i}`);
  }
  assertAllClose(
    tokenProbabilities(logits, { topP: 0.8 }),
    [0, 0.4 / 0.85, 0, 0.3 / 0.85, 0.15 / 0.85],
    1e-12,
  );
  // p = 0.4 is reached by the first token alone; p = 1 keeps everything.
  assertAllClose(tokenProbabilities(logits, { topP: 0.4 }), [0, 1, 0, 0, 0], 1e-12);
  assertAllClose(tokenProbabilities(logits, { topP: 1 }), [0.1, 0.4, 0.05, 0.3, 0.15], 1e-12);
});

Deno.test("top-k then top-p compose in that order", () => {
  const raw = [Math.log(0.1), Math.log(0.4), Math.log(0.05), Math.log(0.3), Math.log(0.15)];
  // top-k 3 → {0.4, 0.3, 0.15} renormalised to {0.47, 0.35, 0.18}; top-p 0.8 → 0.47 + 0.35 = 0.82 ≥ 0.8.
  const probs = tokenProbabilities(new Float32Array(raw), { topK: 3, topP: 0.8 });
  assertAllClose(probs, [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0], 1e-6);
  const freq = frequencies(new Float32Array(raw), { topK: 3, topP: 0.8 }, 10000, 4);
  assertClose(freq[1], 0.4 / 0.7, 0.02);
  assertClose(freq[1] + freq[3], 1, 0);
});

Deno.test("-Infinity logits are never drawn; k ≥ V keeps all", () => {
  const logits = new Float32Array([-Infinity, 0, -Infinity, 0]);
  const rng = new Rng(9);
  for (let i = 0; i < 500; i++) {
    const t = sampleToken(logits, { topK: 100 }, rng);
    assertTrue(t === 1 || t === 3, `drew ${t}`);
  }
  assertAllClose(tokenProbabilities(logits, { topK: 4, temperature: 0.1 }), [0, 0.5, 0, 0.5], 1e-12);
});

Deno.test("invalid options and logits give clear errors", () => {
  const rng = new Rng(0);
  const logits = new Float32Array([1, 2]);
  assertThrows(() => sampleToken(logits, { temperature: 0 }, rng), "temperature must be > 0", "greedy");
  assertThrows(() => sampleToken(logits, { temperature: -1 }, rng), "temperature");
  assertThrows(() => sampleToken(logits, { temperature: NaN }, rng), "temperature");
  assertThrows(() => sampleToken(logits, { topK: 0 }, rng), "top_k must be a positive integer");
  assertThrows(() => sampleToken(logits, { topK: 2.5 }, rng), "top_k must be a positive integer");
  assertThrows(() => sampleToken(logits, { topP: 0 }, rng), "top_p must be in (0, 1]");
  assertThrows(() => sampleToken(logits, { topP: 1.01 }, rng), "top_p must be in (0, 1]");
  assertThrows(() => validateSampling({ topP: NaN }), "top_p");
  assertThrows(() => sampleToken(new Float32Array(0), {}, rng), "empty logits");
  assertThrows(() => sampleToken(new Float32Array([1, NaN]), {}, rng), "NaN");
  assertThrows(() => sampleToken(new Float32Array([1, NaN]), { greedy: true }, rng), "NaN");
  assertThrows(() => sampleToken(new Float32Array([-Infinity]), {}, rng), "-Infinity");
});
