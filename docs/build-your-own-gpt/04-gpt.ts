/**
 * Step 4 of "Build your own GPT": switch to the library's GPT, and check it computes what step 3 computes.
 *
 * What changes from step 3: the model is `createGPT` from the library instead of our MiniGPT. It is the same
 * computation (nanoGPT's GPT) with faster kernels: attention reads the heads straight out of the fused q/k/v
 * projection instead of copying them into (B, H, T, D) tensors, and it has switches our model lacks (tied
 * embeddings, dropout, RoPE, RMSNorm, SwiGLU, flash attention, a KV cache). Because the parameter names are
 * the same, the library model's weights load straight into ours, and then both must give the same logits,
 * the same loss and the same gradients.
 *
 * Run: `deno run docs/build-your-own-gpt/04-gpt.ts`
 *
 * @module
 */
import { createGPT, crossEntropy, type GPTConfig, Rng, type Tensor } from "../../mod.ts";
import { getBatch, loadText } from "./01-bigram.ts";
import { MiniGPT } from "./03-block.ts";

/** Largest |a[i] − b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** What {@link main} measured. */
export interface CompareResult {
  /** Weights of the library's GPT. */
  parameters: number;
  /** Whether both models have exactly the same parameter names, in the same order. */
  sameNames: boolean;
  /** Largest difference between the two models' logits on one batch. */
  maxLogitDiff: number;
  /** The library model's loss on the batch. */
  lossLibrary: number;
  /** Our model's loss on the same batch. */
  lossOurs: number;
  /** Largest difference between the two models' gradients, over every parameter. */
  maxGradDiff: number;
}

/** Builds both models with the library's weights, runs one batch forward and backward through each. */
export function main(opts: { seed?: number; log?: (line: string) => void } = {}): CompareResult {
  const { seed = 1, log = (l: string) => console.log(l) } = opts;
  const { tokenizer, ids } = loadText();
  const config: GPTConfig = {
    vocabSize: tokenizer.vocabSize,
    blockSize: 32,
    nLayer: 2,
    nHead: 4,
    nEmbd: 32,
    dropout: 0, // our model has no dropout
    bias: true, // biases in every Linear and LayerNorm, as in ours
    tieWeights: false, // ours has its own lm_head; the library can share it with wte
  };
  const gpt = createGPT(config, seed); // nanoGPT's initialisation
  const ours = new MiniGPT(config, new Rng(seed + 1)); // different random weights…
  const names = (m: { namedParameters(): { name: string }[] }) => m.namedParameters().map((p) => p.name);
  const sameNames = names(gpt).join() === names(ours).join();
  ours.loadStateDict(gpt.stateDict()); // …replaced by the library model's, matched by name

  const { x, y, B, T } = getBatch(ids, 4, config.blockSize, new Rng(seed));
  const lib = gpt.forward(x, B, T, { targets: y }); // the library computes the loss itself
  const ourLogits = ours.forward(x, B, T);
  const ourLoss: Tensor = crossEntropy(ourLogits, y);
  lib.loss!.backward();
  ourLoss.backward();
  const ourGrads = new Map(ours.namedParameters().map((p) => [p.name, p.tensor.grad!]));
  let maxGradDiff = 0;
  for (const p of gpt.namedParameters()) {
    maxGradDiff = Math.max(maxGradDiff, maxAbsDiff(p.tensor.grad!, ourGrads.get(p.name)!));
  }
  const result: CompareResult = {
    parameters: gpt.numParameters(),
    sameNames,
    maxLogitDiff: maxAbsDiff(lib.logits.data, ourLogits.data),
    lossLibrary: lib.loss!.item(),
    lossOurs: ourLoss.item(),
    maxGradDiff,
  };
  log(`library GPT: ${result.parameters} parameters; same names as MiniGPT: ${sameNames}`);
  log(`${names(gpt).slice(0, 6).join(", ")}, …`);
  log(`loss: library ${result.lossLibrary.toFixed(6)}, ours ${result.lossOurs.toFixed(6)}`);
  log(`largest logit difference: ${result.maxLogitDiff.toExponential(2)}`);
  log(`largest gradient difference: ${result.maxGradDiff.toExponential(2)}`);
  return result;
}

if (import.meta.main) main();
