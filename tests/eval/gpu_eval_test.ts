/**
 * Evaluating a GPT on the GPU (lib/experiment/evaluate.ts on a model moved with `toGpu`): the loss over windows,
 * read back once per batch of windows, equals wasm's within 1e-5 relative, and the greedy continuations behind
 * BLEU/ROUGE are wasm's; bert (masked loss and accuracy) and t5 runs (greedy decodings of held-out batches)
 * give the CPU's figures.
 */
import assert from "node:assert/strict";
import { continuationScores, evaluateText, languageModelScores } from "../../lib/experiment/evaluate.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { buildModel } from "../../lib/experiment/families.ts";
import { Rng } from "../../lib/random.ts";
import { createGPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { setBackend } from "../../lib/kernels/backend.ts";
import { gpuTest } from "../_helpers/webgpu.ts";

const TEXT = "export function add(a: number, b: number): number {\n  return a + b;\n}\n".repeat(6);
const tokenizer = CharTokenizer.fromText(TEXT);
const CONFIG: GPTConfig = {
  vocabSize: tokenizer.vocabSize,
  blockSize: 16,
  nLayer: 2,
  nHead: 2,
  nEmbd: 24,
  dropout: 0,
  bias: true,
  tieWeights: true,
};
const ids = tokenizer.encode(TEXT);
// The CPU references run on wasm, for the whole file (the awaited calls outlive withBackend's scope).
setBackend("wasm");

gpuTest(
  "webgpu evaluation: the loss over windows equals wasm's (1e-5), the continuations are wasm's",
  async (gpu) => {
    const o = { prompts: 3, promptTokens: 6, continuationTokens: 5 };
    setBackend("wasm"); // for the whole of the awaited calls (withBackend restores at the first await)
    const cpu = await (async () => {
      const model = createGPT(CONFIG, 3);
      return {
        scores: await languageModelScores(model, tokenizer, ids, 200),
        text: await continuationScores(model, tokenizer, ids, o),
      };
    })();
    const model = createGPT(CONFIG, 3).toGpu(gpu);
    const scores = await languageModelScores(model, tokenizer, ids, 200);
    assert.equal(scores.tokens, cpu.scores.tokens);
    assert.ok(
      Math.abs(scores.loss - cpu.scores.loss) <= 1e-5 * cpu.scores.loss,
      `${scores.loss} vs ${cpu.scores.loss}`,
    );
    const text = await continuationScores(model, tokenizer, ids, o);
    assert.deepEqual(text.example, cpu.text.example);
    assert.equal(text.bleu, cpu.text.bleu);
  },
);

for (
  const [family, sets] of [
    ["bert", ["model.family=bert"]],
    ["t5", ["model.family=t5", "model.position=relative", "data.task=reverse", "model.block_size=16"]],
  ] as const
) {
  gpuTest(`webgpu evaluation of a ${family} run: the CPU's figures (1e-5)`, async (gpu) => {
    const { config } = loadConfig({ path: "configs/tiny.jsonc", sets: [...sets] });
    const text = family === "t5" ? new Int32Array(0) : ids;
    const want = await evaluateText(
      config,
      buildModel(config, tokenizer.vocabSize, new Rng(2)),
      tokenizer,
      text,
    );
    const model = buildModel(config, tokenizer.vocabSize, new Rng(2)).toGpu(gpu);
    const got = await evaluateText(config, model, tokenizer, text);
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const [k, v] of Object.entries(want)) {
      if (typeof v !== "number") assert.deepEqual(got[k as keyof typeof got], v, k);
      else {assert.ok(
          Math.abs((got[k as keyof typeof got] as number) - v) <= 1e-5 * Math.abs(v),
          `${k}: ${got[k as keyof typeof got]} vs ${v}`,
        );}
    }
  });
}
