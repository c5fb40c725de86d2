/**
 * T5's bucketed relative position bias and attention with an additive bias.
 *
 * - {@link relativePositionBucket} / {@link relativePositionBuckets}: T5's bucketing of a relative position
 *   (key − query): with `bidirectional`, half the buckets for keys after the query; within each half, exact
 *   buckets for distances below half of it, log-spaced buckets beyond, up to `maxDistance` (the last bucket).
 * - {@link relativePositionBias}: the differentiable gather of a learned (numBuckets, H) table into an (H, Tq, Tk)
 *   bias; its backward scatter-adds into the table.
 * - {@link attentionWithBias}: softmax(scale·q·kᵀ + bias, masked) · v with a hand-written backward that sends
 *   gradients to q, k, v and the bias. Masks: an optional shared (Tq, Tk) {@link AttentionMask} and optional
 *   per-batch key lengths (padding: key j of row b is visible iff j < keyLengths[b]).
 *
 * @module
 */
import type { Rng } from "../../random.ts";
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { type AttentionMask, dropoutMask } from "./nn.ts";

/** Options of {@link relativePositionBuckets}. */
export interface RelativeBucketOptions {
  /** Whether keys after the query get their own buckets (encoder) or share bucket 0 (causal decoder). */
  bidirectional: boolean;
  /** Number of buckets. Default 32 (T5). */
  numBuckets?: number;
  /** Distances at or beyond this go to the last bucket of their half. Default 128 (T5). */
  maxDistance?: number;
  /** Position of query 0 (keys start at 0): decoding with a KV cache puts the new queries after the cache. */
  qOffset?: number;
}

/**
 * T5's `_relative_position_bucket` for one relative position `rel` = key position − query position. The
 * log-spaced part is computed in float32 (rounded with `Math.fround`), as PyTorch computes it.
 */
export function relativePositionBucket(
  rel: number,
  bidirectional: boolean,
  numBuckets = 32,
  maxDistance = 128,
): number {
  let bucket = 0;
  let nb = numBuckets;
  let n: number;
  if (bidirectional) {
    nb = Math.floor(nb / 2);
    if (rel > 0) bucket += nb;
    n = Math.abs(rel);
  } else {
    n = -Math.min(rel, 0);
  }
  const maxExact = Math.floor(nb / 2);
  if (n < maxExact) return bucket + n;
  const f = Math.fround;
  const ratio = f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(ratio * (nb - maxExact)));
  return bucket + Math.min(large, nb - 1);
}

/**
 * The bucket of every (query, key) pair, row-major (Tq, Tk): query i sits at position `qOffset + i`, key j at
 * position j, and the pair's bucket is {@link relativePositionBucket}(j − qOffset − i).
 */
export function relativePositionBuckets(Tq: number, Tk: number, opts: RelativeBucketOptions): Int32Array {
  const { bidirectional, numBuckets = 32, maxDistance = 128, qOffset = 0 } = opts;
  if (!Number.isInteger(numBuckets) || numBuckets < 2 || (bidirectional && numBuckets < 4)) {
    throw new Error(`relativePositionBuckets: numBuckets must be an integer >= ${bidirectional ? 4 : 2}`);
  }
  const out = new Int32Array(Tq * Tk);
  // the bucket only depends on the distance: compute each distance once
  const memo = new Map<number, number>();
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) {
      const rel = j - (qOffset + i);
      let b = memo.get(rel);
      if (b === undefined) {
        b = relativePositionBucket(rel, bidirectional, numBuckets, maxDistance);
        memo.set(rel, b);
      }
      out[i * Tk + j] = b;
    }
  }
  return out;
}

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
  const n = Tq * Tk, w = table.data;
  const out = allocate(table.dtype, H * n); // (H, Tq, Tk)
  for (let h = 0; h < H; h++) for (let p = 0; p < n; p++) out[h * n + p] = w[buckets[p] * H + h];
  return result(out, [H, Tq, Tk], "relativePositionBias", [table], (g) => {
    const gw = allocate(table.dtype, table.size);
    for (let h = 0; h < H; h++) for (let p = 0; p < n; p++) gw[buckets[p] * H + h] += g[h * n + p];
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
  const qd = q.data, kd = k.data, vd = v.data, bd = bias?.data ?? null, md = mask?.data ?? null;
  const probs = allocate(q.dtype, B * H * Tq * Tk); // (B, H, Tq, Tk), before dropout
  const y = allocate(q.dtype, B * H * Tq * D);
  const row = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    const len = lengths === null ? Tk : Math.min(Tk, lengths[b]);
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < Tq; i++) {
        const qo = (bh * Tq + i) * D, po = (bh * Tq + i) * Tk;
        let max = -Infinity;
        for (let j = 0; j < len; j++) {
          if (md !== null && md[i * Tk + j] === 0) {
            row[j] = -Infinity;
            continue;
          }
          const ko = (bh * Tk + j) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += qd[qo + d] * kd[ko + d];
          s *= scale;
          if (bd !== null) s += bd[(h * Tq + i) * Tk + j];
          row[j] = s;
          if (s > max) max = s;
        }
        if (max === -Infinity) continue; // no visible key: probabilities and output stay 0
        let sum = 0;
        for (let j = 0; j < len; j++) {
          const e = row[j] === -Infinity ? 0 : Math.exp(row[j] - max);
          row[j] = e;
          sum += e;
        }
        for (let j = 0; j < len; j++) {
          const pr = row[j] / sum;
          probs[po + j] = pr;
          const pd = keep === null ? pr : keep[po + j] ? pr * ks : 0;
          if (pd === 0) continue;
          const vo = (bh * Tk + j) * D;
          for (let d = 0; d < D; d++) y[qo + d] += pd * vd[vo + d];
        }
      }
    }
  }
  const parents = bias === null ? [q, k, v] : [q, k, v, bias];
  return result(y, [B, H, Tq, D], "attentionWithBias", parents, (g) => {
    const dq = allocate(q.dtype, q.size), dk = allocate(q.dtype, k.size), dv = allocate(q.dtype, v.size);
    const db = bias !== null && bias.requiresGrad ? allocate(q.dtype, bias.size) : null;
    const dp = new Float64Array(Tk);
    for (let b = 0; b < B; b++) {
      const len = lengths === null ? Tk : Math.min(Tk, lengths[b]);
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        for (let i = 0; i < Tq; i++) {
          const qo = (bh * Tq + i) * D, po = (bh * Tq + i) * Tk;
          // dv_j += pd_ij·g_i; dpd_ij = g_i·v_j; dp = dpd·keep·ks; ds = p·(dp − Σ p·dp)
          let dot = 0;
          for (let j = 0; j < len; j++) {
            const pr = probs[po + j];
            const kept = keep === null ? 1 : keep[po + j] ? ks : 0;
            const vo = (bh * Tk + j) * D;
            let gv = 0;
            for (let d = 0; d < D; d++) gv += g[qo + d] * vd[vo + d];
            const pd = pr * kept;
            if (pd !== 0) { for (let d = 0; d < D; d++) dv[vo + d] += pd * g[qo + d]; }
            dp[j] = gv * kept;
            dot += pr * dp[j];
          }
          for (let j = 0; j < len; j++) {
            const pr = probs[po + j];
            if (pr === 0) continue;
            const ds = pr * (dp[j] - dot);
            if (db !== null) db[(h * Tq + i) * Tk + j] += ds;
            const c = ds * scale, ko = (bh * Tk + j) * D;
            for (let d = 0; d < D; d++) {
              dq[qo + d] += c * kd[ko + d];
              dk[ko + d] += c * qd[qo + d];
            }
          }
        }
      }
    }
    accumulateGrad(q, dq);
    accumulateGrad(k, dk);
    accumulateGrad(v, dv);
    if (db !== null && bias !== null) accumulateGrad(bias, db);
  });
}
