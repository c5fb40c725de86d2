/**
 * The control block shared by the main thread and the kernel workers: an Int32Array of job fields. The main thread
 * writes a job, bumps SEQ and notifies; every thread (the main one too) then takes blocks of CHUNK rows (or
 * attention slices) by atomically advancing NEXT until none are left, and each worker increments DONE and notifies when it runs out.
 *
 * @module
 */

/** Slots of the control block. */
export const CTRL = {
  SEQ: 0,
  DONE: 1,
  OP: 2,
  N: 3,
  K: 4,
  A: 5,
  B: 6,
  C: 7,
  P: 8,
  Q: 9,
  Q_STRIDE: 10,
  M: 11,
  CHUNK: 12,
  LDA: 13,
  NEXT: 14,
  LDC: 15,
  TRANS_A: 16,
  ACC: 17,
  /**
   * Workers that have instantiated the kernels (each adds 1): the main thread reads it with Atomics, so a
   * synchronous loop that never yields to the event loop still sees them (their "ready" message would wait).
   */
  READY: 18,
  /**
   * Set (to 1) by a worker whose piece threw (e.g. OpenBLAS could not be opened in that thread): it still counts
   * itself done, so the caller never waits forever, and the caller throws.
   */
  FAILED: 19,
  /** A float64 (LayerNorm's eps) in two slots; index 20 is byte offset 80, 8-byte aligned. */
  F64: 20,
  LENGTH: 24,
} as const;

/** Job: rows of a packed gemm. */
export const OP_GEMM = 1;
/** Job: leave the loop. */
export const OP_EXIT = 2;
/** Job: attention forward over (batch, head) slices: A = descriptor, Q = scratch, M = slices, CHUNK = 1. */
export const OP_ATTN_FWD = 3;
/** Job: attention backward, laid out like {@link OP_ATTN_FWD}. */
export const OP_ATTN_BWD = 4;
/** Job: GELU forward over M elements in pieces of CHUNK: A = x, C = out. */
export const OP_GELU_FWD = 5;
/** Job: GELU backward: A = x, B = dy, C = dx. */
export const OP_GELU_BWD = 6;
/** Job: out[r, :] = x[r, :] + b over M rows of width N in pieces of CHUNK rows: A = x, B = b, C = out. */
export const OP_ADD_ROWS = 7;
/** Job: out = a + b over M elements: A = a, B = b, C = out. */
export const OP_ADD_VEC = 8;
/** Job: out[j] += Σ_r g[r, j] over M columns in pieces, K rows of length N: A = g, C = out. */
export const OP_SUM_ROWS = 9;
/**
 * Job: LayerNorm forward over M rows of width N: A = x, B = w, P = bias (ACC = has bias), C = out, LDA = mean,
 * LDC = rstd, eps as the float64 at F64.
 */
export const OP_LN_FWD = 10;
/**
 * Job: blocks of a product on OpenBLAS (the blas backend), of rows or of columns of C: M = rows (or columns) in
 * all, CHUNK = per block, A/B/C = byte pointers, N = columns of C, K = depth, LDA/P = leading dimensions of A and
 * B, TRANS_A / Q = whether A / B are transposed, ACC = accumulate, LDC = 0 for blocks of rows, else the rows of C
 * (blocks of columns). Numbered apart from the others so that new jobs never collide with it.
 */
export const OP_BLAS = 40;

// attention jobs (issue 15, point 3)

/** Job: flash attention forward over (batch, head) slices, laid out like {@link OP_ATTN_FWD}. */
export const OP_FLASH_FWD = 64;
/** Job: flash attention backward, laid out like {@link OP_ATTN_FWD}. */
export const OP_FLASH_BWD = 65;
