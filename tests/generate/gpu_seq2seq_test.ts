/**
 * Decoding on the GPU once every op of the models is there (needs i16-gops: T5's RMSNorm, relative-position bias,
 * biased attention; GQA, RoPE, SwiGLU): a T5's greedy decoding (cached and recomputed) and beam search (the
 * state's rows reordered on the GPU) give wasm's tokens, and the GPT variants generate wasm's greedy tokens
 * with the cache (grouped heads expanded on the GPU, RoPE positions continuing the cache) and without.
 */
import assert from "node:assert/strict";
import { generate, generateAsync } from "../../lib/generate/generate.ts";
import { beamSearch, beamSearchAsync, greedyDecode, greedyDecodeAsync } from "../../lib/generate/seq2seq.ts";
import { createGPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { sharpT5 } from "../_helpers/t5.ts";
import { withBackend } from "../_helpers/backend.ts";
import { gpuTest } from "../_helpers/webgpu.ts";

for (const nKvHead of [undefined, 1]) {
  gpuTest(
    `webgpu T5 greedy decoding and beam search give wasm's tokens${nKvHead ? " (multi-query)" : ""}`,
    async (gpu) => {
      const cpu = sharpT5(nKvHead), dev = sharpT5(nKvHead).toGpu(gpu);
      const src = Int32Array.from([1, 2, 3, 10, 4, 4, 10, 0]), lengths = Int32Array.from([4, 3]);
      for (const useCache of [true, false]) {
        const opts = { maxLen: 9, bosId: 8, eosId: 10, srcLengths: lengths, useCache };
        const want = withBackend("wasm", () => greedyDecode(cpu, src, 2, 4, opts)).map((t) => [...t]);
        assert.deepEqual(
          (await greedyDecodeAsync(dev, src, 2, 4, opts)).map((t) => [...t]),
          want,
          `cache ${useCache}`,
        );
      }
      for (const beamSize of [1, 3]) {
        const one = Int32Array.from([7, 6, 5, 4, 3, 10]);
        const opts = { beamSize, maxLen: 9, bosId: 8, eosId: 10, lengthPenalty: 0.6 };
        const want = withBackend("wasm", () => beamSearch(cpu, one, opts)),
          got = await beamSearchAsync(dev, one, opts);
        assert.deepEqual(got.map((h) => [...h.tokens]), want.map((h) => [...h.tokens]), `beam ${beamSize}`);
        got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i].score) <= 1e-4 * Math.abs(want[i].score)));
      }
    },
  );
}

const VARIANTS: Partial<GPTConfig>[] = [{ nKvHead: 1 }, { position: "rope" }, {
  norm: "rmsnorm",
  mlp: "swiglu",
}];
for (const v of VARIANTS) {
  gpuTest(
    `webgpu generation of a GPT with ${JSON.stringify(v)}: wasm's greedy tokens, cache = recompute`,
    async (gpu) => {
      const config: GPTConfig = {
        vocabSize: 67,
        blockSize: 16,
        nLayer: 2,
        nHead: 2,
        nEmbd: 24,
        dropout: 0,
        bias: true,
        tieWeights: true,
        ...v,
      };
      const prompt = Int32Array.from([3, 14, 15, 9, 26]);
      const opts = (useCache: boolean) => ({
        maxNewTokens: 18,
        sampling: { greedy: true },
        rng: new Rng(0),
        useCache,
      });
      const want = withBackend("wasm", () => generate(createGPT(config, 1), prompt, opts(true)));
      const model = createGPT(config, 1).toGpu(gpu);
      assert.deepEqual(await generateAsync(model, prompt, opts(true)), want);
      assert.deepEqual(await generateAsync(model, prompt, opts(false)), want);
    },
  );
}
