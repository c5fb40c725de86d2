import assert from "node:assert/strict";
import {
  crossEntropyBackward,
  crossEntropyForward,
  softmaxBackward,
  softmaxForward,
} from "../../../lib/kernels/softmax.ts";
import {
  crossEntropyBackwardGpu,
  crossEntropyForwardGpu,
  softmaxBackwardGpu,
  softmaxForwardGpu,
} from "../../../lib/kernels/webgpu/softmax.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

async function checkSoftmax(gpu: Gpu, rows: number, cols: number): Promise<void> {
  const rng = new Rng(rows * 7919 + cols);
  const x = randn(rng, rows * cols, 4), dy = randn(rng, rows * cols);
  const p = new Float32Array(rows * cols), dx = new Float32Array(rows * cols);
  softmaxForward(x, p, rows, cols);
  softmaxBackward(p, dy, dx, rows, cols);
  const gx = gpu.upload(x), gdy = gpu.upload(dy), gp = gpu.array(rows * cols), gdx = gpu.array(rows * cols);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    softmaxForwardGpu(gpu, gx, gp, rows, cols);
    softmaxBackwardGpu(gpu, gp, gdy, gdx, rows, cols);
    runs.push([
      (await expectClose(gpu, gp, p, `softmax ${rows}×${cols} out`)).got,
      (await expectClose(gpu, gdx, dx, `softmax ${rows}×${cols} dx`)).got,
    ]);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `softmax tensor ${i}`));
  for (const a of [gx, gdy, gp, gdx]) gpu.release(a);
}

/** Cross-entropy forward and backward against js; `inPlace` writes dx over probs (as the CPU op does). */
async function checkCrossEntropy(
  gpu: Gpu,
  rows: number,
  cols: number,
  ignoreIndex: number,
  ignored: (r: number) => boolean,
  inPlace: boolean,
): Promise<void> {
  const rng = new Rng(rows * 31 + cols);
  const logits = randn(rng, rows * cols, 3);
  const targets = Int32Array.from({ length: rows }, (_, r) => ignored(r) ? ignoreIndex : rng.int(cols));
  const probs = new Float32Array(rows * cols), dx = new Float32Array(rows * cols);
  const { loss, count } = crossEntropyForward(logits, targets, probs, rows, cols, ignoreIndex);
  const g = 0.75;
  crossEntropyBackward(probs, targets, dx, rows, cols, ignoreIndex, count > 0 ? g / count : 0);
  const gl = gpu.upload(logits), gt = gpu.upload(targets), gdl = gpu.upload([g]);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const gp = gpu.array(rows * cols), gloss = gpu.array(1);
    crossEntropyForwardGpu(gpu, gl, gt, gp, rows, cols, ignoreIndex, gloss, count);
    const what = `cross-entropy ${rows}×${cols}`;
    const gotP = (await expectClose(gpu, gp, probs, `${what} probs`)).got;
    const gotLoss = (await expectClose(gpu, gloss, Float32Array.of(loss), `${what} loss`)).got;
    const gdx = inPlace ? gp : gpu.array(rows * cols);
    crossEntropyBackwardGpu(gpu, gp, gt, gdx, rows, cols, ignoreIndex, gdl, count);
    runs.push([gotP, gotLoss, (await expectClose(gpu, gdx, dx, `${what} dx`)).got]);
    gpu.release(gp);
    gpu.release(gdx);
    gpu.release(gloss);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `cross-entropy tensor ${i}`));
  for (const a of [gl, gt, gdl]) gpu.release(a);
}

gpuTest(
  "webgpu softmax: forward and backward match js (rows longer than a workgroup, 1 column, 1 row)",
  async (gpu) => {
    for (const [rows, cols] of [[5, 1037], [3, 1], [1, 7], [70, 33]]) await checkSoftmax(gpu, rows, cols);
  },
);

gpuTest(
  "webgpu cross-entropy: loss, probs and dx match js, with ignored rows, dx apart or over probs",
  async (gpu) => {
    await checkCrossEntropy(gpu, 6, 1037, -1, (r) => r % 4 === 1, false);
    await checkCrossEntropy(gpu, 9, 50, -100, (r) => r === 0, true);
    await checkCrossEntropy(gpu, 1, 3, -1, () => false, true);
    await checkCrossEntropy(gpu, 300, 17, 5, (r) => r % 3 === 0, true); // a class id as the ignore index
    await checkCrossEntropy(gpu, 3, 50257, -1, () => false, true); // GPT-2's vocabulary
  },
);

gpuTest("webgpu cross-entropy: every row ignored gives loss 0 and a zero gradient", async (gpu) => {
  const rows = 4, cols = 10;
  const gp = gpu.array(rows * cols), gloss = gpu.array(1);
  const gt = gpu.upload(new Int32Array(rows).fill(-1));
  crossEntropyForwardGpu(gpu, gpu.upload(randn(new Rng(1), rows * cols)), gt, gp, rows, cols, -1, gloss, 0);
  crossEntropyBackwardGpu(gpu, gp, gt, gp, rows, cols, -1, gpu.upload([1]), 0);
  assert.deepEqual([...await gpu.read(gloss)], [0]);
  assert.ok((await gpu.read(gp)).every((v) => v === 0));
});

gpuTest("webgpu softmax and cross-entropy: logits larger than one binding are split by rows", async () => {
  await smallBindingGpu(async (gpu) => {
    await checkSoftmax(gpu, 11, 300); // 3 rows per 1,024-float binding: views skip up to 63 elements
    await checkCrossEntropy(gpu, 11, 300, -1, (r) => r === 4, true);
    await checkCrossEntropy(gpu, 10, 257, -1, () => false, false);
  });
});
