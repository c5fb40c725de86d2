/**
 * Generation from a GPT on the GPU (`generateAsync` on a model moved with `toGpu`): greedy decoding gives the
 * wasm backend's tokens wherever the top-2 logit margin exceeds 1e-4, the KV cache gives the tokens (and, within
 * 1e-5, the logits) of a full recompute on the GPU, and seeded sampling draws the CPU's tokens.
 */
import assert from "node:assert/strict";
import { generate, generateAsync } from "../../lib/generate/generate.ts";
import type { SamplingOptions } from "../../lib/generate/sampling.ts";
import { createGPT, type GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { withBackend } from "../_helpers/backend.ts";
import { gpuTest, relErr } from "../_helpers/webgpu.ts";

const CONFIG: GPTConfig = {
  vocabSize: 67,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 24,
  dropout: 0,
  bias: true,
  tieWeights: true,
};
const PROMPT = Int32Array.from([3, 14, 15, 9, 26]);
const NEW = 18; // past block_size: the window slides and the cache is recomputed

/** The top-2 margin of the CPU model's logits for the next token after `ids` (its last block_size). */
function cpuMargin(model: GPT, ids: Int32Array): number {
  const window = ids.slice(-CONFIG.blockSize), T = window.length, V = CONFIG.vocabSize;
  const row = noGrad(() => model.forward(window, 1, T).logits.data.slice((T - 1) * V, T * V));
  const sorted = Array.from(row).sort((a, b) => b - a);
  return sorted[0] - sorted[1];
}

function cpuTokens(sampling: SamplingOptions, seed: number): Int32Array {
  return withBackend(
    "wasm",
    () => generate(createGPT(CONFIG, 1), PROMPT, { maxNewTokens: NEW, sampling, rng: new Rng(seed) }),
  );
}

gpuTest(
  "webgpu greedy generation: the wasm tokens wherever the top-2 margin exceeds 1e-4; cache = recompute",
  async (gpu) => {
    const model = createGPT(CONFIG, 1).toGpu(gpu);
    const opts = (useCache: boolean) => ({
      maxNewTokens: NEW,
      sampling: { greedy: true },
      rng: new Rng(0),
      useCache,
    });
    const cached = await generateAsync(model, PROMPT, opts(true));
    const recomputed = await generateAsync(model, PROMPT, opts(false));
    assert.deepEqual(cached, recomputed);
    assert.equal(cached.length, PROMPT.length + NEW);
    const ref = cpuTokens({ greedy: true }, 0);
    const at = ref.findIndex((t, i) => t !== cached[i]);
    if (at >= 0) {
      const margin = withBackend("wasm", () => cpuMargin(createGPT(CONFIG, 1), ref.slice(0, at)));
      assert.ok(margin <= 1e-4, `token ${at}: gpu ${cached[at]}, wasm ${ref[at]}, top-2 margin ${margin}`);
    }
  },
);

gpuTest(
  "webgpu sampled generation draws the CPU's tokens from the same seed, with and without the cache",
  async (gpu) => {
    const model = createGPT(CONFIG, 1).toGpu(gpu);
    const samplings: SamplingOptions[] = [{}, { temperature: 0.8, topK: 10 }, { topP: 0.9 }];
    for (const [k, sampling] of samplings.entries()) {
      const ref = cpuTokens(sampling, 10 + k);
      for (const useCache of [true, false]) {
        const got = await generateAsync(model, PROMPT, {
          maxNewTokens: NEW,
          sampling,
          rng: new Rng(10 + k),
          useCache,
        });
        assert.deepEqual(got, ref, `${JSON.stringify(sampling)}, cache ${useCache}`);
      }
    }
  },
);

gpuTest(
  "webgpu KV cache: a prefill then one token give the logits of a full recompute (1e-5)",
  async (gpu) => {
    const model = createGPT(CONFIG, 1).toGpu(gpu);
    model.eval();
    const ids = Int32Array.from([5, 1, 60, 2, 33, 7, 8]), T = ids.length, V = CONFIG.vocabSize;
    const full = await noGrad(() => gpu.step(() => model.forward(ids, 1, T).logits.read()));
    const caches = model.newCaches(1);
    const first = await noGrad(() =>
      gpu.step(() => model.forward(ids.subarray(0, T - 1), 1, T - 1, { caches }).logits.read())
    );
    const last = await noGrad(() =>
      gpu.step(() => model.forward(ids.subarray(T - 1), 1, 1, { caches }).logits.read())
    );
    assert.ok(caches.every((c) => c.onGpu && c.length === T));
    const err = Math.max(
      relErr(first, full.subarray(0, (T - 1) * V)),
      relErr(last, full.subarray((T - 1) * V)),
    );
    assert.ok(err <= 1e-5, `relErr ${err}`);
    assert.throws(() => caches[0].k, /live on the GPU/);
    for (const c of caches) c.free();
  },
);

gpuTest("webgpu generation: stopAt, onToken and the training flag behave as on the CPU", async (gpu) => {
  const model = createGPT(CONFIG, 1).toGpu(gpu);
  const all = await generateAsync(model, PROMPT, {
    maxNewTokens: 6,
    sampling: { greedy: true },
    rng: new Rng(0),
  });
  const seen: number[] = [];
  model.train();
  const stopped = await generateAsync(model, PROMPT, {
    maxNewTokens: 6,
    sampling: { greedy: true },
    rng: new Rng(0),
    stopAt: all[PROMPT.length + 2],
    onToken: (id) => seen.push(id),
  });
  assert.ok(model.training);
  assert.deepEqual(stopped, all.slice(0, stopped.length));
  assert.ok(stopped.length <= PROMPT.length + 3);
  assert.deepEqual(seen, Array.from(stopped.subarray(PROMPT.length)));
  assert.throws(
    () => generate(model, PROMPT, { maxNewTokens: 1, sampling: {}, rng: new Rng(0) }),
    /on the GPU; use generateAsync/,
  );
});
