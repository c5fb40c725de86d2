/**
 * The blas backend's gemm: a large product whose operands live in the kernel memory (a training step's, through
 * the arena) is cut into blocks of rows of C (or of columns, when C has few rows) that the pool's threads hand
 * to OpenBLAS, one thread each, so OpenBLAS never starts threads of its own beside ours. The blocks depend only
 * on the shape, so 1 and 2 threads give the same bits. Anything else is one OpenBLAS call on this thread.
 *
 * @module
 */
import { gemmBlas } from "../blas.ts";
import type { GemmArgs } from "../types.ts";
import { setPieceMemory } from "./pieces.ts";
import { jobControl, run } from "./pool.ts";
import { CTRL, OP_BLAS } from "./protocol.ts";
import { residentAddresses, sharedKernels } from "./runtime.ts";

/** Rows (or columns) of the smallest block: a multiple of OpenBLAS's register tiles on x86-64 and arm64. */
const BLOCK = 96;
/** Multiply-adds below which a product is one call. */
const SPLIT_MIN_WORK = 1 << 20;

/** C (+)= op(A) · op(B) on OpenBLAS (see the module's note). */
export function gemmBlasSplit(a: GemmArgs): void {
  const { M, N, K } = a;
  const memory = sharedKernels()?.memory;
  const at = memory === undefined ? null : residentAddresses(a.A, a.B, a.C);
  const columns = M < 2 * BLOCK;
  const total = columns ? N : M;
  if (at === null || memory === undefined || M * N * K < SPLIT_MIN_WORK || total < 2 * BLOCK) {
    gemmBlas(a);
    return;
  }
  // blocks of BLOCK rows (columns), several to a piece: about 16 pieces at most, few enough that B is not packed
  // too often; the OpenBLAS calls are the blocks, whichever thread runs them
  const chunk = BLOCK * Math.max(1, Math.floor(total / (16 * BLOCK)));
  setPieceMemory(memory);
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_BLAS;
  ctrl[CTRL.A] = at[0] + a.aOff * 4;
  ctrl[CTRL.B] = at[1] + a.bOff * 4;
  ctrl[CTRL.C] = at[2] + a.cOff * 4;
  ctrl[CTRL.N] = N;
  ctrl[CTRL.K] = K;
  ctrl[CTRL.LDA] = a.transA ? M : K;
  ctrl[CTRL.P] = a.transB ? K : N;
  ctrl[CTRL.TRANS_A] = a.transA ? 1 : 0;
  ctrl[CTRL.Q] = a.transB ? 1 : 0;
  ctrl[CTRL.ACC] = a.accumulate ? 1 : 0;
  ctrl[CTRL.LDC] = columns ? M : 0;
  ctrl[CTRL.Q_STRIDE] = BLOCK;
  run(total, chunk);
}
