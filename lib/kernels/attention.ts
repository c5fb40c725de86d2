/**
 * Scaled dot-product attention with an explicit mask, forward and backward, on flat buffers.
 *
 * Shapes: q (BH, Tq, D), k and v (BH, Tk, D), mask (Tq, Tk) with 1 = may attend, 0 = blocked; the same mask
 * applies to every batch·head slice. The probabilities P (BH, Tq, Tk) are saved for the backward pass.
 *
 * @module
 */
import { gemm } from "./matmul.ts";
import { softmaxBackward } from "./softmax.ts";
import type { Float } from "./types.ts";

// The probabilities of one head after inverted dropout: P itself (at offset po) when there is no dropout, else the
// kept entries scaled into `out` (at offset 0).
function afterDropout(
  P: Float,
  po: number,
  n: number,
  keep: Uint8Array | null,
  keepScale: number,
  out: Float | null,
): [Float, number] {
  if (keep === null || out === null) return [P, po];
  for (let t = 0; t < n; t++) out[t] = keep[po + t] ? P[po + t] * keepScale : 0;
  return [out, 0];
}

/** Sizes shared by the attention kernels. */
export interface AttentionDims {
  /** Batch × heads. */
  BH: number;
  /** Query positions. */
  Tq: number;
  /** Key/value positions. */
  Tk: number;
  /** Head dimension. */
  D: number;
  /** Score scale, usually 1/√D. */
  scale: number;
}

/**
 * y = dropout(softmax(mask(q·kᵀ·scale))) · v. Fills `probs` with the softmax (before dropout). `keep`, when given,
 * holds one 0/1 byte per probability and `keepScale` = 1/(1−p) multiplies the kept ones (inverted dropout).
 * A row whose mask is all zero gets all-zero probabilities (and output).
 */
export function attentionForward(
  q: Float,
  k: Float,
  v: Float,
  mask: Uint8Array,
  probs: Float,
  y: Float,
  d: AttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  const { BH, Tq, Tk, D, scale } = d;
  const P = probs;
  const dropped = keep === null ? null : new (P.constructor as { new (n: number): Float })(Tq * Tk);
  for (let h = 0; h < BH; h++) {
    const po = h * Tq * Tk;
    gemm({
      transA: false,
      transB: true,
      M: Tq,
      N: Tk,
      K: D,
      A: q,
      aOff: h * Tq * D,
      B: k,
      bOff: h * Tk * D,
      C: P,
      cOff: po,
      accumulate: false,
    });
    for (let i = 0; i < Tq; i++) {
      const o = po + i * Tk, mo = i * Tk;
      let max = -Infinity;
      for (let j = 0; j < Tk; j++) {
        if (mask[mo + j] === 0) continue;
        const s = P[o + j] * scale;
        P[o + j] = s;
        if (s > max) max = s;
      }
      if (max === -Infinity) {
        P.fill(0, o, o + Tk);
        continue;
      }
      let sum = 0;
      for (let j = 0; j < Tk; j++) {
        if (mask[mo + j] === 0) {
          P[o + j] = 0;
          continue;
        }
        const e = Math.exp(P[o + j] - max);
        P[o + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = 0; j < Tk; j++) P[o + j] *= inv;
    }
    const [src, srcOff] = afterDropout(P, po, Tq * Tk, keep, keepScale, dropped);
    gemm({
      transA: false,
      transB: false,
      M: Tq,
      N: D,
      K: Tk,
      A: src,
      aOff: srcOff,
      B: v,
      bOff: h * Tk * D,
      C: y,
      cOff: h * Tq * D,
      accumulate: false,
    });
  }
}

/** Gradients of {@link attentionForward}: writes dq, dk, dv (overwriting them). */
export function attentionBackward(
  q: Float,
  k: Float,
  v: Float,
  probs: Float,
  dy: Float,
  dq: Float,
  dk: Float,
  dv: Float,
  d: AttentionDims,
  keep: Uint8Array | null,
  keepScale: number,
): void {
  const { BH, Tq, Tk, D, scale } = d;
  const Ctor = probs.constructor as { new (n: number): Float };
  const dP = new Ctor(Tq * Tk);
  const dS = new Ctor(Tq * Tk);
  const dropped = keep === null ? null : new Ctor(Tq * Tk);
  for (let h = 0; h < BH; h++) {
    const po = h * Tq * Tk, qo = h * Tq * D, ko = h * Tk * D;
    // dv = P'ᵀ · dy, with P' the probabilities after dropout.
    const [src, srcOff] = afterDropout(probs, po, Tq * Tk, keep, keepScale, dropped);
    gemm({
      transA: true,
      transB: false,
      M: Tk,
      N: D,
      K: Tq,
      A: src,
      aOff: srcOff,
      B: dy,
      bOff: qo,
      C: dv,
      cOff: ko,
      accumulate: false,
    });
    // dP' = dy · vᵀ, then through dropout and softmax.
    gemm({
      transA: false,
      transB: true,
      M: Tq,
      N: Tk,
      K: D,
      A: dy,
      aOff: qo,
      B: v,
      bOff: ko,
      C: dP,
      cOff: 0,
      accumulate: false,
    });
    if (keep !== null) { for (let t = 0; t < Tq * Tk; t++) dP[t] = keep[po + t] ? dP[t] * keepScale : 0; }
    softmaxBackward(probs.subarray(po, po + Tq * Tk), dP, dS, Tq, Tk);
    for (let t = 0; t < Tq * Tk; t++) dS[t] *= scale;
    gemm({
      transA: false,
      transB: false,
      M: Tq,
      N: D,
      K: Tk,
      A: dS,
      aOff: 0,
      B: k,
      bOff: ko,
      C: dq,
      cOff: qo,
      accumulate: false,
    });
    gemm({
      transA: true,
      transB: false,
      M: Tk,
      N: D,
      K: Tq,
      A: dS,
      aOff: 0,
      B: q,
      bOff: qo,
      C: dk,
      cOff: ko,
      accumulate: false,
    });
  }
}
