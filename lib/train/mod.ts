/**
 * Training: the loop (forward → loss → backward → non-finite guard → clip → step; log, evaluate, sample and
 * checkpoint on their intervals) over any batch source and loss, emulated bf16/fp16 with loss scaling,
 * checkpoints that resume exactly, and safetensors files.
 *
 * @module
 */
export {
  evaluate,
  evaluateAsync,
  type Intervals,
  type Learner,
  NonFiniteError,
  type Progress,
  train,
  type TrainableModel,
  type TrainData,
  type TrainerState,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
} from "./trainer.ts";
export { type LanguageModel, languageModelData, languageModelLoss } from "./language_model.ts";
export type { MetricEvent } from "./metrics.ts";
export {
  loadCheckpoint,
  type LoadedCheckpoint,
  modelTensors,
  modelTensorsAsync,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.ts";
export { type LossScaleState, MixedPrecision, type MixedPrecisionOptions } from "./precision.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  type SafetensorsFile,
  type SafetensorsTensor,
  saveSafetensors,
} from "./safetensors.ts";
