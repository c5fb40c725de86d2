/**
 * The control block shared by the main thread and the kernel workers: an Int32Array of job fields.
 *
 * SEQ is odd while no job is open (the main thread may write the fields) and even while one is published. The
 * main thread writes a job's fields, resets NEXT and DONE and bumps SEQ to even (waking sleeping workers only
 * when SLEEPERS says there are any); every thread then takes pieces of CHUNK items (rows, columns, elements or
 * attention slices) by atomically advancing NEXT until none are left. A worker enters a job by incrementing
 * ACTIVE and checking that SEQ has not moved, counts each piece it finishes in DONE, and leaves through ACTIVE.
 * The main thread waits for the pieces (not for the workers: one that is still waking up takes none), then bumps
 * SEQ to odd and waits for ACTIVE to drop to 0 before it writes the next job. Which thread runs a piece never
 * changes the numbers: a piece's result depends only on its place in the job.
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
  /** Workers inside the current job (between entering it and running out of pieces). */
  ACTIVE: 19,
  /**
   * Float64 arguments (LayerNorm's eps, AdamW's scalars): slots 20–35 hold eight of them, the first at byte
   * offset 80 (8-byte aligned); read through a Float64Array of the same block at index F64 / 2 + i.
   */
  F64: 20,
  /** Workers asleep on SEQ (the main thread notifies only when there are some). */
  SLEEPERS: 36,
  /** 1 while the main thread sleeps on DONE (a worker that finishes a piece then notifies). */
  WAITING: 37,
  /** Pieces that threw in a worker (it prints why): the main thread then throws when the job ends. */
  FAILED: 38,
  /** Further integer arguments of the newer jobs: ARG + 0 … ARG + 11 (each job says which it uses). */
  ARG: 40,
  LENGTH: 56,
} as const;

/**
 * Job: rows of a gemm over M rows in pieces of CHUNK (a multiple of 6): N, K = columns and depth, A, LDA, TRANS_A =
 * op(A), P = op(B) packed at depth K (OP_GEMM_PACK), C, LDC, ACC = C and whether to add into it, Q, Q_STRIDE =
 * the threads' A-packing areas; ARG + 0 = the depth of one block (each piece runs the blocks in order).
 */
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

// Jobs of issue 15, point 2 (numbered from 32, apart from the attention jobs appended below).

/**
 * Job: pack op(B) into 8-column panels of depth K (pack_b / pack_bt) over M panels in pieces of CHUNK panels:
 * N = columns, K = depth, A = B, LDA = its leading dimension, TRANS_A = 1 when B is stored (N, K), P = panels.
 */
export const OP_GEMM_PACK = 32;
/** Job: LayerNorm backward's dx over M rows of width N: ARG + 0…5 = x, w, mean, rstd, dy, dx. */
export const OP_LN_BWD_DX = 33;
/**
 * Job: LayerNorm backward's dw / db over M columns in pieces of CHUNK (a multiple of 4), K rows of width N:
 * ARG + 0, 2, 3, 4 = x, mean, rstd, dy; ARG + 6, 7 = dw, db; ACC = flags (layernorm_bwd's).
 */
export const OP_LN_BWD_DW = 34;
/** Job: RMSNorm forward over M rows of width N: A = x, B = w, C = out, LDC = rstd, eps as the float64 at F64. */
export const OP_RMS_FWD = 35;
/** Job: RMSNorm backward's dx over M rows of width N: ARG + 0…4 = x, w, rstd, dy, dx. */
export const OP_RMS_BWD_DX = 36;
/** Job: RMSNorm backward's dw over M columns in pieces of CHUNK (a multiple of 4), K rows of width N: as above, ARG + 5 = dw. */
export const OP_RMS_BWD_DW = 37;
/** Job: SwiGLU forward over M elements: A = g, B = u, C = out. */
export const OP_SWIGLU_FWD = 38;
/** Job: SwiGLU backward over M elements: ARG + 0…4 = g, u, dy, dg, du (0 skips an output). */
export const OP_SWIGLU_BWD = 39;
/** Job: row softmax over M rows of N columns: A = x, C = out. */
export const OP_SOFTMAX_FWD = 40;
/** Job: softmax backward over M rows of N columns: A = p, B = dy, C = dx. */
export const OP_SOFTMAX_BWD = 41;
/**
 * Job: softmax + cross-entropy over M rows of N logits: A = logits, B = targets (int32), C = probs, P = one
 * float64 loss per row.
 */
export const OP_CE_FWD = 42;
/** Job: cross-entropy backward over M rows of N: A = probs, B = targets, C = dlogits, scale as the float64 at F64. */
export const OP_CE_BWD = 43;
/**
 * Job: AdamW over M elements: ARG + 0…3 = p, g, m, v; float64s F64 + 0…7 = beta1, beta2, c1, c2, eps, decay,
 * stepSize, invBc2Sqrt (adamw_update's scalars).
 */
export const OP_ADAMW = 44;

/**
 * Job: blocks of a product on OpenBLAS (the blas backend), of rows or of columns of C: M = rows (or columns) in
 * all, CHUNK = per block, A/B/C = byte pointers, N = columns of C, K = depth, LDA/P = leading dimensions of A and
 * B, TRANS_A / Q = whether A / B are transposed, ACC = accumulate, LDC = 0 for blocks of rows, else the rows of C
 * (blocks of columns), Q_STRIDE = rows (columns) per OpenBLAS call (CHUNK is a multiple of it).
 */
export const OP_BLAS = 48;

// attention jobs (issue 15, point 3)

/** Job: flash attention forward over (batch, head) slices, laid out like {@link OP_ATTN_FWD}. */
export const OP_FLASH_FWD = 64;
/** Job: flash attention backward, laid out like {@link OP_ATTN_FWD}. */
export const OP_FLASH_BWD = 65;
