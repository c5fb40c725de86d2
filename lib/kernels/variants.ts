/**
 * Kernels of the architecture variants: the SwiGLU gate and RMSNorm, forward and backward. They run on the WASM
 * kernels, in place, when every array lives in the kernel memory (a training step's arena, parameters), and on
 * plain loops otherwise (and for float64, the gradient checks).
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import { residentAddresses, wasmKernels } from "./wasm/runtime.ts";

/** out[i] = silu(g[i]) · u[i] with silu(x) = x·σ(x). */
export function swigluForward(g: Float, u: Float, out: Float, n: number): void {
  if (useWasm(g, n)) {
    const r = residentAddresses(g, u, out);
    if (r !== null) return wasmKernels()!.swiglu_fwd(n, r[0], r[1], r[2]);
  }
  for (let i = 0; i < n; i++) {
    const x = g[i];
    out[i] = (x / (1 + Math.exp(-x))) * u[i];
  }
}

/** dg = dy · u · silu'(g), du = dy · silu(g) (null skips one); silu'(x) = σ(x)·(1 + x·(1 − σ(x))). */
export function swigluBackward(
  g: Float,
  u: Float,
  dy: Float,
  dg: Float | null,
  du: Float | null,
  n: number,
): void {
  if (useWasm(g, n)) {
    const r = residentAddresses(g, u, dy, dg, du);
    if (r !== null) return wasmKernels()!.swiglu_bwd(n, r[0], r[1], r[2], r[3], r[4]);
  }
  for (let i = 0; i < n; i++) {
    const x = g[i], sig = 1 / (1 + Math.exp(-x));
    if (dg !== null) dg[i] = dy[i] * u[i] * sig * (1 + x * (1 - sig));
    if (du !== null) du[i] = dy[i] * x * sig;
  }
}

/** y = x / √(mean(x²) + eps) · w over `rows` rows of width C; rstd[r] receives 1/√(mean(x²) + eps). */
export function rmsNormForward(
  x: Float,
  w: Float,
  out: Float,
  rstd: Float,
  rows: number,
  C: number,
  eps: number,
): void {
  if (useWasm(x, rows * C)) {
    const r = residentAddresses(x, w, out, rstd);
    if (r !== null) return wasmKernels()!.rmsnorm_fwd(rows, C, r[0], r[1], r[2], r[3], eps);
  }
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let ss = 0;
    for (let j = 0; j < C; j++) ss += x[o + j] * x[o + j];
    const s = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = s;
    for (let j = 0; j < C; j++) out[o + j] = x[o + j] * s * w[j];
  }
}

/** dx = s · (dy⊙w − x̂ · mean(dy⊙w⊙x̂)) with x̂ = x·s (dx overwritten); dw += Σ_rows dy⊙x̂ (null skips one). */
export function rmsNormBackward(
  x: Float,
  w: Float,
  rstd: Float,
  dy: Float,
  dx: Float | null,
  dw: Float | null,
  rows: number,
  C: number,
): void {
  if (useWasm(x, rows * C)) {
    const r = residentAddresses(x, w, rstd, dy, dx, dw);
    if (r !== null) return wasmKernels()!.rmsnorm_bwd(rows, C, r[0], r[1], r[2], r[3], r[4], r[5]);
  }
  for (let r = 0; r < rows; r++) {
    const o = r * C, s = rstd[r];
    let dot = 0;
    for (let j = 0; j < C; j++) dot += dy[o + j] * w[j] * x[o + j] * s;
    dot /= C;
    for (let j = 0; j < C; j++) {
      const xh = x[o + j] * s;
      if (dx !== null) dx[o + j] = s * (dy[o + j] * w[j] - xh * dot);
      if (dw !== null) dw[j] += dy[o + j] * xh;
    }
  }
}

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
