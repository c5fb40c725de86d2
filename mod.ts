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
 * import { createGPT, AdamW, uniqueParams } from "@lcm/core";
 * const model = createGPT({ vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true }, 1);
 * const opt = new AdamW(uniqueParams(model.namedParameters()), { lr: 1e-2 });
 * const x = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), y = new Int32Array([2, 3, 4, 5, 6, 7, 8, 9]);
 * for (let i = 0; i < 10; i++) {
 *   const { loss } = model.forward(x, 1, 8, { targets: y });
 *   loss!.backward();
 *   opt.step();
 *   opt.zeroGrad();
 * }
 * ```
 *
 * @module
 */

// randomness
export { Rng, type RngState } from "./lib/random.ts";
// tensor + autograd + ops
export * from "./lib/tensor/mod.ts";
// kernels (pure typed-array compute)
export { gemm, type GemmArgs } from "./lib/kernels/matmul.ts";
export { erf32, erf64 } from "./lib/kernels/gelu.ts";
// layers and models
export { Container, init, type Initialisers, Module, ModuleList, type NamedTensor } from "./lib/nn/module.ts";
export {
  Dropout,
  Embedding,
  LayerNorm,
  type LayerOptions,
  Linear,
  MLP,
  type MLPOptions,
  type Norm,
  RMSNorm,
  swigluHidden,
  SwiGLUMLP,
} from "./lib/nn/layers.ts";
export { type AttentionLayerOptions, CausalSelfAttention, KVCache } from "./lib/nn/attention.ts";
export { Block, type BlockOptions } from "./lib/nn/block.ts";
export type { AttentionKind, FeedForward, MLPKind, NormKind, PositionKind } from "./lib/nn/variants.ts";
export type { RopeTables } from "./lib/kernels/variants.ts";
export type { JsonValue } from "./lib/experiment/jsonc.ts";
export {
  createGPT,
  GPT,
  type GPTConfig,
  type GPTForwardOptions,
  type GPTOutput,
  TransformerTrunk,
} from "./lib/nn/models/gpt.ts";
export {
  Bert,
  type BertConfig,
  type BertForwardOptions,
  type BertOutput,
  createBert,
  keyPadding,
  paddingMask,
} from "./lib/nn/models/bert.ts";
export {
  createT5,
  reorderDecoderState,
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
} from "./lib/nn/models/t5.ts";
// optimizers
export {
  type DecayGroups,
  type DecayOptions,
  type NamedParam,
  type Optimizer,
  type OptimizerState,
  splitDecayGroups,
  uniqueParams,
} from "./lib/optim/param.ts";
export { AdamW, type AdamWOptions } from "./lib/optim/adamw.ts";
export { SGD, type SGDOptions } from "./lib/optim/sgd.ts";
export { constantLr, type CosineOptions, cosineWithWarmup, type LrSchedule } from "./lib/optim/schedule.ts";
export { clipGradNorm, firstNonFinite, gradNorm, type NonFinite } from "./lib/optim/clip.ts";
// data
export { CharTokenizer, type CharTokenizerJSON } from "./lib/data/char_tokenizer.ts";
export { loadTokenizer, saveTokenizer, type Tokenizer, tokenizerFromJSON } from "./lib/data/tokenizer.ts";
export {
  type BpeEncodeOptions,
  BpeTokenizer,
  type BpeTokenizerJSON,
  type BpeTrainOptions,
  type BpeTrainProgress,
  byteToUnicode,
  GPT2_FILES_PACKAGE,
  GPT2_SPLIT_PATTERN,
  type Gpt2FilesOptions,
} from "./lib/data/bpe.ts";
export {
  corpusDir,
  installCorpus,
  isNamedCorpus,
  NAMED_CORPORA,
  type NamedCorpus,
  namedCorpusFolder,
  stripBrownTags,
  untar,
} from "./lib/data/corpora.ts";
export { type Corpus, type CorpusOptions, loadCorpus } from "./lib/data/corpus.ts";
export { type Batch, Batcher, type BatcherState, evalWindows } from "./lib/data/batcher.ts";
export {
  maskedAccuracy,
  type MaskedTokens,
  maskEvalBatches,
  type MaskOptions,
  maskRows,
  type MaskSettings,
  maskTokens,
  MlmBatcher,
  type MlmBatcherState,
} from "./lib/data/mlm.ts";
export {
  collateSeq2Seq,
  isSentinel,
  noiseCounts,
  randomSpansNoiseMask,
  reconstructSpans,
  sentinelId,
  type Seq2SeqBatch,
  Seq2SeqBatcher,
  type Seq2SeqBatcherState,
  type Seq2SeqPair,
  type Seq2SeqVocab,
  seq2seqVocab,
  spanCorrupt,
  type SpanCorrupted,
  SpanCorruptionBatcher,
  type SpanCorruptionOptions,
  SymbolTaskBatcher,
  symbolTaskExample,
  symbolTaskExamples,
  type SymbolTaskOptions,
  symbolTaskShape,
  symbolTaskVocab,
} from "./lib/data/seq2seq.ts";
// training and checkpoints
export {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  type SafetensorsFile,
  type SafetensorsTensor,
  saveSafetensors,
} from "./lib/train/safetensors.ts";
export {
  loadCheckpoint,
  type LoadedCheckpoint,
  modelTensors,
  saveCheckpoint,
  type TrainState,
} from "./lib/train/checkpoint.ts";
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
} from "./lib/train/trainer.ts";
export { type LossScaleState, MixedPrecision, type MixedPrecisionOptions } from "./lib/train/precision.ts";
export { appendJsonLine, writeFileAtomic } from "./lib/io/atomic.ts";
// experiments
export {
  canonicalJson,
  type Config,
  ConfigError,
  configHash,
  type ConfigInput,
  ConfigSchema,
  type DataConfig,
  DEFAULT_CONFIG,
  loadConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  type ModelConfig,
  parseSetOverride,
  type RunConfig,
  type SetOverride,
  type TrainConfig,
} from "./lib/experiment/config.ts";
export {
  buildOptimizer,
  gitCommit,
  gptConfigOf,
  type Manifest,
  runExperiment,
  type RunOptions,
  type RunResult,
} from "./lib/experiment/runner.ts";
export { type LoadedRun, loadRun } from "./lib/experiment/load.ts";
export {
  type Distribution,
  expandSweep,
  loadSweep,
  type RandomSearch,
  type SlurmSpec,
  SWEEP_METRICS,
  type SweepFile,
  type SweepMetric,
  type SweepSpec,
  type Trial,
  type TrialState,
  type TrialStatus,
  validateSweep,
} from "./lib/experiment/sweep.ts";
export { runTrial, type TrialOptions } from "./lib/experiment/sweep_trial.ts";
export { runSweep, type SweepRunOptions, type SweepRunResult } from "./lib/experiment/sweep_exec.ts";
export {
  type MeanInterval,
  meanInterval,
  type PairedDifference,
  pairedDifference,
  studentTCdf,
  studentTQuantile,
  type WelchDifference,
  welchDifference,
} from "./lib/experiment/stats.ts";
export {
  type ConfigView,
  type PairComparison,
  readSweep,
  renderSweepPage,
  sweepCsv,
  sweepSummary,
  type SweepTrialView,
  type SweepView,
  writeSweepReport,
} from "./lib/report/sweep.ts";
export { FIGURE_FORMATS, type FigureFormat, svgToPng, writeFigures } from "./lib/report/export.ts";
export {
  continuationScores,
  type EvalResult,
  type EvaluateOptions,
  evaluateText,
  languageModelScores,
  type MetricName,
  textScores,
} from "./lib/experiment/evaluate.ts";
export { tokenizeCached, type TokenizedCorpus, tokenizerHash } from "./lib/data/token_cache.ts";
export {
  bertScores,
  buildModel,
  type FamilyModel,
  type FamilyRun,
  familyRun,
  type FamilyStreams,
  familyTokenizer,
  modelVocabSize,
  sameIds,
  t5Decodings,
  t5Greedy,
  t5Text,
  t5Vocab,
} from "./lib/experiment/families.ts";
// generation
export { generate, type GenerateOptions } from "./lib/generate/generate.ts";
export {
  beamSearch,
  type BeamSearchOptions,
  greedyDecode,
  type GreedyDecodeOptions,
  type Hypothesis,
} from "./lib/generate/seq2seq.ts";
export {
  fillMask,
  type FillMaskCandidate,
  type FillMaskOptions,
  type FillMaskPrediction,
} from "./lib/generate/fill_mask.ts";
export {
  argmax,
  sampleToken,
  type SamplingOptions,
  tokenProbabilities,
  validateSampling,
} from "./lib/generate/sampling.ts";
// analysis (attention maps and head statistics, embedding projections)
export {
  type AttentionMaps,
  attentionMaps,
  bestHead,
  type ChanceLevels,
  clearlyAboveChance,
  type HeadStat,
  headStatistics,
  type HeadStatsOptions,
  type HeadStatsResult,
  type HeadTypeScore,
  inductionScore,
  type Probs,
  repeatedSequences,
  rowEntropy,
  type RowScores,
  rowScores,
  sampleWindows,
  uniformChance,
  withAttentionHook,
} from "./lib/analysis/attention.ts";
export {
  type EmbeddingPoint,
  type EmbeddingProjection,
  embeddingWeights,
  projectEmbeddings,
  type ProjectionMethod,
  type ProjectOptions,
  selectTokens,
} from "./lib/analysis/embeddings.ts";
export {
  normalizeSign,
  pca,
  type PcaResult,
  type SymmetricEigen,
  symmetricEigen,
} from "./lib/analysis/pca.ts";
export {
  conditionalAffinities,
  jointAffinities,
  klDivergence,
  squaredDistances,
  tsne,
  type TsneOptions,
  type TsneResult,
} from "./lib/analysis/tsne.ts";
export {
  type AnalysisPage,
  attentionHeadSvg,
  attentionOverviewSvg,
  type AttentionView,
  embeddingScatterSvg,
  type EmbeddingView,
  type HeadStatView,
  renderAnalysisPage,
  type StatsView,
} from "./lib/report/analysis.ts";
export { ActivationProbe, activeProbe, type BlockStats, DEAD_GELU_INPUT, withProbe } from "./lib/nn/probe.ts";
export { buildDetailFigures, buildLayerFigures, type DetailRun } from "./lib/report/detail.ts";
export type { Figure } from "./lib/report/figures.ts";
export type { DetailPoint, ParsedMetrics, TrainPoint, ValPoint } from "./lib/report/metrics.ts";
// evaluation metrics
export {
  bitsPerByte,
  bitsPerToken,
  LossAccumulator,
  type LossSummary,
  type LossTotals,
  perplexity,
  perplexityFromMeanNats,
  summarizeLoss,
  utf8ByteLength,
} from "./lib/eval/perplexity.ts";
export {
  type BleuOptions,
  brevityPenalty,
  closestRefLength,
  corpusBleu,
  corpusBleuMulti,
  FLOAT_INFO_MIN,
  Fraction,
  fsum,
  modifiedPrecision,
  ngramCounts,
  type Precision as BleuPrecision,
  sentenceBleu,
  SMOOTHING_METHODS,
  type SmoothingContext,
  type SmoothingFn,
  SmoothingFunction,
  type SmoothingMethod,
  type SmoothingParams,
  type Tokens,
  whitespaceTokenize,
} from "./lib/eval/bleu.ts";
export {
  aggregateRouge,
  corpusRouge,
  DEFAULT_ROUGE_TYPES,
  fmeasure,
  lcsLength,
  rougeL,
  rougeLsumTokens,
  rougeN,
  type RougeOptions,
  type RougeScore,
  RougeScorer,
  type RougeScores,
  rougeTokenize,
  type RougeType,
} from "./lib/eval/rouge.ts";
export { porterStem, PorterStemmer } from "./lib/eval/porter.ts";
// reports
export {
  emaDebiased,
  type FigureOptions,
  lossFigureSvg,
  renderReport,
  reportFigureSvgs,
  type ReportOptions,
  RunDirError,
  trailingMean,
  writeReport,
} from "./lib/report/mod.ts";
