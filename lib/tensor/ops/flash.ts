/**
 * Flash attention, the educational version: tiled scaled dot-product attention with an online softmax, forward
 * and backward, that never stores the T×T score or probability matrix. Per (batch, head) slice and tile of
 * queries it keeps a running row maximum m, a running sum l and an unnormalised output, rescaling them as each
 * tile of keys arrives; the forward saves only the output and each row's log-sum-exp L = m + log l, and the
 * backward recomputes the probabilities tile by tile from L. Extra memory: O(T) per slice plus two tiles,
 * against O(T²) for the standard kernel. Plain TypeScript loops (no SIMD kernel yet).
 *
 * @module
 */
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { type Float, result, type Tensor } from "../tensor.ts";
import { type AttentionMask, checkPackedQkv } from "./nn.ts";

/** Rows (queries) and columns (keys) per tile. */
export const FLASH_TILE = 32;

/**
 * Self-attention on the fused projection output qkv (B, T, 3C) → (B, T, C), like `selfAttention` (same layout,
 * same explicit mask (T, T), no dropout) computed without the T×T matrix. `tile` sets the tile size.
 */
export function flashSelfAttention(
  qkv: Tensor,
  nHead: number,
  mask: AttentionMask,
  tile = FLASH_TILE,
): Tensor {
  const { B, T, C, D } = checkPackedQkv("flashSelfAttention", qkv, nHead, mask);
  const C3 = 3 * C, H = nHead, scale = 1 / Math.sqrt(D);
  const x = qkv.data, m = mask.data;
  const y = allocate(qkv.dtype, B * T * C);
  const lse = new Float64Array(B * H * T); // log Σ exp of each row's scores (−∞ for a row with nothing to see)
  const S = new Float64Array(tile * tile); // one tile of scores / probabilities
  const rowMax = new Float64Array(tile), rowSum = new Float64Array(tile);
  const acc = new Float64Array(tile * D); // unnormalised output of the query tile
  const qo = (b: number, t: number, h: number) => (b * T + t) * C3 + h * D; // q; k at +C, v at +2C
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i0 = 0; i0 < T; i0 += tile) {
        const br = Math.min(tile, T - i0);
        rowMax.fill(-Infinity);
        rowSum.fill(0);
        acc.fill(0);
        for (let j0 = 0; j0 < T; j0 += tile) {
          const bc = Math.min(tile, T - j0);
          for (let r = 0; r < br; r++) {
            const qi = qo(b, i0 + r, h), mo = (i0 + r) * T + j0;
            let tileMax = -Infinity;
            for (let c = 0; c < bc; c++) {
              let s = -Infinity;
              if (m[mo + c] !== 0) {
                const kj = qo(b, j0 + c, h) + C;
                s = 0;
                for (let d = 0; d < D; d++) s += x[qi + d] * x[kj + d];
                s *= scale;
                if (s > tileMax) tileMax = s;
              }
              S[r * tile + c] = s;
            }
            if (tileMax === -Infinity) continue; // nothing visible in this tile
            // rescale what was accumulated under the old maximum
            const newMax = Math.max(rowMax[r], tileMax), k = Math.exp(rowMax[r] - newMax);
            rowSum[r] *= k;
            for (let d = 0; d < D; d++) acc[r * D + d] *= k;
            for (let c = 0; c < bc; c++) {
              const s = S[r * tile + c];
              if (s === -Infinity) continue;
              const p = Math.exp(s - newMax);
              rowSum[r] += p;
              const vj = qo(b, j0 + c, h) + 2 * C;
              for (let d = 0; d < D; d++) acc[r * D + d] += p * x[vj + d];
            }
            rowMax[r] = newMax;
          }
        }
        for (let r = 0; r < br; r++) {
          const yo = (b * T + i0 + r) * C + h * D, l = rowSum[r];
          for (let d = 0; d < D; d++) y[yo + d] = l > 0 ? acc[r * D + d] / l : 0;
          lse[(b * H + h) * T + i0 + r] = l > 0 ? rowMax[r] + Math.log(l) : -Infinity;
        }
      }
    }
  }
  return result(y, [B, T, C], "flashSelfAttention", [qkv], (g) => {
    const dx = allocate(qkv.dtype, qkv.size);
    flashBackward(x, y, g, lse, mask.data, dx, B, T, H, D, tile);
    accumulateGrad(qkv, dx);
  });
}

// dq, dk, dv into dx (the layout of qkv) from dy (the layout of y), recomputing the probabilities tile by tile:
// P = exp(S − L); dV += Pᵀ dY; dP = dY Vᵀ; dS = P ⊙ (dP − Δ) with Δ = rowsum(dY ⊙ Y); dQ += dS K·scale;
// dK += dSᵀ Q·scale.
function flashBackward(
  x: Float,
  y: Float,
  dy: Float,
  lse: Float64Array,
  m: Uint8Array,
  dx: Float,
  B: number,
  T: number,
  H: number,
  D: number,
  tile: number,
): void {
  const C = H * D, C3 = 3 * C, scale = 1 / Math.sqrt(D);
  const delta = new Float64Array(T);
  const qo = (b: number, t: number, h: number) => (b * T + t) * C3 + h * D;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const yo = (b * T + t) * C + h * D;
        let s = 0;
        for (let d = 0; d < D; d++) s += dy[yo + d] * y[yo + d];
        delta[t] = s;
      }
      for (let i0 = 0; i0 < T; i0 += tile) {
        const br = Math.min(tile, T - i0);
        for (let j0 = 0; j0 < T; j0 += tile) {
          const bc = Math.min(tile, T - j0);
          for (let r = 0; r < br; r++) {
            const i = i0 + r, L = lse[(b * H + h) * T + i];
            if (L === -Infinity) continue;
            const qi = qo(b, i, h), yo = (b * T + i) * C + h * D;
            for (let c = 0; c < bc; c++) {
              const j = j0 + c;
              if (m[i * T + j] === 0) continue;
              const kj = qo(b, j, h) + C, vj = kj + C;
              let s = 0;
              for (let d = 0; d < D; d++) s += x[qi + d] * x[kj + d];
              const p = Math.exp(s * scale - L);
              let dp = 0;
              for (let d = 0; d < D; d++) {
                dx[vj + d] += p * dy[yo + d]; // dV
                dp += dy[yo + d] * x[vj + d];
              }
              const ds = p * (dp - delta[i]) * scale;
              for (let d = 0; d < D; d++) {
                dx[qi + d] += ds * x[kj + d]; // dQ
                dx[kj + d] += ds * x[qi + d]; // dK
              }
            }
          }
        }
      }
    }
  }
}
