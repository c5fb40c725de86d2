/**
 * One piece of a pooled job, the same code on the main thread and in the workers: reads the job's fields from the
 * control block (see protocol.ts) and runs the kernel on the piece that starts at `i0` (rows, slices, elements,
 * panels or columns, up to CHUNK of them).
 *
 * @module
 */
import { sgemmAt } from "../blas.ts";
import {
  CTRL,
  OP_ADAMW,
  OP_ADD_ROWS,
  OP_ADD_VEC,
  OP_ATTN_BWD,
  OP_ATTN_FWD,
  OP_BLAS,
  OP_CE_BWD,
  OP_CE_FWD,
  OP_FLASH_BWD,
  OP_FLASH_FWD,
  OP_GELU_BWD,
  OP_GELU_FWD,
  OP_GEMM,
  OP_GEMM_PACK,
  OP_LN_BWD_DW,
  OP_LN_BWD_DX,
  OP_LN_FWD,
  OP_RMS_BWD_DW,
  OP_RMS_BWD_DX,
  OP_RMS_FWD,
  OP_SOFTMAX_BWD,
  OP_SOFTMAX_FWD,
  OP_SUM_ROWS,
  OP_SWIGLU_BWD,
  OP_SWIGLU_FWD,
} from "./protocol.ts";
import { type KernelExports, LN_BWD_DX } from "./runtime.ts";

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
  const arg = (i: number) => ctrl[CTRL.ARG + i], e = f64[CTRL.F64 / 2];
  switch (op) {
    case OP_GEMM:
      return gemmPiece(k, ctrl, thread, i0, i0 + len);
    case OP_GEMM_PACK: {
      // panels [i0, i0 + len): columns 8·i0 … min(8·(i0 + len), N) − 1
      const K = ctrl[CTRL.K], ldb = ctrl[CTRL.LDA], j0 = 8 * i0, cols = Math.min(8 * (i0 + len), N) - j0;
      const dst = ctrl[CTRL.P] + i0 * K * 32;
      if (ctrl[CTRL.TRANS_A] !== 0) k.pack_bt(cols, K, A + j0 * ldb * 4, ldb, dst);
      else k.pack_b(cols, K, A + j0 * 4, ldb, dst);
      return;
    }
    case OP_ATTN_FWD:
    case OP_ATTN_BWD:
    // attention jobs (issue 15, point 3)
    case OP_FLASH_FWD:
    case OP_FLASH_BWD:
      sliceKernel(k, op)(A, i0, i0 + len, ctrl[CTRL.Q] + thread * ctrl[CTRL.Q_STRIDE]);
      return;
    case OP_BLAS:
      return blasPiece(ctrl, i0, len);
    case OP_GELU_FWD:
      return k.gelu_fwd(len, A + i0 * 4, C + i0 * 4);
    case OP_GELU_BWD:
      return k.gelu_bwd(len, A + i0 * 4, B + i0 * 4, C + i0 * 4);
    case OP_SWIGLU_FWD:
      return k.swiglu_fwd(len, A + i0 * 4, B + i0 * 4, C + i0 * 4);
    case OP_SWIGLU_BWD:
      return k.swiglu_bwd(
        len,
        at(arg(0), i0, 1),
        at(arg(1), i0, 1),
        at(arg(2), i0, 1),
        at(arg(3), i0, 1),
        at(arg(4), i0, 1),
      );
    case OP_ADD_ROWS:
      return k.add_rows(len, N, A + i0 * N * 4, B, C + i0 * N * 4);
    case OP_ADD_VEC:
      return k.add_vec(len, A + i0 * 4, B + i0 * 4, C + i0 * 4);
    case OP_SUM_ROWS:
      return k.sum_rows(ctrl[CTRL.K], len, N, A + i0 * 4, C + i0 * 4);
    case OP_LN_FWD: {
      const mean = ctrl[CTRL.LDA], rstd = ctrl[CTRL.LDC];
      const r = i0 * N * 4;
      return k.layernorm_fwd(
        len,
        N,
        A + r,
        B,
        ctrl[CTRL.P],
        ctrl[CTRL.ACC],
        C + r,
        mean + i0 * 4,
        rstd + i0 * 4,
        e,
      );
    }
    case OP_LN_BWD_DX: {
      const r = i0 * N * 4;
      return k.layernorm_bwd(
        len,
        N,
        arg(0) + r,
        arg(1),
        arg(2) + i0 * 4,
        arg(3) + i0 * 4,
        arg(4) + r,
        arg(5) + r,
        0,
        0,
        LN_BWD_DX,
      );
    }
    case OP_LN_BWD_DW: {
      const c = i0 * 4;
      return k.layernorm_bwd_dw(
        ctrl[CTRL.K],
        len,
        N,
        arg(0) + c,
        arg(2),
        arg(3),
        arg(4) + c,
        at(arg(6), i0, 1),
        at(arg(7), i0, 1),
        ctrl[CTRL.ACC],
      );
    }
    case OP_RMS_FWD:
      return k.rmsnorm_fwd(len, N, A + i0 * N * 4, B, C + i0 * N * 4, ctrl[CTRL.LDC] + i0 * 4, e);
    case OP_RMS_BWD_DX: {
      const r = i0 * N * 4;
      return k.rmsnorm_bwd(len, N, arg(0) + r, arg(1), arg(2) + i0 * 4, arg(3) + r, arg(4) + r, 0);
    }
    case OP_RMS_BWD_DW: {
      const c = i0 * 4;
      return k.rmsnorm_bwd_dw(ctrl[CTRL.K], len, N, arg(0) + c, arg(2), arg(3) + c, arg(5) + c);
    }
    case OP_SOFTMAX_FWD:
      return k.softmax_fwd(len, N, A + i0 * N * 4, C + i0 * N * 4);
    case OP_SOFTMAX_BWD: {
      const r = i0 * N * 4;
      return k.softmax_bwd(len, N, A + r, B + r, C + r);
    }
    case OP_CE_FWD: {
      const r = i0 * N * 4;
      return k.cross_entropy_rows(len, N, A + r, B + i0 * 4, C + r, ctrl[CTRL.P] + i0 * 8);
    }
    case OP_CE_BWD: {
      const r = i0 * N * 4;
      return k.cross_entropy_bwd(len, N, A + r, B + i0 * 4, C + r, e);
    }
    case OP_ADAMW: {
      const s = (i: number) => f64[CTRL.F64 / 2 + i], o = i0 * 4;
      return k.adamw_update(
        len,
        arg(0) + o,
        arg(1) + o,
        arg(2) + o,
        arg(3) + o,
        s(0),
        s(1),
        s(2),
        s(3),
        s(4),
        s(5),
        s(6),
        s(7),
      );
    }
    default:
      throw new Error(`kernel pool: unknown job ${op}`);
  }
}

// The byte address `i0` items of `floats` floats into the array at `p`, or 0 (no array) for 0.
function at(p: number, i0: number, floats: number): number {
  return p === 0 ? 0 : p + i0 * floats * 4;
}

// Rows [i0, i1) of an OP_GEMM job: each depth block in order, adding into C after the first.
function gemmPiece(k: KernelExports, ctrl: Int32Array, thread: number, i0: number, i1: number): void {
  const N = ctrl[CTRL.N],
    K = ctrl[CTRL.K],
    A = ctrl[CTRL.A],
    lda = ctrl[CTRL.LDA],
    transA = ctrl[CTRL.TRANS_A];
  const P = ctrl[CTRL.P], Cp = ctrl[CTRL.C], ldc = ctrl[CTRL.LDC], acc = ctrl[CTRL.ACC];
  const q = ctrl[CTRL.Q] + thread * ctrl[CTRL.Q_STRIDE], kc = ctrl[CTRL.ARG];
  for (let k0 = 0; k0 < K; k0 += kc) {
    const a = A + (transA !== 0 ? k0 * lda : k0) * 4; // A stored (K, M) or (M, K)
    k.gemm_rows(
      N,
      Math.min(kc, K - k0),
      a,
      lda,
      transA,
      P + k0 * 32,
      K,
      Cp,
      ldc,
      k0 > 0 ? 1 : acc,
      q,
      i0,
      i1,
    );
  }
}

// Blocks of an OpenBLAS product (see OP_BLAS) in [i0, i0 + len): rows of C, or columns. The blocks are Q_STRIDE
// rows (columns) each whatever the piece, so a piece of several blocks, or one thread running the whole job,
// makes the same OpenBLAS calls (OpenBLAS's result depends on how a product is cut).
function blasPiece(ctrl: Int32Array, i0: number, len: number): void {
  const f32 = new Float32Array(memory!.buffer);
  // byte pointers may pass 2 GiB: read them unsigned
  const a = (ctrl[CTRL.A] >>> 0) / 4, b = (ctrl[CTRL.B] >>> 0) / 4, c = (ctrl[CTRL.C] >>> 0) / 4;
  const N = ctrl[CTRL.N], K = ctrl[CTRL.K], lda = ctrl[CTRL.LDA], ldb = ctrl[CTRL.P];
  const transA = ctrl[CTRL.TRANS_A] === 1, transB = ctrl[CTRL.Q] === 1, acc = ctrl[CTRL.ACC] === 1;
  const rows = ctrl[CTRL.LDC], block = ctrl[CTRL.Q_STRIDE];
  for (let j0 = i0; j0 < i0 + len; j0 += block) {
    const n = Math.min(block, i0 + len - j0);
    if (rows > 0) {
      // columns [j0, j0 + n) of C: op(B)'s columns are B's rows when B is transposed
      sgemmAt(f32, transA, transB, rows, n, K, a, lda, transB ? b + j0 * ldb : b + j0, ldb, acc, c + j0, N);
    } else {
      sgemmAt(f32, transA, transB, n, N, K, transA ? a + j0 : a + j0 * lda, lda, b, ldb, acc, c + j0 * N, N);
    }
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
