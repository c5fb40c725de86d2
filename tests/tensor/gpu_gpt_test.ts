/**
 * A GPT on the GPU: the tensors live in GPU arrays, the ops record WGSL kernels, the tape runs their backward
 * passes there — and the loss and every parameter's gradient equal the `js` reference's (per tensor,
 * max|gpu − js| ≤ 1e-4 · max|js|). Two runs on the GPU give the same bits.
 */
import assert from "node:assert/strict";
import { createGPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { gpuTest, relErr } from "../_helpers/webgpu.ts";
import { withBackend } from "../_helpers/backend.ts";

const CONFIG: GPTConfig = {
  vocabSize: 67, // not a multiple of any tile
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 24,
  dropout: 0,
  bias: true,
  tieWeights: true,
};
const B = 3, T = 13;

function batch(): { idx: Int32Array; targets: Int32Array } {
  const rng = new Rng(7);
  const idx = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * CONFIG.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * CONFIG.vocabSize));
  targets[5] = -1; // an ignored position
  return { idx, targets };
}

function cpuReference(): { loss: number; grads: Map<string, Float32Array> } {
  return withBackend("js", () => {
    const model = createGPT(CONFIG, 1);
    const { idx, targets } = batch();
    const { loss } = model.forward(idx, B, T, { targets });
    loss!.backward();
    const grads = new Map<string, Float32Array>();
    for (const p of model.namedParameters("", true)) grads.set(p.name, Float32Array.from(p.tensor.grad!));
    return { loss: loss!.item(), grads };
  });
}

gpuTest(
  "webgpu: a GPT's loss and gradients equal the js reference's; two runs give the same bits",
  async (gpu) => {
    const ref = cpuReference();
    const runs: { loss: number; grads: Map<string, Float32Array> }[] = [];
    for (let run = 0; run < 2; run++) {
      const model = createGPT(CONFIG, 1).toGpu(gpu);
      const { idx, targets } = batch();
      const params = model.namedParameters("", true);
      const loss = gpu.step(() => {
        const { loss } = model.forward(idx, B, T, { targets });
        loss!.backward();
        return loss!.itemAsync();
      });
      const grads = new Map<string, Float32Array>();
      for (const p of params) grads.set(p.name, await gpu.read(p.tensor.gpuGrad!));
      runs.push({ loss: await loss, grads });
    }
    assert.ok(
      Math.abs(runs[0].loss - ref.loss) <= 1e-5 * Math.abs(ref.loss),
      `loss ${runs[0].loss} vs ${ref.loss}`,
    );
    for (const [name, g] of ref.grads) {
      const err = relErr(runs[0].grads.get(name)!, g);
      assert.ok(err <= 1e-4, `${name}: relative error ${err}`);
      assert.deepEqual(runs[1].grads.get(name), runs[0].grads.get(name), `${name}: second run differs`);
    }
    assert.equal(runs[1].loss, runs[0].loss);
  },
);

gpuTest(
  "webgpu: a tensor on the GPU has no host storage; reading it synchronously names await t.read()",
  async (gpu) => {
    const model = createGPT(CONFIG, 1).toGpu(gpu);
    const w = model.wte.weight;
    assert.throws(() => w.data, /lives on the GPU.*await t\.read\(\)/);
    assert.throws(() => w.readSync(), /await t\.read\(\)/);
    const values = await w.read();
    assert.equal(values.length, CONFIG.vocabSize * CONFIG.nEmbd);
    const host = createGPT(CONFIG, 1);
    assert.deepEqual(values, Float32Array.from(host.wte.weight.data));
    await w.toHost();
    assert.deepEqual(w.data, Float32Array.from(host.wte.weight.data));
  },
);
