/**
 * Emulated 16-bit precision: bfloat16 and IEEE float16 in software.
 *
 * Values stay in `Float32Array`s (the kernels are float32), but under a 16-bit {@link Precision} every op's
 * output and every activation gradient is rounded to the 16-bit format (round to nearest, ties to even), so a
 * model computes with exactly the values a 16-bit run would hold, while matmuls and reductions accumulate in
 * float32 (as tensor cores and AMX do). Where memory matters, storage really is 16 bits: ops keep their large
 * saved buffers (attention probabilities, cross-entropy probabilities) as `Uint16Array`s between the forward and
 * the backward pass ({@link encode16} / {@link decode16}). float64 tensors (the gradient checks) are never
 * rounded.
 *
 * The policy is process-wide, like the backend: {@link setPrecision} / {@link withPrecision}.
 *
 * @module
 */
import type { Float } from "../kernels/types.ts";
import { swapStorage } from "./storage.ts";
import type { Tensor } from "./tensor.ts";

/** The number formats: float32 (no rounding), bfloat16 (8-bit exponent, 7-bit mantissa), float16 (5 / 10). */
export type Precision = "fp32" | "bf16" | "fp16";

let current: Precision = "fp32";

/** Selects the precision of every later op (process-wide). */
export function setPrecision(p: Precision): void {
  if (p !== "fp32" && p !== "bf16" && p !== "fp16") {
    throw new Error(`precision must be "fp32", "bf16" or "fp16", got ${JSON.stringify(p)}`);
  }
  current = p;
}

/** The current precision. */
export function getPrecision(): Precision {
  return current;
}

/** Runs `fn` under precision `p` and puts the previous one back. */
export function withPrecision<T>(p: Precision, fn: () => T): T {
  const prev = current;
  setPrecision(p);
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** The largest finite float16 value. */
export const FP16_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bfloat16 bits of a float32 value, rounded to nearest even (NaN stays a quiet NaN, overflow gives ±Inf). */
export function bf16Bits(x: number): number {
  f32[0] = x;
  return bits32ToBf16(u32[0]);
}

function bits32ToBf16(b: number): number {
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40; // NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The float16 bits of a float32 value, rounded to nearest even, with subnormals; overflow gives ±Inf. */
export function fp16Bits(x: number): number {
  f32[0] = x;
  return bits32ToFp16(u32[0], f32[0]);
}

function bits32ToFp16(b: number, x: number): number {
  const sign = (b >>> 16) & 0x8000;
  const abs = b & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0); // Inf, NaN
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds to Inf
  if (abs < 0x38800000) {
    // below 2^-14: a subnormal m · 2^-24 (m = 1024 carries into the smallest normal, which has the same bits)
    const m = Math.abs(x) * 16777216; // exact in float64
    let r = Math.floor(m);
    const d = m - r;
    if (d > 0.5 || (d === 0.5 && (r & 1) === 1)) r++;
    return sign | r;
  }
  let h = ((((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff)) >>> 0;
  const rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right
  return sign | h;
}

/** The float32 value of bfloat16 bits. */
export function bf16Value(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

// float16 bits → float32 value, for every bit pattern
let fp16Table: Float32Array | null = null;
function fp16Values(): Float32Array {
  if (fp16Table !== null) return fp16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
    t[h] = e === 0
      ? s * m * 2 ** -24
      : e === 31
      ? (m === 0 ? s * Infinity : NaN)
      : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (fp16Table = t);
}

/** The float32 value of float16 bits. */
export function fp16Value(h: number): number {
  return fp16Values()[h & 0xffff];
}

/** `x` rounded to the nearest value of the format (identity for fp32). */
export function roundTo(p: Precision, x: number): number {
  if (p === "bf16") return bf16Value(bf16Bits(x));
  if (p === "fp16") return fp16Value(fp16Bits(x));
  return Math.fround(x);
}

/** Rounds every element of `a` to the format, in place (nothing for fp32). */
export function roundInPlace(a: Float32Array, p: Precision = current): void {
  if (p === "fp32") return;
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  if (p === "bf16") {
    for (let i = 0; i < u.length; i++) {
      const b = u[i];
      if ((b & 0x7f800000) === 0x7f800000) continue; // Inf and NaN stay
      u[i] = (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
    }
    return;
  }
  const t = fp16Values();
  for (let i = 0; i < u.length; i++) {
    const b = u[i], abs = b & 0x7fffffff;
    if (abs >= 0x38800000 && abs < 0x477ff000) {
      // normal float16 range: round the float32 mantissa to 10 bits in place (a carry moves the exponent)
      u[i] = (b + 0xfff + ((b >>> 13) & 1)) & 0xffffe000;
    } else a[i] = t[bits32ToFp16(b, a[i])]; // subnormal, zero, overflow, Inf, NaN
  }
}

/**
 * Rounds an op's output to the format in place, so it holds what a 16-bit activation would. Not rounded:
 * float64 and one-element outputs (losses and other reductions stay float32) and views of an input's storage
 * (reshape: rounding would change the input).
 */
export function roundActivation(data: Float, inputs: readonly { data: Float }[]): void {
  if (
    data instanceof Float32Array && data.length > 1 && current !== "fp32" &&
    !inputs.some((p) => p.data === data)
  ) roundInPlace(data);
}

/**
 * Rounds an activation's gradient to the format in place before its op's backward pass (float64 and
 * one-element gradients stay as they are; the backward pass leaves the root's seed alone too).
 */
export function roundActivationGrad(grad: Float): void {
  if (grad instanceof Float32Array && grad.length > 1 && current !== "fp32") roundInPlace(grad);
}

/** 16-bit copies of float32 values (bf16 or fp16 bits), rounded to nearest even, into `out` (or new storage). */
export function encode16(
  a: Float32Array,
  p: "bf16" | "fp16",
  out: Uint16Array<ArrayBufferLike> = new Uint16Array(a.length),
): Uint16Array<ArrayBufferLike> {
  if (out.length !== a.length) throw new Error(`encode16: ${out.length} slots for ${a.length} values`);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  if (p === "bf16") { for (let i = 0; i < u.length; i++) out[i] = bits32ToBf16(u[i]); }
  else for (let i = 0; i < u.length; i++) out[i] = bits32ToFp16(u[i], a[i]);
  return out;
}

/** The float32 values of 16-bit storage made by {@link encode16}, into `out`. */
export function decode16(
  h: Uint16Array<ArrayBufferLike>,
  p: "bf16" | "fp16",
  out: Float32Array,
): Float32Array {
  if (out.length !== h.length) throw new Error(`decode16: ${out.length} slots for ${h.length} values`);
  if (p === "bf16") {
    const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
  } else {
    const t = fp16Values();
    for (let i = 0; i < h.length; i++) out[i] = t[h[i]];
  }
  return out;
}

/**
 * Points `t` (float32) at `copy` (storage of its length) holding its values rounded to `p`: the compute copy of
 * mixed-precision training. Returns the storage `t` had (the master values), which `swapStorage` puts back.
 */
export function castStorage(t: Tensor, copy: Float32Array, p: Precision): Float {
  copy.set(t.data);
  roundInPlace(copy, p);
  return swapStorage(t, copy);
}
