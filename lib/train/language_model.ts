/**
 * Training data of a language model on (x, y) batches: GPT's next tokens, Bert's masked tokens. A batch's loss
 * is the model's mean loss over rows of `config.blockSize` tokens; it counts the tokens of its `x`.
 *
 * @module
 */
import type { Batch, BatchSource } from "../data/batcher.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { TrainableModel, TrainData } from "./trainer.ts";

/** A model that maps (B, T) token ids and targets to a loss: GPT (next token) and Bert (masked tokens). */
export interface LanguageModel extends TrainableModel {
  /** Its shape; every batch row holds blockSize tokens. */
  readonly config: { readonly blockSize: number };
  /** Logits and, with targets, the mean loss. */
  forward(idx: Int32Array, B: number, T: number, opts: { targets?: Int32Array }): { loss: Tensor | null };
}

/** The loss of one (x, y) batch of a {@link LanguageModel}: rows of `config.blockSize` tokens. */
export function languageModelLoss(model: LanguageModel): (b: Batch) => Tensor {
  return (b) => {
    const T = model.config.blockSize;
    const loss = model.forward(b.x, b.x.length / T, T, { targets: b.y }).loss;
    if (loss === null) throw new Error("the model returned no loss for a batch with targets");
    return loss;
  };
}

/** The {@link TrainData} of a language model: its batches, fixed validation batches and its loss. */
export function languageModelData(
  model: LanguageModel,
  batcher: BatchSource<Batch>,
  evalBatches: readonly Batch[],
): TrainData<Batch> {
  return { batcher, evalBatches, loss: languageModelLoss(model), tokens: (b) => b.x.length };
}
