import {
  attentionMaps,
  bestHead,
  clearlyAboveChance,
  headStatistics,
  inductionScore,
  repeatedSequences,
  rowEntropy,
  rowScores,
  sampleWindows,
  uniformChance,
  withAttentionHook,
} from "../../lib/analysis/attention.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { tinyConfig } from "../_helpers/models.ts";

/** A (T, T) causal matrix whose row i is `row(i)` (a function of j ≤ i). */
function matrix(T: number, row: (i: number, j: number) => number): Float64Array {
  const p = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) p[i * T + j] = row(i, j);
  return p;
}

Deno.test("rowScores: a shifted identity is a pure previous-token head", () => {
  const T = 9, p = matrix(T, (i, j) => (i === 0 ? 1 : j === i - 1 ? 1 : 0));
  const s = rowScores(p, T);
  assertEquals(s.prevToken, 1);
  assertClose(s.entropy, 0, 0);
  assertClose(s.distance, 1, 1e-12);
  assertClose(s.sink, 1 / (T - 1), 1e-12); // only row 1's previous token is the first token
});

Deno.test("rowScores: a sink head puts everything on position 0", () => {
  const T = 7, p = matrix(T, (_i, j) => (j === 0 ? 1 : 0));
  const s = rowScores(p, T);
  assertEquals(s.sink, 1);
  assertClose(s.entropy, 0, 0);
  assertClose(s.distance, (1 + 2 + 3 + 4 + 5 + 6) / 6, 1e-12);
});

Deno.test("uniform rows: entropy log(i+1) per row, and rowScores equals uniformChance", () => {
  const T = 12, p = matrix(T, (i) => 1 / (i + 1));
  for (let i = 0; i < T; i++) assertClose(rowEntropy(p, T, i), Math.log(i + 1), 1e-12, `row ${i}`);
  const s = rowScores(p, T), c = uniformChance(T);
  assertClose(s.entropy, c.entropy, 1e-12);
  assertClose(s.distance, c.distance, 1e-12);
  assertClose(s.prevToken, c.prevToken, 1e-12);
  assertClose(s.sink, c.sink, 1e-12);
  // previous-token chance is the mean of 1/(i+1) over rows 1…T−1
  let m = 0;
  for (let i = 1; i < T; i++) m += 1 / (i + 1);
  assertClose(c.prevToken, m / (T - 1), 1e-15);
  assertClose(c.distance, T / 4, 1e-12); // mean of i/2 over i = 1…T−1
});

Deno.test("inductionScore: 1 for a perfect induction head, chance for uniform rows; offsets read batched maps", () => {
  const L = 5, T = 2 * L;
  const ind = matrix(T, (i, j) => (i >= L ? (j === i - L + 1 ? 1 : 0) : j === 0 ? 1 : 0));
  assertEquals(inductionScore(ind, T, L), 1);
  const uni = matrix(T, (i) => 1 / (i + 1));
  assertClose(inductionScore(uni, T, L), uniformChance(T, L).induction, 1e-12);
  const both = new Float64Array(2 * T * T);
  both.set(uni);
  both.set(ind, T * T);
  assertEquals(inductionScore(both, T, L, T * T), 1);
  assertClose(rowScores(both, T, T * T).sink, rowScores(ind, T).sink, 0);
  assertThrows(() => inductionScore(ind, T, L + 1), "2L <= T");
});

Deno.test("clearlyAboveChance and bestHead", () => {
  assertTrue(clearlyAboveChance(0.3, 0.035));
  assertTrue(!clearlyAboveChance(0.06, 0.035)); // twice chance but only 0.025 above
  assertTrue(!clearlyAboveChance(0.5, 0.4)); // 0.1 above but not twice
  assertTrue(!clearlyAboveChance(NaN, 0.1));
  const h = (layer: number, prevToken: number) => ({
    layer,
    head: 0,
    entropy: 1,
    distance: 1,
    prevToken,
    sink: 0,
    induction: 0,
  });
  assertEquals(bestHead([h(0, 0.2), h(1, 0.7), h(2, 0.7)], "prevToken")?.layer, 1);
  assertEquals(bestHead([], "sink"), undefined);
});

Deno.test("sampleWindows and repeatedSequences", () => {
  const tokens = Int32Array.from({ length: 50 }, (_, i) => i);
  const w = sampleWindows(tokens, 10, 3);
  assertEquals(w.map((x) => x[0]), [0, 20, 40]);
  assertEquals(w[2].length, 10);
  assertThrows(() => sampleWindows(tokens, 51, 1), "fewer than one window");
  const [s] = repeatedSequences(1, 6, 13, new Rng(1));
  assertEquals([...s.subarray(0, 6)], [...s.subarray(6)]);
  const pooled = repeatedSequences(4, 5, 13, new Rng(2), [3, 7]);
  assertTrue(pooled.every((q) => q.every((t) => t === 3 || t === 7)));
});

Deno.test("attentionMaps: shapes, causal rows summing to 1, hooks and mode restored", () => {
  const model = new GPT(tinyConfig(), new Rng(1));
  model.train();
  const ids = Int32Array.from([1, 2, 3, 4, 5]);
  const a = attentionMaps(model, ids);
  assertEquals([a.nLayer, a.nHead, a.T, a.maps.length, a.maps[0].length], [2, 2, 5, 2, 2]);
  for (const layer of a.maps) {
    for (const m of layer) {
      assertEquals(m.length, 25);
      for (let i = 0; i < 5; i++) {
        let s = 0;
        for (let j = 0; j < 5; j++) {
          if (j > i) assertEquals(m[i * 5 + j], 0);
          s += m[i * 5 + j];
        }
        assertClose(s, 1, 1e-5);
      }
    }
  }
  assertTrue(model.training, "training mode restored");
  assertTrue(model.h.items.every((b) => b.attn.onProbs === undefined), "hooks removed");
  // the same maps again (the copies survived the arena scope)
  assertAllClose(attentionMaps(model, ids).maps[1][1], a.maps[1][1], 0, 0);
  // hooks restored even when the forward throws
  assertThrows(() => withAttentionHook(model, () => {}, () => model.forward(ids, 1, 4)), "ids for shape");
  assertTrue(model.h.items.every((b) => b.attn.onProbs === undefined));
});

// Two interleaved counters from a random start pair (a, b, a+1, b+1, a+2, … mod V): the next token is the
// previous one plus 1, and no other position holds it, so training should grow a previous-token head.
function countersBatch(rows: number, T: number, V: number, rng: Rng): Int32Array {
  const x = new Int32Array(rows * (T + 1));
  for (let r = 0; r < rows; r++) {
    const o = r * (T + 1);
    x[o] = rng.int(V);
    x[o + 1] = rng.int(V);
    for (let t = 2; t <= T; t++) x[o + t] = (x[o + t - 2] + 1) % V;
  }
  return x;
}

Deno.test("end to end: a tiny GPT trained on two interleaved counters grows a previous-token head", () => {
  const V = 7, T = 12, B = 16;
  const model = new GPT(
    tinyConfig({ vocabSize: V, blockSize: T, nLayer: 1, nHead: 2, nEmbd: 32 }),
    new Rng(3),
  );
  const opt = new AdamW(model.namedParameters(), { lr: 1e-2, weightDecay: 0 });
  const rng = new Rng(4);
  const before = headStatistics(model, sampleWindows(countersBatch(8, T, V, new Rng(9)), T, 8), {
    inductionLength: 0,
  });
  let first = 0, last = 0;
  for (let step = 0; step < 80; step++) {
    const seq = countersBatch(B, T, V, rng), x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let r = 0; r < B; r++) {
      x.set(seq.subarray(r * (T + 1), r * (T + 1) + T), r * T);
      y.set(seq.subarray(r * (T + 1) + 1, (r + 1) * (T + 1)), r * T);
    }
    const { loss } = model.forward(x, B, T, { targets: y });
    if (step === 0) first = loss!.item();
    last = loss!.item();
    opt.zeroGrad();
    loss!.backward();
    opt.step();
  }
  const text = countersBatch(40, T, V, new Rng(5));
  const windows = sampleWindows(text, T, 20);
  const stats = headStatistics(model, windows, { inductionLength: 4, inductionSequences: 4 });
  assertEquals([stats.heads.length, stats.T, stats.windows, stats.inductionLength], [2, T, 20, 4]);
  const best = bestHead(stats.heads, "prevToken")!;
  const b0 = bestHead(before.heads, "prevToken")!;
  assertTrue(last < 0.7 * first, `loss ${first} → ${last}`);
  assertTrue(
    clearlyAboveChance(best.prevToken, stats.chance.prevToken) && best.prevToken > 0.6,
    `previous-token ${b0.prevToken.toFixed(3)} → ${
      best.prevToken.toFixed(3)
    } (chance ${stats.chance.prevToken})`,
  );
  assertTrue(Number.isNaN(before.heads[0].induction) && Number.isFinite(stats.heads[0].induction));
  console.log(
    `loss ${first.toFixed(3)} → ${last.toFixed(3)}; previous-token ${b0.prevToken.toFixed(3)} → ` +
      `${best.prevToken.toFixed(3)} (chance ${stats.chance.prevToken.toFixed(3)})`,
  );
});
