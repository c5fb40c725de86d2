/**
 * The trainer's GPU path, below the runner: a non-finite loss stops the run with the CPU's NonFiniteError (the
 * same step and tensor) and the step's update is not applied; `evaluateAsync` gives `evaluate`'s bits on the CPU
 * and its value (within 1e-5) on the GPU.
 */
import { Batcher } from "../../lib/data/batcher.ts";
import type { Batch } from "../../lib/data/batcher.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { uniqueParams } from "../../lib/optim/param.ts";
import { Rng } from "../../lib/random.ts";
import { languageModelData, languageModelLoss } from "../../lib/train/language_model.ts";
import { evaluate, evaluateAsync, NonFiniteError, train } from "../../lib/train/trainer.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { tinyConfig } from "../_helpers/models.ts";
import { freshState } from "../_helpers/train.ts";
import { gpuTest } from "../_helpers/webgpu.ts";
import type { Gpu } from "../../lib/kernels/webgpu/runtime.ts";

const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 13);

/**
 * A tiny GPT (on `gpu` when given) with a poisoned weight, trained with a line every `log` steps: the error, and
 * the weights before and after.
 */
async function firstStepError(
  gpu: Gpu | null,
  log = 1,
): Promise<{ error: Error; before: Float32Array[]; after: Float32Array[] }> {
  const model = new GPT(tinyConfig(), new Rng(5));
  if (gpu !== null) model.toGpu(gpu);
  const params = uniqueParams(model.namedParameters());
  // one poisoned weight of the position table: the loss is NaN, and so is every gradient it reaches
  params.find((p) => p.name === "transformer.wpe.weight")!.tensor.write([NaN], 3);
  const read = () => Promise.all(params.map(async (p) => Float32Array.from(await p.tensor.read())));
  const before = await read();
  const error = await assertRejects(() =>
    train({
      learner: {
        model,
        params,
        optimizer: new AdamW(params, { lr: 1e-2 }),
        schedule: () => 1e-2,
        gradClip: 1,
      },
      data: languageModelData(model, new Batcher(tokens, 8, 4, new Rng(6)), []),
      intervals: { maxSteps: 3, log, eval: 1000, checkpoint: 1000 },
      hooks: { log: () => Promise.resolve(), checkpoint: () => Promise.resolve() },
    }, freshState(model))
  );
  return { error, before, after: await read() };
}

for (const log of [1, 5]) {
  gpuTest(
    `webgpu trainer (log every ${log}): a NaN loss stops at step 1 naming the tensor, as on the CPU; nothing ` +
      "is updated",
    async (gpu) => {
      // log 5: step 2 is recorded before step 1 is read back; its update is refused by its own guard too
      const cpu = await firstStepError(null, log), onGpu = await firstStepError(gpu, log);
      assertTrue(onGpu.error instanceof NonFiniteError, onGpu.error.message);
      assertEquals(onGpu.error.message, cpu.error.message);
      assertTrue(
        /^step 1: loss is NaN; first non-finite tensor: transformer.wpe.weight$/.test(onGpu.error.message),
      );
      assertEquals(onGpu.after, onGpu.before);
    },
  );
}

gpuTest("evaluateAsync: evaluate's bits on the CPU, its value within 1e-5 on the GPU", async (gpu) => {
  const batcher = new Batcher(tokens, 8, 3, new Rng(9));
  const batches: Batch[] = [batcher.next(), batcher.next(), batcher.next()];
  const model = new GPT(tinyConfig(), new Rng(5));
  const loss = languageModelLoss(model);
  const sync = evaluate(model, batches, loss);
  assertEquals(await evaluateAsync(model, batches, loss, null), sync);
  model.toGpu(gpu);
  const onGpu = await evaluateAsync(model, batches, loss, gpu);
  assertTrue(Math.abs(onGpu - sync) <= 1e-5 * Math.abs(sync), `${onGpu} vs ${sync}`);
  assertTrue(model.training, "the training flag is put back");
});
