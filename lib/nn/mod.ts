/**
 * Layers and models: `Module` and its containers, nanoGPT's layers (Linear, Embedding, LayerNorm, RMSNorm,
 * MLP, SwiGLU MLP, causal self-attention with a KV cache, the transformer block), the GPT and BERT-style models
 * on one trunk, the T5 encoder-decoder, and the activation probe behind the report's per-layer figures.
 *
 * @example A GPT's forward pass and loss
 * ```ts
 * import { createGPT } from "@lcm/core/nn";
 * const model = createGPT({ vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true }, 1);
 * const x = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), y = new Int32Array([2, 3, 4, 5, 6, 7, 8, 9]);
 * const { loss } = model.forward(x, 1, 8, { targets: y });
 * ```
 *
 * @module
 */
export {
  Container,
  init,
  type Initialisers,
  Module,
  ModuleList,
  type NamedTensor,
  StateDictError,
} from "./module.ts";
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
} from "./layers.ts";
export { type AttentionLayerOptions, CausalSelfAttention, KVCache } from "./attention.ts";
export { Block, type BlockOptions } from "./block.ts";
export {
  type AttentionKernelOptions,
  type AttentionKind,
  ATTENTIONS,
  type AttentionVariant,
  type Family,
  type FeedForward,
  type MLPKind,
  MLPS,
  type MLPVariant,
  type NormKind,
  type NormOptions,
  NORMS,
  type NormVariant,
  type PositionKind,
  type PositionOptions,
  type PositionParts,
  POSITIONS,
  type PositionVariant,
  variantNames,
} from "./variants.ts";
export {
  createGPT,
  GPT,
  type GPTConfig,
  type GPTForwardOptions,
  type GPTOutput,
  TransformerTrunk,
} from "./models/gpt.ts";
export {
  Bert,
  type BertConfig,
  type BertForwardOptions,
  type BertOutput,
  createBert,
  keyPadding,
  paddingMask,
} from "./models/bert.ts";
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
} from "./models/t5.ts";
export { ActivationProbe, activeProbe, type BlockStats, DEAD_GELU_INPUT, withProbe } from "./probe.ts";
