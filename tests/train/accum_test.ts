import { tinyConfig } from "../_helpers/models.ts";
import { Batcher } from "../../lib/data/batcher.ts";
import type { DType } from "../../lib/tensor/tensor.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { uniqueParams } from "../../lib/optim/param.ts";
import { Rng } from "../../lib/random.ts";
import { languageModelData } from "../../lib/train/language_model.ts";
import type { MetricEvent } from "../../lib/train/metrics.ts";
import { train } from "../../lib/train/trainer.ts";
import { assertAllClose, assertEquals, assertTrue } from "../_helpers/assert.ts";
import { freshState } from "../_helpers/train.ts";

// Trains `steps` optimizer steps with k micro-batches of `batch` windows each; returns the train losses and the
// final parameters. The batcher draws windows one after another from its generator, so k batches of B see the
// same windows as one batch of k·B.
async function run(k: number, batch: number, steps: number, dtype: DType) {
  const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 13);
  const model = new GPT(tinyConfig(), new Rng(5), dtype);
  const params = uniqueParams(model.namedParameters());
  const losses: number[] = [];
  const ratios: Record<string, number>[] = [];
  const { state } = await train({
    learner: {
      model,
      params,
      optimizer: new AdamW(params, { lr: 1e-2 }),
      schedule: () => 1e-2,
      gradClip: 1,
      gradAccumSteps: k,
    },
    data: languageModelData(model, new Batcher(tokens, 8, batch, new Rng(6)), []),
    intervals: { maxSteps: steps, log: 1, eval: 1000, checkpoint: 1000 },
    hooks: {
      log: (e: MetricEvent) => {
        if (e.split === "train") {
          losses.push(e.loss);
          if (e.update_ratio) ratios.push(e.update_ratio);
        }
        return Promise.resolve();
      },
      checkpoint: () => Promise.resolve(),
    },
  }, freshState(model));
  return { losses, ratios, state, params: params.map((p) => [...p.tensor.data]) };
}

Deno.test("gradient accumulation: 4 micro-batches of 2 give the update of one batch of 8 (float64)", async () => {
  const one = await run(1, 8, 4, "float64"), four = await run(4, 2, 4, "float64");
  assertAllClose(four.losses, one.losses, 1e-12, 1e-10, "train losses");
  for (let i = 0; i < one.params.length; i++) {
    assertAllClose(four.params[i], one.params[i], 1e-12, 1e-9, `param ${i}`);
  }
  assertEquals(four.state.tokensSeen, one.state.tokensSeen);
});

Deno.test("gradient accumulation in float32 on the fast kernels: same losses, same weights up to rounding", async () => {
  const one = await run(1, 8, 4, "float32"), four = await run(4, 2, 4, "float32");
  assertAllClose(four.losses, one.losses, 1e-6, 1e-6, "train losses");
  // Element by element, weights whose gradient is ~0 (the key biases: softmax ignores them) can differ by a few
  // 1e-6: Adam divides their rounding noise by its own size. Over all weights the difference stays at rounding level.
  let diff = 0, norm = 0;
  one.params.forEach((p, i) =>
    p.forEach((v, j) => {
      diff += (v - four.params[i][j]) ** 2;
      norm += v * v;
    })
  );
  assertTrue(Math.sqrt(diff / norm) < 1e-5, `relative difference ${Math.sqrt(diff / norm)}`);
});

Deno.test("train log lines carry the update/weight ratio of every layer group", async () => {
  const r = await run(1, 4, 3, "float64");
  assertEquals(r.ratios.length, 3);
  for (const u of r.ratios) {
    assertEquals(Object.keys(u).sort(), ["embed", "h.0", "h.1", "head"]);
    // AdamW moves each weight by about lr = 1e-2 per step; the weights are ~0.02 (init) to 1 (norms)
    for (const v of Object.values(u)) assertTrue(v > 1e-4 && v < 1, `ratio ${v}`);
  }
});
