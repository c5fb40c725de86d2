/**
 * Neural-network ops: embedding gather, layernorm, GELU, softmax, dropout, attention with an explicit mask, and
 * the fused softmax-cross-entropy. Fused ops have hand-written backward passes over the kernels in lib/kernels.
 *
 * @module
 */
import {
  attentionBackward,
  attentionForward,
  packedAttentionBackward,
  packedAttentionForward,
} from "../../kernels/attention.ts";
import { geluBackward, geluForward } from "../../kernels/gelu.ts";
import { layerNormBackward, layerNormForward } from "../../kernels/layernorm.ts";
import {
  countTargets,
  crossEntropyBackward,
  crossEntropyForward,
  softmaxBackward,
  softmaxForward,
} from "../../kernels/softmax.ts";
import type { Rng } from "../../random.ts";
import { allocateSaved, saveForBackward } from "../saved.ts";
import { allocate, allocateForWrite } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { gpuMask } from "../gpu/mask.ts";
import { dropoutOnGpu, softmaxGpu } from "../gpu/layers.ts";
import { attentionGpu, selfAttentionGpu } from "../gpu/attention.ts";
import { crossEntropyGpu, embeddingGpu, geluGpu, layerNormGpu } from "../gpu/ops.ts";

/** Rows of the weight table picked by integer ids: ids (shape S) → (S..., C). */
export function embedding(ids: Int32Array, idsShape: readonly number[], weight: Tensor): Tensor {
  const [V, C] = weight.shape;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= V || !Number.isInteger(id)) {
      throw new Error(`embedding: id ${id} at position ${i} is outside the table of ${V} rows`);
    }
  }
  if (weight.gpu !== null) return embeddingGpu(ids, [...idsShape, C], weight);
  const out = allocateForWrite(weight.dtype, ids.length * C); // every row is copied in
  const w = weight.data;
  for (let i = 0; i < ids.length; i++) out.set(w.subarray(ids[i] * C, ids[i] * C + C), i * C);
  return result(out, [...idsShape, C], "embedding", [weight], (g) => {
    // backward: scatter-add each output row's gradient into its table row.
    const gw = allocate(weight.dtype, weight.size);
    for (let i = 0; i < ids.length; i++) {
      const o = ids[i] * C, go = i * C;
      for (let j = 0; j < C; j++) gw[o + j] += g[go + j];
    }
    accumulateGrad(weight, gw);
  });
}

/** LayerNorm over the last dimension, x (..., C), weight (C), bias (C) or null. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C || (bias !== null && bias.size !== C)) {
    throw new Error(`layerNorm: input [${x.shape}] does not match weight [${weight.shape}]`);
  }
  if (x.gpu !== null) return layerNormGpu(x, weight, bias, eps);
  const rows = x.size / C;
  const out = allocateForWrite(x.dtype, x.size);
  const meanBuf = allocateForWrite(x.dtype, rows), rstd = allocateForWrite(x.dtype, rows);
  layerNormForward(x.data, weight.data, bias?.data ?? null, out, meanBuf, rstd, rows, C, eps);
  const parents = bias === null ? [x, weight] : [x, weight, bias];
  return result(out, x.shape, "layerNorm", parents, (g) => {
    const dx = x.requiresGrad ? allocateForWrite(x.dtype, x.size) : null;
    const dw = weight.requiresGrad ? allocate(x.dtype, C) : null;
    const db = bias !== null && bias.requiresGrad ? allocate(x.dtype, C) : null;
    layerNormBackward(x.data, weight.data, meanBuf, rstd, g, dx, dw, db, rows, C);
    if (dx) accumulateGrad(x, dx);
    if (dw) accumulateGrad(weight, dw);
    if (db && bias) accumulateGrad(bias, db);
  });
}

/** GELU, exact erf form. */
export function gelu(x: Tensor): Tensor {
  if (x.gpu !== null) return geluGpu(x);
  const out = allocateForWrite(x.dtype, x.size);
  geluForward(x.data, out, x.size);
  return result(out, x.shape, "gelu", [x], (g) => {
    const dx = allocateForWrite(x.dtype, x.size);
    geluBackward(x.data, g, dx, x.size);
    accumulateGrad(x, dx);
  });
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  if (x.gpu !== null) return softmaxGpu(x);
  const C = x.shape[x.ndim - 1], rows = x.size / C;
  const out = allocateForWrite(x.dtype, x.size);
  softmaxForward(x.data, out, rows, C);
  return result(out, x.shape, "softmax", [x], (g) => {
    const dx = allocateForWrite(x.dtype, x.size);
    softmaxBackward(out, g, dx, rows, C);
    accumulateGrad(x, dx);
  });
}

/** Draws a keep-mask for inverted dropout: 1 with probability 1 − p. */
export function dropoutMask(n: number, p: number, rng: Rng): Uint8Array {
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) keep[i] = rng.next() >= p ? 1 : 0;
  return keep;
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p). Identity when p = 0
 * or when `training` is false. The mask comes from the given seeded generator.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  if (!training || p === 0) return x;
  if (!(p > 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  const keep = dropoutMask(x.size, p, rng), s = 1 / (1 - p);
  if (x.gpu !== null) return dropoutOnGpu(x, keep, s);
  const out = allocate(x.dtype, x.size);
  for (let i = 0; i < out.length; i++) out[i] = keep[i] ? x.data[i] * s : 0;
  return result(out, x.shape, "dropout", [x], (g) => {
    const dx = allocate(x.dtype, x.size);
    for (let i = 0; i < dx.length; i++) dx[i] = keep[i] ? g[i] * s : 0;
    accumulateGrad(x, dx);
  });
}

/**
 * An attention mask: `data[i·Tk + j]` is 1 when query position i may attend to key position j, else 0.
 * It is an explicit argument of attention, so causal, bidirectional and padding-aware attention are the same op.
 */
export interface AttentionMask {
  /** Query positions. */
  readonly Tq: number;
  /** Key positions. */
  readonly Tk: number;
  /** Row-major (Tq, Tk) 0/1 entries. */
  readonly data: Uint8Array;
}

/**
 * The causal mask for Tq queries that sit at the end of Tk keys (queries are positions Tk−Tq … Tk−1, as when
 * decoding with a KV cache): query i may attend to key j iff j ≤ i + (Tk − Tq).
 */
export function causalMask(Tq: number, Tk = Tq): AttentionMask {
  const data = new Uint8Array(Tq * Tk), off = Tk - Tq;
  // (clamped at 0: with more queries than keys, the first rows see none — and a negative end would count back
  // from the end of the array)
  for (let i = 0; i < Tq; i++) data.fill(1, i * Tk, Math.max(0, Math.min(Tk, i + off + 1)) + i * Tk);
  return { Tq, Tk, data };
}

/** The all-ones (bidirectional) mask. */
export function fullMask(Tq: number, Tk = Tq): AttentionMask {
  return { Tq, Tk, data: new Uint8Array(Tq * Tk).fill(1) };
}

/** Options of {@link attention}. */
export interface AttentionOptions {
  /** Dropout on the attention probabilities (training only). */
  dropout?: number;
  /** Generator for the dropout mask (required when dropout > 0). */
  rng?: Rng;
  /** Receives the probabilities (B, H, Tq, Tk) when given, for analysis. */
  onProbs?: (probs: Float32Array | Float64Array) => void;
}

/**
 * Scaled dot-product attention: softmax(mask(q·kᵀ/√D)) · v for q (B, H, Tq, D), k and v (B, H, Tk, D) and an
 * explicit {@link AttentionMask} (Tq, Tk). Returns (B, H, Tq, D).
 */
export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttentionMask,
  opts: AttentionOptions = {},
): Tensor {
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  if (
    q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D
  ) {
    throw new Error(
      `attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] must be (B, H, T, D) and agree`,
    );
  }
  if (v.shape.some((d, i) => d !== k.shape[i])) {
    throw new Error(`attention: v [${v.shape}] != k [${k.shape}]`);
  }
  if (mask.Tq !== Tq || mask.Tk !== Tk) {
    throw new Error(`attention: mask is (${mask.Tq}, ${mask.Tk}) but the scores are (${Tq}, ${Tk})`);
  }
  const dims = { BH: B * H, Tq, Tk, D, scale: 1 / Math.sqrt(D) };
  const { keep, keepScale } = attentionDropout(B * H * Tq * Tk, opts);
  if (q.gpu !== null) {
    if (opts.onProbs !== undefined) throw new Error("attention: onProbs is not on webgpu yet");
    return attentionGpu(q, k, v, gpuMask(q.gpu.gpu, mask), dims, { keep, scale: keepScale });
  }
  const probs = allocateSaved(q.dtype, B * H * Tq * Tk);
  const y = allocate(q.dtype, B * H * Tq * D);
  attentionForward(q.data, k.data, v.data, mask.data, probs, y, dims, keep, keepScale);
  opts.onProbs?.(probs);
  const saved = saveForBackward(probs); // 16-bit under a 16-bit precision
  return result(y, [B, H, Tq, D], "attention", [q, k, v], (g) => {
    const dq = allocate(q.dtype, q.size), dk = allocate(q.dtype, k.size), dv = allocate(q.dtype, v.size);
    const probs = saved.read();
    attentionBackward(q.data, k.data, v.data, probs, g, dq, dk, dv, dims, keep, keepScale, mask.data);
    saved.done(probs);
    accumulateGrad(q, dq);
    accumulateGrad(k, dk);
    accumulateGrad(v, dv);
  });
}

// The dropout mask of the attention probabilities (null without dropout) and the inverted-dropout scale.
function attentionDropout(n: number, opts: AttentionOptions): { keep: Uint8Array | null; keepScale: number } {
  const p = opts.dropout ?? 0;
  if (!(p > 0)) return { keep: null, keepScale: 1 };
  if (!opts.rng) throw new Error("attention: dropout > 0 needs an rng");
  return { keep: dropoutMask(n, p, opts.rng), keepScale: 1 / (1 - p) };
}

/**
 * Multi-head self-attention straight from the fused projection: qkv (B, T, 3C) holds q, k and v side by side in
 * each row (nanoGPT's `c_attn(x).split(C, dim=2)`), C = nHead·D. Returns the heads merged back into (B, T, C).
 * The same result and gradients as `narrow` + `reshape` + `permute` into (B, H, T, D), {@link attention}, and the
 * inverse permute, without materialising any of those copies. The mask is (T, T).
 */
export function selfAttention(
  qkv: Tensor,
  nHead: number,
  mask: AttentionMask,
  opts: AttentionOptions = {},
): Tensor {
  const { B, T, C, D } = checkPackedQkv("selfAttention", qkv, nHead, mask);
  const dims = { BH: B * nHead, H: nHead, Tq: T, Tk: T, D, scale: 1 / Math.sqrt(D) };
  const { keep, keepScale } = attentionDropout(B * nHead * T * T, opts);
  if (qkv.gpu !== null) {
    if (opts.onProbs !== undefined) throw new Error("selfAttention: onProbs is not on webgpu yet");
    return selfAttentionGpu(qkv, [B, T, C], dims, gpuMask(qkv.gpu.gpu, mask), { keep, scale: keepScale });
  }
  const probs = allocateSaved(qkv.dtype, B * nHead * T * T);
  const y = allocate(qkv.dtype, B * T * C);
  packedAttentionForward(qkv.data, mask.data, probs, y, dims, keep, keepScale);
  opts.onProbs?.(probs);
  const saved = saveForBackward(probs); // 16-bit under a 16-bit precision
  return result(y, [B, T, C], "selfAttention", [qkv], (g) => {
    const dqkv = allocate(qkv.dtype, qkv.size);
    const probs = saved.read();
    packedAttentionBackward(qkv.data, probs, g, dqkv, dims, keep, keepScale, mask.data);
    saved.done(probs);
    accumulateGrad(qkv, dqkv);
  });
}

/**
 * Checks the arguments of a self-attention on the fused projection output (qkv (B, T, 3C), C a multiple of
 * nHead, mask (T, T)) and returns its sizes; `op` names the caller in the error.
 */
export function checkPackedQkv(
  op: string,
  qkv: Tensor,
  nHead: number,
  mask: AttentionMask,
): { B: number; T: number; C: number; D: number } {
  const [B, T, C3] = qkv.shape;
  if (qkv.ndim !== 3 || C3 % 3 !== 0 || (C3 / 3) % nHead !== 0) {
    throw new Error(`${op}: qkv [${qkv.shape}] must be (B, T, 3C) with C a multiple of ${nHead} heads`);
  }
  if (mask.Tq !== T || mask.Tk !== T) {
    throw new Error(`${op}: mask is (${mask.Tq}, ${mask.Tk}) but the scores are (${T}, ${T})`);
  }
  return { B, T, C: C3 / 3, D: C3 / 3 / nHead };
}

/**
 * Fused softmax + cross-entropy, mean over the rows whose target is not `ignoreIndex`.
 * logits (..., V), targets: one id per row. Returns a one-element tensor.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, ignoreIndex = -1): Tensor {
  const V = logits.shape[logits.ndim - 1], rows = logits.size / V;
  if (targets.length !== rows) {
    throw new Error(`crossEntropy: ${targets.length} targets for ${rows} rows of logits`);
  }
  if (logits.gpu !== null) {
    return crossEntropyGpu(logits, targets, ignoreIndex, countTargets(targets, rows, V, ignoreIndex));
  }
  const probs = allocateSaved(logits.dtype, logits.size);
  const { loss, count } = crossEntropyForward(logits.data, targets, probs, rows, V, ignoreIndex);
  const out = allocate(logits.dtype, 1);
  out[0] = loss;
  const saved = saveForBackward(probs); // 16-bit under a 16-bit precision
  return result(out, [], "crossEntropy", [logits], (g) => {
    const kept = saved.read();
    // The probabilities die here: where they are this op's own storage (not a 16-bit copy decoded into staging
    // storage) the gradient is written over them, which saves a logits-sized buffer at the peak of the step
    // (206 MB for GPT-2 small at batch 4 × 256).
    const dx = kept === probs ? kept : allocateForWrite(logits.dtype, logits.size);
    crossEntropyBackward(kept, targets, dx, rows, V, ignoreIndex, count > 0 ? g[0] / count : 0);
    if (dx !== kept) saved.done(kept);
    accumulateGrad(logits, dx);
  });
}
