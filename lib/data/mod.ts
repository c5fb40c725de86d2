/**
 * Data: corpora (the built-in code corpus, named corpora unpacked by `deno task corpus`, your own files),
 * tokenizers (characters, byte-level BPE with GPT-2's vocabulary), the token cache of token shards read by
 * position, and the batchers of the
 * three families: next-token windows (GPT), masked tokens (BERT), span corruption and symbol tasks (T5).
 *
 * @example Character tokens in shuffled windows
 * ```ts
 * import { Batcher, CharTokenizer } from "@lcm/core/data";
 * import { Rng } from "@lcm/core";
 * const text = "hello world, hello tokens";
 * const tok = CharTokenizer.fromText(text);
 * const batcher = new Batcher(tok.encode(text), 8, 2, new Rng(1));
 * const { x, y } = batcher.next();
 * ```
 *
 * @module
 */
export { CharTokenizer, type CharTokenizerJSON } from "./char_tokenizer.ts";
export {
  loadTokenizer,
  saveTokenizer,
  type StreamEncoder,
  streamEncoder,
  type Tokenizer,
  tokenizerFromJSON,
} from "./tokenizer.ts";
export {
  type BpeEncodeOptions,
  BpeTokenizer,
  type BpeTokenizerJSON,
  type BpeTrainOptions,
  type BpeTrainProgress,
  GPT2_FILES_PACKAGE,
  GPT2_SPLIT_PATTERN,
  type Gpt2FilesOptions,
} from "./bpe.ts";
export {
  corpusDir,
  installCorpus,
  isNamedCorpus,
  NAMED_CORPORA,
  type NamedCorpus,
  namedCorpusFolder,
} from "./corpora.ts";
export {
  type Corpus,
  type CorpusFiles,
  type CorpusOptions,
  type CorpusPiece,
  loadCorpus,
  scanCorpus,
  type SkippedEntry,
  skippedSummary,
  type SkipReason,
  type SplitName,
  splitText,
  textCorpus,
  type TextSplits,
} from "./corpus.ts";
export { BPE_SAMPLE_BYTES, bpeTrainingText } from "./bpe_sample.ts";
export {
  tokenizeCached,
  type TokenizedCorpus,
  type TokenizeOptions,
  type TokenizeProgress,
  tokenizeProgressLine,
  tokenizerHash,
} from "./token_cache.ts";
export {
  openShard,
  SHARD_HEADER_BYTES,
  type ShardDtype,
  shardDtype,
  type ShardHeader,
  type ShardKey,
  ShardReader,
  ShardWriter,
} from "./shard.ts";
export { arrayTokens, asTokenSource, checkRange, readTokens, type TokenSource } from "./token_source.ts";
export { type Batch, Batcher, type BatcherState, type BatchSource, evalWindows } from "./batcher.ts";
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
} from "./mlm.ts";
export {
  collateSeq2Seq,
  isSentinel,
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
} from "./seq2seq.ts";
