/**
 * Buffers an op keeps from its forward pass for its backward pass (attention and cross-entropy probabilities):
 * under a 16-bit precision with the tape on they are kept as 16-bit values, which halves what the op holds
 * between the passes.
 *
 * @module
 */
import type { Float } from "../kernels/types.ts";
import { decode16, encode16, getPrecision } from "./precision.ts";
import { allocate, allocatePersistent, defaultDevice, type DType } from "./storage.ts";
import { isGradEnabled } from "./grad.ts";

/** A buffer an op keeps from its forward pass for its backward pass (see {@link saveForBackward}). */
export interface SavedBuffer {
  /** The values (float32 storage decoded from 16 bits, or the buffer itself). */
  read(): Float;
  /** Hands back what {@link SavedBuffer.read} returned, once the backward pass is done with it. */
  done(values: Float): void;
  /** Bytes it occupies while saved. */
  readonly bytes: number;
}

// Float32 staging storage for buffers that are kept as 16 bits: written by a forward kernel and encoded at once,
// or decoded into for one op's backward. Ops use it one at a time, so one (grown as needed) serves them all.
let staging: Float32Array | null = null;

function stagingFloat32(n: number): Float32Array {
  if (staging === null || staging.length < n) staging = allocatePersistent("float32", n) as Float32Array;
  return staging.subarray(0, n);
}

function isStaging(buf: Float): boolean {
  return staging !== null && buf.buffer === staging.buffer && buf.byteOffset === staging.byteOffset;
}

function keepsHalf(dtype: DType): "bf16" | "fp16" | null {
  const p = getPrecision();
  return dtype === "float32" && p !== "fp32" && isGradEnabled() ? p : null;
}

/**
 * Storage for a large buffer an op computes in its forward pass only to hand it to {@link saveForBackward}
 * (attention probabilities, cross-entropy probabilities). Under a 16-bit precision with the tape on, that is
 * shared float32 staging storage, encoded to 16 bits as soon as it is saved, so the full-width buffer never
 * occupies the step's memory; otherwise it is {@link allocate}'s.
 */
export function allocateSaved(dtype: DType, n: number): Float {
  if (keepsHalf(dtype) === null) return allocate(dtype, n);
  const s = stagingFloat32(n);
  s.fill(0);
  return s;
}

/**
 * Keeps `buf` for the backward pass (storage from {@link allocateSaved} or {@link allocate} that nothing else
 * refers to). Under a 16-bit precision a float32 buffer is stored as 16-bit values (its float32 storage is free
 * at once: staging storage is reused, arena storage goes back to the arena), which halves what the op holds
 * between the passes; `read` decodes it. Otherwise (and when the tape is off) the buffer is kept as it is.
 */
export function saveForBackward(buf: Float): SavedBuffer {
  const p = keepsHalf(buf instanceof Float32Array ? "float32" : "float64");
  if (p === null) return { read: () => buf, done: () => {}, bytes: buf.byteLength };
  const n = buf.length, words = allocate("float32", Math.ceil(n / 2)) as Float32Array;
  const half = encode16(buf as Float32Array, p, new Uint16Array(words.buffer, words.byteOffset, n));
  if (!isStaging(buf)) defaultDevice().release(buf);
  return {
    read: () => decode16(half, p, stagingFloat32(n)),
    done: () => {},
    bytes: words.byteLength,
  };
}
