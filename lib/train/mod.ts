/**
 * Training: the loop (forward → loss → backward → non-finite guard → clip → step; log, evaluate, sample and
 * checkpoint on their intervals) over any batch source and loss, emulated bf16/fp16 with loss scaling,
 * checkpoints that resume exactly, and safetensors files.
 *
 * @module
 */
export {
  type BatchSource,
  evaluate,
  type LanguageModel,
  languageModelLoss,
  type MetricEvent,
  NonFiniteError,
  type Progress,
  train,
  type TrainableModel,
  type TrainerOptions,
  type TrainerState,
} from "./trainer.ts";
export {
  loadCheckpoint,
  type LoadedCheckpoint,
  modelTensors,
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
