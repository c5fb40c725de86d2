/**
 * Looking inside a trained model: attention maps, per-head statistics (previous-token, induction and
 * first-token scores against chance), and projections of the token embeddings (PCA, t-SNE, UMAP).
 *
 * @module
 */
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
} from "./attention.ts";
export {
  type EmbeddingPoint,
  type EmbeddingProjection,
  embeddingWeights,
  projectEmbeddings,
  type ProjectionMethod,
  type ProjectOptions,
  selectTokens,
} from "./embeddings.ts";
export { pca, type PcaResult } from "./pca.ts";
export { tsne, type TsneOptions, type TsneResult } from "./tsne.ts";
