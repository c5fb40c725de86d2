/**
 * A small T5 for the decoding tests: a config and a model with its weights scaled up, so that greedy decoding
 * and beam search are confident enough to end with EOS.
 *
 * @module
 */
import { T5, type T5Config } from "../../lib/nn/models/t5.ts";
import { Rng } from "../../lib/random.ts";

/** Vocabulary 11, block 9, 2 encoder and 1 decoder layers, 2 heads, width 8, 8 buckets. */
export const SMALL_T5: T5Config = {
  vocabSize: 11,
  blockSize: 9,
  nLayer: 2,
  nDecoderLayer: 1,
  nHead: 2,
  nEmbd: 8,
  dropout: 0,
  bias: false,
  tieWeights: true,
  numBuckets: 8,
  maxDistance: 16,
};

/** {@link SMALL_T5} (with `nKvHead` key/value heads) seeded 17, every weight times 15. */
export function sharpT5(nKvHead?: number): T5 {
  const model = new T5({ ...SMALL_T5, nKvHead }, new Rng(17));
  for (const { tensor } of model.namedParameters(undefined, true)) {
    for (let i = 0; i < tensor.size; i++) tensor.data[i] *= 15; // confident enough to end with EOS
  }
  return model;
}
