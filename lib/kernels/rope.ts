/**
 * Rotary position embeddings (RoPE): the rotation of the q and k parts of the fused projection output by
 * precomputed cos/sin tables, forward (sign 1) and backward (sign −1). It runs on the WASM kernel, in place, when
 * every array lives in the kernel memory, and on the plain loops otherwise (and for float64, the gradient checks).
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import { residentAddresses, wasmKernels } from "./wasm/runtime.ts";

/** cos and sin tables of the rotary angles, (positions, D/2) row-major, in float64 and (for the kernels) float32. */
export interface RopeTables {
  /** cos, float64. */
  cos: Float64Array;
  /** sin, float64. */
  sin: Float64Array;
  /** cos as float32 in the kernel memory, or null where the kernels are unavailable. */
  cos32: Float32Array | null;
  /** sin as float32 in the kernel memory, or null. */
  sin32: Float32Array | null;
}

/**
 * Rotates the q and k parts of each row of src (B, T, 3C, heads of D) into out, which must already hold src's
 * values (v passes through): pairs (i, i + D/2) turn by the angles of positions pos0 … pos0+T−1; sign −1 turns
 * them back (the backward pass).
 */
export function ropeRotate(
  src: Float,
  out: Float,
  B: number,
  T: number,
  H: number,
  D: number,
  pos0: number,
  t: RopeTables,
  sign: 1 | -1,
): void {
  if (useWasm(src, src.length) && t.cos32 !== null) {
    const r = residentAddresses(src, out, t.cos32, t.sin32);
    if (r !== null) return wasmKernels()!.rope_rotate(B, T, H, D, r[0], r[1], r[2], r[3], pos0, sign);
  }
  const C = H * D, half = D / 2;
  for (let b = 0; b < B; b++) {
    for (let tt = 0; tt < T; tt++) {
      const row = (b * T + tt) * 3 * C, tp = (pos0 + tt) * half;
      for (let part = 0; part < 2; part++) { // q, then k
        for (let h = 0; h < H; h++) {
          const o = row + part * C + h * D;
          for (let i = 0; i < half; i++) {
            const c = t.cos[tp + i], s = sign * t.sin[tp + i];
            const x1 = src[o + i], x2 = src[o + i + half];
            out[o + i] = x1 * c - x2 * s;
            out[o + i + half] = x2 * c + x1 * s;
          }
        }
      }
    }
  }
}
