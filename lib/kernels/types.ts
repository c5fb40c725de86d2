/**
 * Storage types shared by the kernels. Kernels are pure functions on typed arrays: no tensors, no autograd.
 *
 * @module
 */

/** A float buffer: float32 for training, float64 for gradient checks. */
export type Float = Float32Array | Float64Array;

/** Arguments of `gemm` (lib/kernels/matmul.ts): C[M,N] (+)= op(A)[M,K] · op(B)[K,N]. */
export interface GemmArgs {
  /** Use Aᵀ: A is stored (K, M). */
  transA: boolean;
  /** Use Bᵀ: B is stored (N, K). */
  transB: boolean;
  /** Rows of C. */
  M: number;
  /** Columns of C. */
  N: number;
  /** Inner dimension. */
  K: number;
  /** Left operand storage. */
  A: Float;
  /** Offset of the slice within A. */
  aOff: number;
  /** Right operand storage. */
  B: Float;
  /** Offset of the slice within B. */
  bOff: number;
  /** Output storage. */
  C: Float;
  /** Offset of the slice within C. */
  cOff: number;
  /** Add into C instead of overwriting it. */
  accumulate: boolean;
}
