/**
 * T5's relative position bias and attention with an additive bias as differentiable ops (the loops, and the
 * bucketing of relative positions, are in `lib/kernels/relpos.ts`).
 *
 * - {@link relativePositionBias}: the differentiable gather of a learned (numBuckets, H) table into an (H, Tq, Tk)
 *   bias; its backward scatter-adds into the table.
 * - {@link attentionWithBias}: softmax(scale·q·kᵀ + bias, masked) · v with a hand-written backward that sends
 *   gradients to q, k, v and the bias. Masks: an optional shared (Tq, Tk) {@link AttentionMask} and optional
 *   per-batch key lengths (padding: key j of row b is visible iff j < keyLengths[b]).
 *
 * @module
 */
import {
  biasedAttentionBackward,
  biasedAttentionForward,
  relativeBiasGather,
  relativeBiasScatter,
} from "../../kernels/relpos.ts";
import type { Rng } from "../../random.ts";
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { type AttentionMask, dropoutMask } from "./nn.ts";
import { attentionWithBiasGpu, relativePositionBiasGpu } from "../gpu/attention.ts";
import { gpuMask } from "../gpu/mask.ts";

/**
 * Gathers a learned table (numBuckets, H) into a bias (H, Tq, Tk): bias[h, i, j] = table[buckets[i·Tk + j], h].
 * Backward scatter-adds the bias gradient into the table rows.
 */
export function relativePositionBias(table: Tensor, buckets: Int32Array, Tq: number, Tk: number): Tensor {
  const [NB, H] = table.shape;
  if (table.ndim !== 2 || buckets.length !== Tq * Tk) {
    throw new Error(
      `relativePositionBias: table [${table.shape}] must be (numBuckets, H) and buckets ${buckets.length} = ${Tq}·${Tk}`,
    );
  }
  for (let p = 0; p < buckets.length; p++) {
    if (buckets[p] < 0 || buckets[p] >= NB) {
      throw new Error(`relativePositionBias: bucket ${buckets[p]} is outside the table of ${NB} rows`);
    }
  }
  if (table.gpu !== null) return relativePositionBiasGpu(table, buckets, Tq, Tk);
  const n = Tq * Tk, w = table.data;
  const out = allocate(table.dtype, H * n); // (H, Tq, Tk)
  relativeBiasGather(w, buckets, out, H, n);
  return result(out, [H, Tq, Tk], "relativePositionBias", [table], (g) => {
    const gw = allocate(table.dtype, table.size); // (numBuckets, H)
    relativeBiasScatter(g, buckets, gw, H, n);
    accumulateGrad(table, gw);
  });
}

/** Options of {@link attentionWithBias}. */
export interface BiasedAttentionOptions {
  /** Per batch row (B): key j is visible iff j < keyLengths[b] (padding of the keys). Default: all keys. */
  keyLengths?: Int32Array | null;
  /** Multiplies q·kᵀ before the bias is added. Default 1/√D (T5 itself uses 1; see the T5 model notes). */
  scale?: number;
  /** Dropout on the attention probabilities (training only). */
  dropout?: number;
  /** Generator for the dropout mask (required when dropout > 0). */
  rng?: Rng;
}

/**
 * softmax(scale·q·kᵀ + bias under the masks) · v for q (B, H, Tq, D), k and v (B, H, Tk, D), bias (H, Tq, Tk)
 * (shared by the batch, as T5's position bias) or null. `mask` (Tq, Tk) or null (all visible) combines with
 * `opts.keyLengths`; a query row with no visible key gets zero probabilities (output 0). Returns (B, H, Tq, D);
 * the backward sends gradients to q, k, v and bias.
 */
export function attentionWithBias(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null,
  mask: AttentionMask | null,
  opts: BiasedAttentionOptions = {},
): Tensor {
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  if (
    q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4 || k.shape[0] !== B || k.shape[1] !== H ||
    k.shape[3] !== D || v.shape.some((d, i) => d !== k.shape[i])
  ) {
    throw new Error(
      `attentionWithBias: q [${q.shape}], k [${k.shape}], v [${v.shape}] must be (B, H, T, D) and agree`,
    );
  }
  if (
    bias !== null && (bias.ndim !== 3 || bias.shape[0] !== H || bias.shape[1] !== Tq || bias.shape[2] !== Tk)
  ) {
    throw new Error(`attentionWithBias: bias [${bias.shape}] must be (${H}, ${Tq}, ${Tk})`);
  }
  if (mask !== null && (mask.Tq !== Tq || mask.Tk !== Tk)) {
    throw new Error(`attentionWithBias: mask is (${mask.Tq}, ${mask.Tk}) but the scores are (${Tq}, ${Tk})`);
  }
  const lengths = opts.keyLengths ?? null;
  if (lengths !== null && lengths.length !== B) {
    throw new Error(`attentionWithBias: ${lengths.length} key lengths for batch ${B}`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const p = opts.dropout ?? 0;
  let keep: Uint8Array | null = null, ks = 1;
  if (p > 0) {
    if (!opts.rng) throw new Error("attentionWithBias: dropout > 0 needs an rng");
    keep = dropoutMask(B * H * Tq * Tk, p, opts.rng);
    ks = 1 / (1 - p);
  }
  const dims = { B, H, Tq, Tk, D, scale };
  if (q.gpu !== null) {
    const m = mask === null ? null : gpuMask(q.gpu.gpu, mask);
    return attentionWithBiasGpu(q, k, v, bias, m, lengths, dims, { keep, scale: ks });
  }
  const qd = q.data, kd = k.data, vd = v.data, bd = bias?.data ?? null, md = mask?.data ?? null;
  const probs = allocate(q.dtype, B * H * Tq * Tk); // (B, H, Tq, Tk), before dropout
  const y = allocate(q.dtype, B * H * Tq * D); // (B, H, Tq, D)
  biasedAttentionForward(qd, kd, vd, bd, md, lengths, probs, y, dims, keep, ks);
  const parents = bias === null ? [q, k, v] : [q, k, v, bias];
  return result(y, [B, H, Tq, D], "attentionWithBias", parents, (g) => {
    const dq = allocate(q.dtype, q.size), dk = allocate(q.dtype, k.size), dv = allocate(q.dtype, v.size);
    const db = bias !== null && bias.requiresGrad ? allocate(q.dtype, bias.size) : null;
    biasedAttentionBackward(qd, kd, vd, probs, g, dq, dk, dv, db, lengths, dims, keep, ks, md);
    accumulateGrad(q, dq);
    accumulateGrad(k, dk);
    accumulateGrad(v, dv);
    if (db !== null && bias !== null) accumulateGrad(bias, db);
  });
}
