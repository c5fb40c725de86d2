/**
 * Files of a run that must agree with each other: the tokenizer with the checkpoint's embedding, the config with
 * the checkpoint's shapes, the optimizer state with the parameters. A disagreement names both files and both
 * values, instead of failing later on a symptom (a shape deep in the model, a character of the corpus).
 *
 * @module
 */
import { type Module, StateDictError } from "../nn/module.ts";
import type { Optimizer, OptimizerState } from "../optim/param.ts";
import type { Config } from "./config.ts";
import { modelVocabSize } from "./families.ts";

/** A checkpoint tensor's shape, by name (data not needed). */
type Shapes = ReadonlyMap<string, { shape: readonly number[] }>;

/** The token embedding of each family (gpt and bert, t5): its rows are the model's vocabulary. */
const EMBEDDINGS = ["transformer.wte.weight", "shared.weight"];

/**
 * Throws unless the tokenizer (`tokenizerVocab` ids, read from `tokenizerPath`) gives the model the vocabulary
 * of the checkpoint's token embedding (in `weights`, read from `weightsPath`).
 */
export function checkTokenizerAgrees(
  config: Config,
  tokenizerVocab: number,
  tokenizerPath: string,
  weights: Shapes,
  weightsPath: string,
): void {
  const want = modelVocabSize(config, tokenizerVocab);
  // a generated t5 task: the vocabulary is the task's, whatever the tokenizer
  if (modelVocabSize(config, tokenizerVocab + 1) === want) return;
  const name = EMBEDDINGS.find((n) => weights.has(n));
  if (name === undefined) return;
  const shape = weights.get(name)!.shape;
  if (shape[0] === want) return;
  const special = want - tokenizerVocab;
  throw new Error(
    `${tokenizerPath} and ${weightsPath} disagree: the tokenizer has ${tokenizerVocab} ids` +
      (special > 0
        ? ` (${want} rows with the ${config.model.family} model's ${special} special id${
          special > 1 ? "s" : ""
        })`
        : "") +
      `, the checkpoint's ${name} has ${shape[0]} rows ([${shape}]): this tokenizer is not the one the ` +
      "checkpoint was trained with",
  );
}

/**
 * Loads `weights` (read from `weightsPath`) into `model` (built from `configLabel`, the config file and any
 * overrides); a tensor the two do not agree on is named with both files and both shapes.
 */
export function loadWeightsAgreeing(
  model: Module,
  weights: Parameters<Module["loadStateDict"]>[0],
  weightsPath: string,
  configLabel: string,
): void {
  try {
    model.loadStateDict(weights, weightsPath);
  } catch (e) {
    const m = e instanceof StateDictError ? e.mismatch : undefined;
    const detail = m !== undefined
      ? `tensor ${m.name} is [${m.got}] in the checkpoint, [${m.want}] by the config`
      : e instanceof StateDictError
      ? e.detail
      : (e as Error).message;
    throw new Error(`${configLabel} and ${weightsPath} disagree: ${detail}`, { cause: e });
  }
}

/**
 * Loads the optimizer state (read from `optimizerPath`) into `optimizer`, whose parameters hold the weights of
 * `weightsPath`; a state that does not fit them names both files and the sizes.
 */
export function loadOptimizerAgreeing(
  optimizer: Optimizer,
  state: OptimizerState,
  optimizerPath: string,
  weightsPath: string,
): void {
  try {
    optimizer.loadStateDict(state);
  } catch (e) {
    throw new Error(
      `${optimizerPath} and ${weightsPath} disagree: ${(e as Error).message} (expected: the sizes of the ` +
        "parameters)",
      { cause: e },
    );
  }
}
