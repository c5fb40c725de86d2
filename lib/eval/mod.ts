/**
 * Evaluation metrics as pure functions: perplexity and bits per byte, BLEU (NLTK's, to the last digit), ROUGE
 * (rouge_score's, with the Porter stemmer), and the small-sample statistics (Student's t intervals, paired and
 * Welch tests) that compare configurations across seeds.
 *
 * @example BLEU of one hypothesis against a reference
 * ```ts
 * import { sentenceBleu, whitespaceTokenize } from "@lcm/core/eval";
 * const score = sentenceBleu([whitespaceTokenize("the cat sat on the mat")], whitespaceTokenize("the cat sat on a mat"));
 * ```
 *
 * @module
 */
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
} from "./perplexity.ts";
export {
  type BleuOptions,
  corpusBleu,
  corpusBleuMulti,
  Fraction,
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
} from "./bleu.ts";
export {
  aggregateRouge,
  corpusRouge,
  DEFAULT_ROUGE_TYPES,
  rougeL,
  rougeN,
  type RougeOptions,
  type RougeScore,
  RougeScorer,
  type RougeScores,
  rougeTokenize,
  type RougeType,
} from "./rouge.ts";
export { porterStem, PorterStemmer } from "./porter.ts";
export {
  type MeanInterval,
  meanInterval,
  type PairedDifference,
  pairedDifference,
  studentTCdf,
  studentTQuantile,
  type WelchDifference,
  welchDifference,
} from "./stats.ts";
