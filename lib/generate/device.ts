/**
 * Where generation runs: the CPU, or the GPU when the model's weights live there. One forward pass is one step
 * (its intermediates given back at the end), and the logits of the row that picks the next token are read back
 * — synchronously from host memory, asynchronously from the GPU. Sampling stays on the CPU with the seeded Rng.
 *
 * @module
 */
import { withStep } from "../tensor/storage.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * Runs `fn` as one step of the device `weight` lives on (the GPU's step for a tensor on the GPU, else the
 * default device's, `withStep`): what the step made is given back when it ends.
 */
export function stepOn<T>(weight: Tensor, fn: () => T): T {
  return weight.gpu === null ? withStep(fn) : weight.gpu.gpu.step(fn);
}

/**
 * A host copy of the `n` values of `t` from element `offset` on, as they are now (the copy is recorded at the
 * call, so `t` may be given back right after): read from the GPU for a tensor there, else copied from its storage.
 */
export function readValues(t: Tensor, offset: number, n: number): Promise<Float32Array | Float64Array> {
  if (t.gpu !== null) return t.gpu.gpu.read(t.gpu, offset, n);
  return Promise.resolve(t.readSync().slice(offset, offset + n));
}
