/**
 * Generation: sampling a GPT with a KV cache (temperature, top-k, top-p), greedy and beam-search decoding of a
 * T5, and BERT's fill-mask predictions.
 *
 * @module
 */
export { generate, generateAsync, type GenerateOptions } from "./generate.ts";
export {
  argmax,
  sampleToken,
  type SamplingOptions,
  tokenProbabilities,
  validateSampling,
} from "./sampling.ts";
export {
  beamSearch,
  beamSearchAsync,
  type BeamSearchOptions,
  greedyDecode,
  greedyDecodeAsync,
  type GreedyDecodeOptions,
  type Hypothesis,
} from "./seq2seq.ts";
export {
  fillMask,
  fillMaskAsync,
  type FillMaskCandidate,
  type FillMaskOptions,
  type FillMaskPrediction,
} from "./fill_mask.ts";
