/**
 * local-code-model: small transformer language models you train, study and compare on your own CPU.
 *
 * A tensor + reverse-mode autograd engine with CPU kernels, nanoGPT-compatible layers, GPT, BERT-style and
 * T5-style models, emulated bf16/fp16 training, optimizers,
 * data (char tokenizer, code corpus, batching), a trainer with checkpoints and resume, generation with a KV cache,
 * declarative experiment configs, and Observable Plot reports.
 *
 * @example Train a tiny GPT for a few steps
 * ```ts
 * import { createGPT, AdamW, uniqueParams, withStep } from "@lcm/core";
 * const model = createGPT({ vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true }, 1);
 * const opt = new AdamW(uniqueParams(model.namedParameters()), { lr: 1e-2 });
 * const x = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), y = new Int32Array([2, 3, 4, 5, 6, 7, 8, 9]);
 * for (let i = 0; i < 10; i++) {
 *   // a step's activations live in reused kernel memory, as in the trainer: read what you need inside
 *   const loss = withStep(() => {
 *     const { loss } = model.forward(x, 1, 8, { targets: y });
 *     loss!.backward();
 *     return loss!.item();
 *   });
 *   opt.step();
 *   opt.zeroGrad();
 * }
 * ```
 *
 * The kernels run on WebAssembly SIMD with every core from the first call: `setThreads(n)` and
 * `setBackend("js" | "wasm" | "blas")` choose, `getThreads()` and `getBackend()` say what is in effect.
 *
 * @module
 */

// Each room's whole public surface is its own entry point (deno.json `exports`, the npm package's sub-paths):
// `@lcm/core/tensor`, `/nn`, `/optim`, `/data`, `/train`, `/generate`, `/eval`, `/analysis`, `/report`,
// `/experiment`. This module re-exports what building, training, evaluating, sampling and reporting need.

// randomness
export { Rng, type RngState } from "./lib/random.ts";
// the GPU (WebGPU): `await Gpu.open()`, then `model.toGpu(gpu)` (docs/gpu.md)
export {
  Gpu,
  GpuArray,
  type GpuCache,
  type GpuInfo,
  type GpuKind,
  type GpuOptions,
  gpuUnavailableReason,
  Params,
} from "./lib/tensor/mod.ts";
// tensor, autograd and the ops a model is written in
export {
  add,
  attention,
  type AttentionMask,
  type AttentionOptions,
  causalMask,
  crossEntropy,
  dropout,
  type DType,
  embedding,
  type Float,
  fullMask,
  gelu,
  isGradEnabled,
  layerNorm,
  linear,
  matmul,
  mean,
  mul,
  narrow,
  type Node,
  noGrad,
  permute,
  type Precision,
  reshape,
  rmsNorm,
  RopeTable,
  type RopeTables,
  scale,
  selfAttention,
  softmax,
  sum,
  Tensor,
  transpose,
} from "./lib/tensor/mod.ts";
export type { Device } from "./lib/tensor/mod.ts";
// the kernels: backend, threads (every core by default, from the first kernel call) and the step scope
export {
  availableBackends,
  type BackendName,
  getBackend,
  getThreads,
  setBackend,
  setThreads,
  whenThreadsReady,
  withStep,
} from "./lib/tensor/mod.ts";
// layers and models
export {
  Bert,
  type BertConfig,
  type BertForwardOptions,
  type BertOutput,
  Block,
  type BlockOptions,
  type BlockStats,
  CausalSelfAttention,
  Container,
  createBert,
  createGPT,
  createT5,
  Dropout,
  Embedding,
  GPT,
  type GPTConfig,
  type GPTForwardOptions,
  type GPTOutput,
  KVCache,
  LayerNorm,
  type LayerOptions,
  Linear,
  MLP,
  type MLPOptions,
  Module,
  ModuleList,
  type NamedTensor,
  type Norm,
  RMSNorm,
  SwiGLUMLP,
  T5,
  T5Attention,
  type T5AttentionInputs,
  T5Block,
  type T5Config,
  type T5DecoderState,
  type T5ForwardOptions,
  type T5Output,
  T5Stack,
  T5SubLayer,
  TransformerTrunk,
} from "./lib/nn/mod.ts";
export type { AttentionKind, FeedForward, MLPKind, NormKind, PositionKind } from "./lib/nn/mod.ts";
// optimizers
export {
  AdamW,
  type AdamWOptions,
  clipGradNorm,
  constantLr,
  type CosineOptions,
  cosineWithWarmup,
  type LrSchedule,
  type NamedParam,
  type Optimizer,
  type OptimizerState,
  SGD,
  type SGDOptions,
  uniqueParams,
} from "./lib/optim/mod.ts";
// data
export {
  type Batch,
  Batcher,
  type BatcherState,
  type BatchSource,
  CharTokenizer,
  type CharTokenizerJSON,
  type Corpus,
  type CorpusFiles,
  type CorpusOptions,
  type CorpusPiece,
  loadCorpus,
  loadTokenizer,
  MlmBatcher,
  type MlmBatcherState,
  type NamedCorpus,
  saveTokenizer,
  type SkippedEntry,
  type SkipReason,
  type SplitName,
  type StreamEncoder,
  type TextSplits,
  type Tokenizer,
} from "./lib/data/mod.ts";
// training and checkpoints
export {
  evaluate,
  type Intervals,
  type LanguageModel,
  languageModelLoss,
  type Learner,
  loadSafetensors,
  type LossScaleState,
  type MetricEvent,
  MixedPrecision,
  type MixedPrecisionOptions,
  NonFiniteError,
  type Progress,
  type SafetensorsFile,
  type SafetensorsTensor,
  saveSafetensors,
  train,
  type TrainableModel,
  type TrainData,
  type TrainerState,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
} from "./lib/train/mod.ts";
// generation
export {
  beamSearch,
  type BeamSearchOptions,
  fillMask,
  type FillMaskCandidate,
  type FillMaskOptions,
  type FillMaskPrediction,
  generate,
  type GenerateOptions,
  greedyDecode,
  type GreedyDecodeOptions,
  type Hypothesis,
  sampleToken,
  type SamplingOptions,
  tokenProbabilities,
} from "./lib/generate/mod.ts";
// evaluation metrics
export { bitsPerByte, perplexity, perplexityFromMeanNats } from "./lib/eval/mod.ts";
// reports
export {
  emaDebiased,
  type FigureOptions,
  lossFigureSvg,
  renderReport,
  type ReportOptions,
  writeReport,
} from "./lib/report/mod.ts";
// experiments: configs and runs
export {
  type Config,
  ConfigError,
  type ConfigInput,
  type DataConfig,
  type FamilyModel,
  type LibraryInfo,
  loadConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  type LoadedRun,
  loadRun,
  type Manifest,
  type ModelConfig,
  parseConfig,
  type RunConfig,
  runExperiment,
  type RunOptions,
  type RunResult,
  type RunRuntime,
  type TrainConfig,
} from "./lib/experiment/mod.ts";
