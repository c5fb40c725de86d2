/**
 * Storage types shared by the kernels. Kernels are pure functions on typed arrays: no tensors, no autograd.
 *
 * @module
 */

/** A float buffer: float32 for training, float64 for gradient checks. */
export type Float = Float32Array | Float64Array;
