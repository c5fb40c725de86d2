/**
 * The "Build your own GPT" series (docs/build-your-own-gpt/): every step's `main()` runs with small settings
 * and what it claims is checked — losses fall below the uniform guess, attention cannot see the future, our model
 * computes what the library's GPT computes, sampling is repeatable, and the KV cache changes no token.
 *
 * @module
 */
import { createGPT, noGrad, Rng, Tensor, tokenProbabilities } from "../../mod.ts";
import * as bigram from "../../docs/build-your-own-gpt/01-bigram.ts";
import * as attention from "../../docs/build-your-own-gpt/02-self-attention.ts";
import * as block from "../../docs/build-your-own-gpt/03-block.ts";
import * as gpt from "../../docs/build-your-own-gpt/04-gpt.ts";
import * as training from "../../docs/build-your-own-gpt/05-training.ts";
import * as sampling from "../../docs/build-your-own-gpt/06-sampling.ts";
import * as kvCache from "../../docs/build-your-own-gpt/07-kv-cache.ts";
import { assertAllClose, assertEquals, assertTrue } from "../_helpers/assert.ts";

const quiet = () => {};
const DIR = new URL("../../docs/build-your-own-gpt/", import.meta.url);
const canRead = Deno.permissions.querySync({ name: "read", path: DIR }).state === "granted";

Deno.test("01 bigram: batches are shifted by one; training beats the uniform guess, repeatably", () => {
  const { ids } = bigram.loadText();
  const b = bigram.getBatch(ids, 3, 5, new Rng(4));
  for (let r = 0; r < 3; r++) {
    assertEquals([...b.x.subarray(r * 5 + 1, r * 5 + 5)], [...b.y.subarray(r * 5, r * 5 + 4)]);
  }
  const res = bigram.main({ steps: 150, log: quiet });
  assertTrue(Math.abs(res.lossBefore - res.uniformLoss) < 0.05, `untrained loss ${res.lossBefore} ≈ ln V`);
  assertTrue(
    res.lossAfter < res.uniformLoss - 0.5,
    `trained loss ${res.lossAfter} < ln V = ${res.uniformLoss}`,
  );
  assertTrue(res.sample.startsWith("T") && [...res.sample].length === 61, res.sample);
  assertEquals(bigram.main({ steps: 150, log: quiet }), res); // same seed, same numbers and text
});

Deno.test("02 self-attention: the mask hides the future; the one-head model learns", () => {
  const mask = attention.causalMaskTensor(3);
  assertEquals([...mask.data], [0, -Infinity, -Infinity, 0, 0, -Infinity, 0, 0, 0]);
  // a fresh head on random vectors: changing position t leaves every output before t bit-for-bit unchanged
  const rng = new Rng(2), T = 8, C = 12;
  const head = new attention.Head(C, 4, rng);
  const x = Tensor.from(Array.from({ length: T * C }, () => rng.normal()), [1, T, C]);
  const y = noGrad(() => head.forward(x));
  for (const t of [1, 4, 7]) {
    const x2 = x.detach();
    for (let c = 0; c < C; c++) x2.data[t * C + c] += 1;
    const y2 = noGrad(() => head.forward(x2));
    assertEquals([...y2.data.subarray(0, t * 4)], [...y.data.subarray(0, t * 4)], `outputs before ${t}`);
    assertTrue(y2.data[t * 4] !== y.data[t * 4] || y2.data[t * 4 + 1] !== y.data[t * 4 + 1], `output ${t}`);
  }
  const res = attention.main({ steps: 80, log: quiet });
  assertEquals(res.maxChangeBefore, 0);
  assertTrue(res.maxChangeFrom > 0);
  assertTrue(res.lossAfter < res.uniformLoss - 0.3, `loss ${res.lossAfter} < ln V = ${res.uniformLoss}`);
});

Deno.test("03 block: MiniGPT is causal end to end and learns", () => {
  const rng = new Rng(3), V = 11, T = 10;
  const model = new block.MiniGPT({ vocabSize: V, blockSize: T, nLayer: 2, nHead: 2, nEmbd: 16 }, rng);
  const a = Int32Array.from({ length: T }, () => rng.int(V)), b = a.slice();
  b[6] = (b[6] + 1) % V;
  const [la, lb] = noGrad(() => [model.forward(a, 1, T), model.forward(b, 1, T)]);
  assertEquals([...lb.data.subarray(0, 6 * V)], [...la.data.subarray(0, 6 * V)]);
  assertTrue(lb.data.subarray(6 * V).some((v, i) => v !== la.data[6 * V + i]));
  const res = block.main({ steps: 60, log: quiet });
  assertTrue(res.lossAfter < res.uniformLoss - 0.5, `loss ${res.lossAfter} < ln V = ${res.uniformLoss}`);
  assertTrue(res.parameters > 0);
});

Deno.test("04 gpt: our MiniGPT and the library's GPT share names, logits, loss and gradients", () => {
  const res = gpt.main({ log: quiet });
  assertTrue(res.sameNames);
  assertTrue(res.maxLogitDiff < 1e-5, `logits differ by ${res.maxLogitDiff}`);
  assertTrue(Math.abs(res.lossOurs - res.lossLibrary) < 1e-5, `${res.lossOurs} vs ${res.lossLibrary}`);
  assertTrue(res.maxGradDiff < 1e-5, `gradients differ by ${res.maxGradDiff}`);
  // the same check is not vacuous: a model with other weights gives other logits
  const other = createGPT(configOf(), 99), ours = new block.MiniGPT(configOf(), new Rng(5));
  const ids = Int32Array.from({ length: 8 }, (_, i) => i);
  const [lib, mine] = noGrad(() => [other.forward(ids, 1, 8).logits, ours.forward(ids, 1, 8)]);
  const d = gpt.maxAbsDiff(lib.data, mine.data);
  assertTrue(d > 1e-4, `unrelated models differ by ${d}`);
});

function configOf() {
  return {
    vocabSize: 9,
    blockSize: 8,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
    dropout: 0,
    bias: true,
    tieWeights: false,
  };
}

Deno.test("05 training: train and validation losses fall below the uniform guess", () => {
  const res = training.main({ steps: 60, evalEvery: 30, log: quiet });
  assertEquals(res.history.map((p) => p.step), [0, 30, 60]);
  assertTrue(Math.abs(res.before.train - res.uniformLoss) < 0.05, `untrained ${res.before.train}`);
  assertTrue(res.after.train < res.uniformLoss - 0.5, `train ${res.after.train} < ln V = ${res.uniformLoss}`);
  assertTrue(res.after.val < res.uniformLoss - 0.3, `val ${res.after.val} < ln V = ${res.uniformLoss}`);
});

Deno.test("06 sampling: our probabilities are the library's; a fixed seed gives the same text", () => {
  const rng = new Rng(6);
  const logits = Float32Array.from({ length: 20 }, () => 3 * rng.normal());
  logits[4] = logits[9]; // a tie
  for (const pick of [{}, { temperature: 0.5 }, { temperature: 1.7, topK: 5 }, { topK: 1 }]) {
    assertAllClose(sampling.nextTokenProbs(logits, pick), tokenProbabilities(logits, pick), 1e-7, 1e-6);
  }
  const top3 = new Set(
    Array.from(tokenProbabilities(logits, { topK: 3 })).flatMap((p, i) => p > 0 ? [i] : []),
  );
  for (let i = 0; i < 50; i++) assertTrue(top3.has(sampling.pickToken(logits, { topK: 3 }, rng)));
  const res = sampling.main({ steps: 40, tokens: 30, log: quiet });
  assertEquals(res.sampledAgain, res.sampled);
  assertEquals(res.libraryGreedy, res.greedy);
  for (const s of [res.greedy, res.sampled, res.otherSeed]) {
    assertTrue(s.startsWith("The model ") && s.length === 40, s);
  }
});

Deno.test("07 kv-cache: cached generation gives the tokens of full recompute, with fewer positions", () => {
  const res = kvCache.main({ steps: 40, log: quiet });
  assertEquals(res.cachedGreedy, res.fullGreedy);
  assertEquals(res.cachedSampled, res.fullSampled);
  assertEquals(res.libraryCached, res.fullGreedy);
  assertEquals([res.positionsFull, res.positionsCached], [451, 31]);
  // an untrained model (flat logits, many near-ties) as well, at a full window
  const model = createGPT({ ...configOf(), blockSize: 12 }, 8);
  const prompt = Int32Array.of(1, 2, 3);
  for (const pick of [{ greedy: true }, { temperature: 1.3 }]) {
    const full = sampling.generateFull(model, prompt, 10, pick, new Rng(9));
    const cached = kvCache.generateCached(model, prompt, 10, pick, new Rng(9));
    assertEquals([...cached.tokens], [...full]);
  }
});

Deno.test({
  name: "README: one section per step with its run command",
  ignore: !canRead,
  fn() {
    const readme = Deno.readTextFileSync(new URL("README.md", DIR));
    const steps = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => /^\d\d-.*\.ts$/.test(n)).sort();
    assertEquals(steps.length, 7);
    for (const f of steps) {
      assertTrue(readme.includes(`deno run docs/build-your-own-gpt/${f}`), `README runs ${f}`);
    }
  },
});
