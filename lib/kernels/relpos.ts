/**
 * T5's relative position attention on flat buffers: the bucketing of relative positions, the gather of a learned
 * (numBuckets, H) table into a bias (H, Tq, Tk) and its scatter-add backward, and scaled dot-product attention
 * with an additive bias, forward and backward.
 *
 * - {@link relativePositionBucket} / {@link relativePositionBuckets}: T5's bucketing of a relative position
 *   (key − query): with `bidirectional`, half the buckets for keys after the query; within each half, exact
 *   buckets for distances below half of it, log-spaced buckets beyond, up to `maxDistance` (the last bucket).
 * - {@link biasedAttentionForward} / {@link biasedAttentionBackward}: softmax(scale·q·kᵀ + bias, masked) · v for
 *   q (B, H, Tq, D), k and v (B, H, Tk, D), bias (H, Tq, Tk) shared by the batch or null. Masks: an optional
 *   shared (Tq, Tk) mask (1 = may attend) and optional per-batch key lengths (padding: key j of row b is visible
 *   iff j < keyLengths[b]). Float32 storage runs on the WASM SIMD attention kernel (the bias added to the scaled
 *   scores, (batch, head) slices split over the kernel threads, the bias gradient summed over the batch in a
 *   fixed order) unless the backend is `js`; float64 and the `js` backend run the plain TypeScript loops here.
 *
 * @module
 */
import { attentionWasm, type PackedAttentionDims, type WasmOperands } from "./attention.ts";
import { type SliceLayout, useWasm } from "./attention_wasm.ts";
import type { Float } from "./types.ts";

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
 * bias[h, i, j] = table[buckets[i·Tk + j], h]: the learned table w (numBuckets, H) gathered into out (H, n),
 * n = Tq·Tk.
 */
export function relativeBiasGather(w: Float, buckets: Int32Array, out: Float, H: number, n: number): void {
  for (let h = 0; h < H; h++) for (let p = 0; p < n; p++) out[h * n + p] = w[buckets[p] * H + h];
}

/** The backward of {@link relativeBiasGather}: the bias gradient g (H, n) scatter-added into gw (numBuckets, H). */
export function relativeBiasScatter(g: Float, buckets: Int32Array, gw: Float, H: number, n: number): void {
  for (let h = 0; h < H; h++) for (let p = 0; p < n; p++) gw[buckets[p] * H + h] += g[h * n + p];
}

/** Sizes of {@link biasedAttentionForward} and {@link biasedAttentionBackward}. */
export interface BiasedAttentionDims {
  /** Batch. */
  B: number;
  /** Heads. */
  H: number;
  /** Query positions. */
  Tq: number;
  /** Key/value positions. */
  Tk: number;
  /** Head dimension. */
  D: number;
  /** Multiplies q·kᵀ before the bias is added. */
  scale: number;
}

/**
 * y (B, H, Tq, D, zero on entry) = dropout(softmax(scale·q·kᵀ + bias under the masks)) · v; probs (B, H, Tq, Tk,
 * zero on entry) receives the probabilities before dropout. bd (H, Tq, Tk) or null; md (Tq, Tk) or null (all
 * visible); key j of batch row b is visible iff j < lengths[b] (null: all keys). A query row with no visible key
 * keeps zero probabilities (output 0). `keep`, when given, holds one 0/1 byte per probability and `ks` =
 * 1/(1−p) multiplies the kept ones (inverted dropout).
 */
export function biasedAttentionForward(
  qd: Float,
  kd: Float,
  vd: Float,
  bd: Float | null,
  md: Uint8Array | null,
  lengths: Int32Array | null,
  probs: Float,
  y: Float,
  dims: BiasedAttentionDims,
  keep: Uint8Array | null,
  ks: number,
): void {
  if (useWasm(qd)) {
    const mask = md ?? visibleMask(dims.Tq, dims.Tk);
    const bias = { bias: bd as Float32Array | null, lengths, dbias: null };
    attentionWasm(
      "fwd",
      packed(dims),
      operands(qd, kd, vd, y, dims),
      mask,
      probs as Float32Array,
      keep,
      ks,
      bias,
    );
    return;
  }
  const { B, H, Tq, Tk, D, scale } = dims;
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
}

/**
 * The backward of {@link biasedAttentionForward} from the output gradient g and the forward's probs (same
 * lengths, keep and ks): dq, dk, dv (zero on entry) and, when db is not null, the bias gradient db (H, Tq, Tk),
 * added into. Passing the forward's mask `md` lets the WASM kernel skip the blocked part of the products (the
 * loops skip the zero probabilities anyway).
 */
export function biasedAttentionBackward(
  qd: Float,
  kd: Float,
  vd: Float,
  probs: Float,
  g: Float,
  dq: Float,
  dk: Float,
  dv: Float,
  db: Float | null,
  lengths: Int32Array | null,
  dims: BiasedAttentionDims,
  keep: Uint8Array | null,
  ks: number,
  md: Uint8Array | null = null,
): void {
  if (useWasm(qd)) {
    const o = { ...operands(qd, kd, vd, g, dims), dq, dk, dv };
    const bias = { bias: null, lengths, dbias: db as Float32Array | null };
    attentionWasm("bwd", packed(dims), o, md, probs as Float32Array, keep, ks, bias);
    return;
  }
  const { B, H, Tq, Tk, D, scale } = dims;
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
}

function packed(d: BiasedAttentionDims): PackedAttentionDims {
  return { BH: d.B * d.H, H: d.H, Tq: d.Tq, Tk: d.Tk, D: d.D, scale: d.scale };
}

// q, k, v, y (or dy) as (B, H, T, D) slices for the wasm kernel.
function operands(q: Float, k: Float, v: Float, y: Float, d: BiasedAttentionDims): WasmOperands {
  const L = (T: number): SliceLayout => ({ offset: 0, batch: d.H * T * d.D, head: T * d.D, row: d.D });
  return { q, k, v, y, qL: L(d.Tq), kL: L(d.Tk), vL: L(d.Tk), yL: L(d.Tq) };
}

let visible = new Uint8Array(0), visibleShape = "";

// An all-visible (Tq, Tk) mask (the kernel reads mask bytes); the last one is kept for the next call.
function visibleMask(Tq: number, Tk: number): Uint8Array {
  const shape = `${Tq}x${Tk}`;
  if (shape !== visibleShape) {
    visible = new Uint8Array(Tq * Tk).fill(1);
    visibleShape = shape;
  }
  return visible;
}
