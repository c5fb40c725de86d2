/**
 * Evaluating a GPT on the GPU (lib/experiment/evaluate.ts on a model moved with `toGpu`): the loss over windows,
 * read back once per batch of windows, equals wasm's within 1e-5 relative, and the greedy continuations behind
 * BLEU/ROUGE are wasm's; bert and t5 models on the GPU are refused in one line.
 */
import assert from "node:assert/strict";
import { continuationScores, evaluateText, languageModelScores } from "../../lib/experiment/evaluate.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { createBert } from "../../lib/nn/models/bert.ts";
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
    })().finally(() => setBackend("auto"));
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

gpuTest("webgpu evaluation: a bert model on the GPU is refused in one line", async (gpu) => {
  const { config } = loadConfig({ path: "configs/tiny.jsonc", sets: ["model.family=bert"] });
  const bert = createBert({ ...CONFIG, blockSize: 16 }, 1).toGpu(gpu);
  await assert.rejects(() => evaluateText(config, bert, tokenizer, ids), /bert run: not on webgpu yet/);
});
