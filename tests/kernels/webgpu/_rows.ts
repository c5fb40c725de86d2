/**
 * Helpers of the row-kernel tests (layernorm, rmsnorm, gelu, swiglu, softmax, cross-entropy, embedding, dropout,
 * rope): seeded random inputs and the tolerance check against the js reference.
 *
 * @module
 */
import assert from "node:assert/strict";
import { setBackend } from "../../../lib/kernels/backend.ts";
import { Gpu, type GpuArray } from "../../../lib/kernels/webgpu/runtime.ts";
import type { Rng } from "../../../lib/random.ts";
import { relErr } from "../../_helpers/webgpu.ts";

setBackend("js"); // the references are the plain TypeScript loops

/** The acceptance bound: max|gpu − js| ≤ TOL · max|js|. */
export const TOL = 1e-5;

const log = Deno.env.get("WEBGPU_RELERR") === "1"; // print every relative error (for reports)

/** `n` normal samples times `scale`, as float32. */
export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** Reads `a` back and asserts it is within {@link TOL} of `ref`; returns the relative error and the values. */
export async function expectClose(
  gpu: Gpu,
  a: GpuArray,
  ref: Float32Array,
  what: string,
): Promise<{ err: number; got: Float32Array }> {
  const got = await gpu.read(a);
  const err = relErr(got, ref);
  assert.ok(err <= TOL, `${what}: relErr ${err.toExponential(2)} > ${TOL}`);
  if (log) console.log(`relErr ${what}: ${err.toExponential(2)}`);
  return { err, got };
}

/** Asserts two runs gave the same bits. */
export function expectSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.deepEqual(
    new Uint32Array(a.buffer, a.byteOffset, a.length),
    new Uint32Array(b.buffer, b.byteOffset, b.length),
    `${what}: two runs differ`,
  );
}

/** Bytes per binding of {@link smallBindingGpu}'s device: 1,024 floats. */
export const SMALL_BINDING = 4096;

/**
 * Runs `fn` on a second device whose bindings are capped at {@link SMALL_BINDING} bytes (to exercise the splitting
 * of arrays larger than one binding on small shapes), then destroys it.
 */
export async function smallBindingGpu(fn: (gpu: Gpu) => Promise<void>): Promise<void> {
  const gpu = await Gpu.open({ maxBinding: SMALL_BINDING });
  assert.ok(gpu !== null, "a second device could not be opened");
  try {
    await fn(gpu);
    await gpu.finish();
  } finally {
    gpu.destroy();
  }
}
