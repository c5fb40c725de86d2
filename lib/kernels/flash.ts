/**
 * Flash attention, the educational version: tiled scaled dot-product attention with an online softmax, forward
 * and backward, that never stores the T×T score or probability matrix. Per (batch, head) slice and tile of
 * queries it keeps a running row maximum m, a running sum l and an unnormalised output, rescaling them as each
 * tile of keys arrives; the forward saves only the output and each row's log-sum-exp L = m + log l, and the
 * backward recomputes the probabilities tile by tile from L. Extra memory: O(T) per slice plus two tiles,
 * against O(T²) for the standard kernel. Float32 storage runs on the WASM SIMD kernel (`wasm/assembly/flash.ts`,
 * (batch, head) slices split over the kernel threads) unless the backend is `js`; float64 and the `js` backend run
 * the plain TypeScript loops here.
 *
 * Layout: x is the fused projection output (B, T, 3C) (per row q, then k at +C, then v at +2C; head h at h·D),
 * y and dy are (B, T, C), the mask (T, T) holds 1 = may attend, 0 = blocked, lse is (B, H, T).
 *
 * @module
 */
import {
  commitSlices,
  maskRanges,
  runSlices,
  setLayout,
  type SliceLayout,
  SLOT,
  useWasm,
} from "./attention_wasm.ts";
import type { Float } from "./types.ts";
import { OP_FLASH_BWD, OP_FLASH_FWD } from "./wasm/protocol.ts";
import { wasmKernels } from "./wasm/runtime.ts";
import { Staging } from "./wasm/staging.ts";

/**
 * y = softmax(mask(q·kᵀ/√D)) · v for every (batch, head) slice of x, in tiles of `tile` queries × `tile` keys;
 * lse receives each row's log Σ exp of its scores (−∞ for a row with nothing to see, whose output is 0). The WASM
 * kernel takes `tile` queries × `tile` rounded up to a multiple of 8 keys.
 */
export function flashAttentionForward(
  x: Float,
  m: Uint8Array,
  y: Float,
  lse: Float64Array,
  B: number,
  T: number,
  H: number,
  D: number,
  tile: number,
): void {
  if (useWasm(x)) return flashWasm("fwd", { x, y, lse, m }, B, T, H, D, tile);
  const C = H * D, C3 = 3 * C, scale = 1 / Math.sqrt(D);
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
}

/**
 * dq, dk, dv written into dx (the layout of x, overwritten) from dy (the layout of y), recomputing the probabilities tile by
 * tile from the forward's lse: P = exp(S − L); dV += Pᵀ dY; dP = dY Vᵀ; dS = P ⊙ (dP − Δ) with
 * Δ = rowsum(dY ⊙ Y); dQ += dS K·scale; dK += dSᵀ Q·scale.
 */
export function flashAttentionBackward(
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
  if (useWasm(x)) return flashWasm("bwd", { x, y, lse, m, dy, dx }, B, T, H, D, tile);
  dx.fill(0);
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

/** The operands of one flash call: the forward's x, y (written by it), lse and mask; dy and dx for the backward. */
interface FlashOperands {
  x: Float32Array;
  y: Float;
  lse: Float64Array;
  m: Uint8Array;
  dy?: Float;
  dx?: Float;
}

// Runs flash_fwd or flash_bwd over the B·H slices of x (B, T, 3C), y (B, T, C) in place through their strides.
function flashWasm(
  dir: "fwd" | "bwd",
  o: FlashOperands,
  B: number,
  T: number,
  H: number,
  D: number,
  tile: number,
): void {
  const kern = wasmKernels()!;
  const C = H * D, d = { BH: B * H, H, Tq: T, Tk: T, D };
  const part = (i: number): SliceLayout => ({ offset: i * C, batch: T * 3 * C, head: D, row: 3 * C });
  const yL: SliceLayout = { offset: 0, batch: T * C, head: D, row: C };
  const st = new Staging(SLOT.COUNT);
  const ranges = maskRanges(o.m, T, T);
  st.add(o.x, "in");
  st.add(o.m, "in");
  st.add(ranges, "in");
  st.add(o.y as Float32Array, dir === "fwd" ? "out" : "in");
  st.add(o.lse, dir === "fwd" ? "out" : "in");
  if (dir === "bwd") {
    st.add(o.dy as Float32Array, "in");
    st.add(o.dx as Float32Array, "out");
  }
  const call = commitSlices(st, d, kern.flash_scratch_bytes, { [SLOT.TILE]: tile });
  setLayout(call, SLOT.Q, o.x, part(0));
  setLayout(call, SLOT.K, o.x, part(1));
  setLayout(call, SLOT.V, o.x, part(2));
  setLayout(call, SLOT.Y, o.y, yL);
  call.desc[SLOT.MASK] = call.ptr(o.m);
  call.desc[SLOT.RANGES] = call.ptr(ranges);
  call.desc[SLOT.LSE] = call.ptr(o.lse);
  call.descF[SLOT.SCALE] = 1 / Math.sqrt(D);
  if (dir === "bwd") {
    const dx = call.ptr(o.dx as Float32Array);
    call.desc.set([call.ptr(o.dy as Float32Array), dx, dx + C * 4, dx + 2 * C * 4], SLOT.DY);
  }
  runSlices(dir === "fwd" ? OP_FLASH_FWD : OP_FLASH_BWD, call, d);
}
