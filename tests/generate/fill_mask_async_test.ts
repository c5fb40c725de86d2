/**
 * `fillMaskAsync` gives `fillMask`'s predictions on the CPU and, within 1e-5 in the probabilities, on the GPU
 * (a Bert moved with `toGpu`; padded rows need the GPU's padding masks, so these rows are unpadded); `fillMask`
 * on a model on the GPU names its async twin.
 */
import assert from "node:assert/strict";
import { fillMask, fillMaskAsync } from "../../lib/generate/fill_mask.ts";
import { type BertConfig, createBert } from "../../lib/nn/models/bert.ts";
import { gpuTest } from "../_helpers/webgpu.ts";

const CONFIG: BertConfig = {
  vocabSize: 17,
  blockSize: 8,
  nLayer: 2,
  nHead: 2,
  nEmbd: 16,
  dropout: 0,
  bias: true,
  tieWeights: true,
};
const MASK = 16;
const IDS = Int32Array.from([1, 2, MASK, 4, 5, 6, MASK, 8, 3, MASK, 5, 5, 9, 10, 11, 12]); // two rows of 8

Deno.test("fillMaskAsync on the CPU gives fillMask's predictions and restores the training flag", async () => {
  const model = createBert(CONFIG, 4);
  model.train();
  const opts = { maskId: MASK, batch: 2, topK: 3 };
  assert.deepEqual(await fillMaskAsync(model, IDS, opts), fillMask(model, IDS, opts));
  assert.ok(model.training);
  await assert.rejects(() => fillMaskAsync(model, IDS, { maskId: MASK, batch: 3 }), /do not split into 3/);
});

gpuTest("webgpu fillMaskAsync: the CPU's candidates, probabilities within 1e-5", async (gpu) => {
  const opts = { maskId: MASK, batch: 2, topK: 4 };
  const want = fillMask(createBert(CONFIG, 4), IDS, opts);
  const model = createBert(CONFIG, 4).toGpu(gpu);
  const got = await fillMaskAsync(model, IDS, opts);
  assert.deepEqual(
    got.map((p) => [p.row, p.position, p.candidates.map((c) => c.id)]),
    want.map((p) => [
      p.row,
      p.position,
      p.candidates.map((c) => c.id),
    ]),
  );
  got.forEach((p, i) =>
    p.candidates.forEach((c, j) => assert.ok(Math.abs(c.prob - want[i].candidates[j].prob) <= 1e-5))
  );
  assert.throws(() => fillMask(model, IDS, opts), /on the GPU; use fillMaskAsync/);
});
