/**
 * One piece of a pooled job, the same code on the main thread and in the workers: reads the job's fields from the
 * control block (see protocol.ts) and runs the kernel on the piece that starts at `i0` (rows, slices, elements or
 * columns, up to CHUNK of them).
 *
 * @module
 */
import { sgemmAt } from "../blas.ts";
import {
  CTRL,
  OP_ADD_ROWS,
  OP_ADD_VEC,
  OP_ATTN_BWD,
  OP_ATTN_FWD,
  OP_BLAS,
  OP_FLASH_BWD,
  OP_FLASH_FWD,
  OP_GELU_BWD,
  OP_GELU_FWD,
  OP_GEMM,
  OP_LN_FWD,
  OP_SUM_ROWS,
} from "./protocol.ts";
import type { KernelExports } from "./runtime.ts";

let memory: WebAssembly.Memory | null = null;

/** The kernel memory as this thread sees it (OpenBLAS blocks need views of it): set once per thread. */
export function setPieceMemory(m: WebAssembly.Memory): void {
  memory = m;
}

/** Runs the piece starting at `i0` of the job in `ctrl` (`f64`: a float64 view of the same block) on `thread`. */
export function runPiece(
  k: KernelExports,
  ctrl: Int32Array,
  f64: Float64Array,
  thread: number,
  i0: number,
): void {
  const op = ctrl[CTRL.OP], total = ctrl[CTRL.M], len = Math.min(ctrl[CTRL.CHUNK], total - i0);
  const A = ctrl[CTRL.A], B = ctrl[CTRL.B], C = ctrl[CTRL.C], N = ctrl[CTRL.N];
  switch (op) {
    case OP_GEMM: {
      const K = ctrl[CTRL.K], q = ctrl[CTRL.Q] + thread * ctrl[CTRL.Q_STRIDE];
      k.gemm_rows(
        N,
        K,
        A,
        ctrl[CTRL.LDA],
        ctrl[CTRL.TRANS_A],
        ctrl[CTRL.P],
        K,
        C,
        ctrl[CTRL.LDC],
        ctrl[CTRL.ACC],
        q,
        i0,
        i0 + len,
      );
      return;
    }
    case OP_ATTN_FWD:
    case OP_ATTN_BWD: {
      const q = ctrl[CTRL.Q] + thread * ctrl[CTRL.Q_STRIDE];
      (op === OP_ATTN_FWD ? k.attn_fwd : k.attn_bwd)(A, i0, i0 + len, q);
      return;
    }
    case OP_GELU_FWD:
      k.gelu_fwd(len, A + i0 * 4, C + i0 * 4);
      return;
    case OP_GELU_BWD:
      k.gelu_bwd(len, A + i0 * 4, B + i0 * 4, C + i0 * 4);
      return;
    case OP_ADD_ROWS:
      k.add_rows(len, N, A + i0 * N * 4, B, C + i0 * N * 4);
      return;
    case OP_ADD_VEC:
      k.add_vec(len, A + i0 * 4, B + i0 * 4, C + i0 * 4);
      return;
    case OP_SUM_ROWS:
      k.sum_rows(ctrl[CTRL.K], len, N, A + i0 * 4, C + i0 * 4);
      return;
    case OP_LN_FWD: {
      const mean = ctrl[CTRL.LDA], rstd = ctrl[CTRL.LDC];
      k.layernorm_fwd(
        len,
        N,
        A + i0 * N * 4,
        B,
        ctrl[CTRL.P],
        ctrl[CTRL.ACC],
        C + i0 * N * 4,
        mean + i0 * 4,
        rstd + i0 * 4,
        f64[CTRL.F64 / 2],
      );
      return;
    }
    case OP_BLAS:
      return blasPiece(ctrl, i0, len);
    // attention jobs (issue 15, point 3)
    case OP_FLASH_FWD:
    case OP_FLASH_BWD:
      sliceKernel(k, op)(A, i0, i0 + len, ctrl[CTRL.Q] + thread * ctrl[CTRL.Q_STRIDE]);
      return;
    default:
      throw new Error(`kernel pool: unknown job ${op}`);
  }
}

// One block of an OpenBLAS product (see OP_BLAS): rows [i0, i0 + len) of C, or those columns.
function blasPiece(ctrl: Int32Array, i0: number, len: number): void {
  const f32 = new Float32Array(memory!.buffer);
  // byte pointers may pass 2 GiB: read them unsigned
  const a = (ctrl[CTRL.A] >>> 0) / 4, b = (ctrl[CTRL.B] >>> 0) / 4, c = (ctrl[CTRL.C] >>> 0) / 4;
  const N = ctrl[CTRL.N], K = ctrl[CTRL.K], lda = ctrl[CTRL.LDA], ldb = ctrl[CTRL.P];
  const transA = ctrl[CTRL.TRANS_A] === 1, transB = ctrl[CTRL.Q] === 1, acc = ctrl[CTRL.ACC] === 1;
  const rows = ctrl[CTRL.LDC];
  if (rows > 0) {
    // columns [i0, i0 + len) of C: op(B)'s columns are B's rows when B is transposed
    sgemmAt(f32, transA, transB, rows, len, K, a, lda, transB ? b + i0 * ldb : b + i0, ldb, acc, c + i0, N);
  } else {
    sgemmAt(f32, transA, transB, len, N, K, transA ? a + i0 : a + i0 * lda, lda, b, ldb, acc, c + i0 * N, N);
  }
}

// attention jobs (issue 15, point 3)

/** The jobs over (batch, head) slices of an attention descriptor (A = descriptor, Q = scratch, CHUNK = 1). */
export type SliceOp = typeof OP_ATTN_FWD | typeof OP_ATTN_BWD | typeof OP_FLASH_FWD | typeof OP_FLASH_BWD;

/** The kernel of a slice job: `(desc, h0, h1, scratch)`. */
export function sliceKernel(
  k: KernelExports,
  op: SliceOp,
): (desc: number, h0: number, h1: number, s: number) => void {
  switch (op) {
    case OP_ATTN_FWD:
      return k.attn_fwd;
    case OP_ATTN_BWD:
      return k.attn_bwd;
    case OP_FLASH_FWD:
      return k.flash_fwd;
    case OP_FLASH_BWD:
      return k.flash_bwd;
  }
}
