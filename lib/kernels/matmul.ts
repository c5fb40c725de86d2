/**
 * General matrix multiply on flat row-major typed arrays (the "sgemm" of this project).
 *
 * `C[M,N] (+)= op(A)[M,K] · op(B)[K,N]` where op is identity or transpose. Offsets let callers address one slice
 * of a batched tensor without copying. Plain TypeScript; the loop orders keep the innermost loop on contiguous
 * memory for each transpose variant.
 *
 * @module
 */
import { getBackend } from "./backend.ts";
import type { Float, GemmArgs } from "./types.ts";
import { gemmBlasSplit } from "./wasm/blas_split.ts";
import { gemmWasm } from "./wasm/gemm.ts";

/** Below this many multiply-adds the copy into WASM memory (or the FFI call) costs more than it saves. */
const WASM_MIN_WORK = 4096;

/**
 * C (+)= op(A) · op(B). See {@link GemmArgs}. Float32 operands run on the selected backend (`wasm` by default,
 * `blas` when chosen); float64 ones always run on the plain TypeScript loops ({@link gemmJs}).
 */
export function gemm(a: GemmArgs): void {
  if (
    a.A instanceof Float32Array && a.B instanceof Float32Array && a.C instanceof Float32Array &&
    a.M * a.N * a.K >= WASM_MIN_WORK
  ) {
    const backend = getBackend();
    if (backend === "wasm") {
      gemmWasm(a);
      return;
    }
    if (backend === "blas") {
      gemmBlasSplit(a);
      return;
    }
  }
  gemmJs(a);
}

/** The reference gemm in plain TypeScript (the `js` backend). */
export function gemmJs(a: GemmArgs): void {
  const { M, N, K, A, B, C, aOff, bOff, cOff } = a;
  if (!a.accumulate) C.fill(0, cOff, cOff + M * N);
  if (!a.transA && !a.transB) gemmNN(M, N, K, A, aOff, B, bOff, C, cOff);
  else if (!a.transA && a.transB) gemmNT(M, N, K, A, aOff, B, bOff, C, cOff);
  else if (a.transA && !a.transB) gemmTN(M, N, K, A, aOff, B, bOff, C, cOff);
  else gemmTT(M, N, K, A, aOff, B, bOff, C, cOff);
}

// A: (M, K), B: (K, N). Row i of C accumulates A[i,k] · row k of B (inner loop contiguous over N).
function gemmNN(
  M: number,
  N: number,
  K: number,
  A: Float,
  ao: number,
  B: Float,
  bo: number,
  C: Float,
  co: number,
) {
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const c0 = co + i * N, c1 = c0 + N;
    const a0 = ao + i * K, a1 = a0 + K;
    for (let k = 0; k < K; k++) {
      const x0 = A[a0 + k], x1 = A[a1 + k];
      const b = bo + k * N;
      for (let j = 0; j < N; j++) {
        const bv = B[b + j];
        C[c0 + j] += x0 * bv;
        C[c1 + j] += x1 * bv;
      }
    }
  }
  for (; i < M; i++) {
    const c0 = co + i * N, a0 = ao + i * K;
    for (let k = 0; k < K; k++) {
      const x0 = A[a0 + k];
      const b = bo + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] += x0 * B[b + j];
    }
  }
}

// A: (M, K), B: (N, K). C[i,j] = dot(row i of A, row j of B); four columns of C at a time reuse each A load.
function gemmNT(
  M: number,
  N: number,
  K: number,
  A: Float,
  ao: number,
  B: Float,
  bo: number,
  C: Float,
  co: number,
) {
  for (let i = 0; i < M; i++) {
    const a = ao + i * K, c = co + i * N;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = bo + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a + k];
        s0 += x * B[b0 + k];
        s1 += x * B[b1 + k];
        s2 += x * B[b2 + k];
        s3 += x * B[b3 + k];
      }
      C[c + j] += s0;
      C[c + j + 1] += s1;
      C[c + j + 2] += s2;
      C[c + j + 3] += s3;
    }
    for (; j < N; j++) {
      const b0 = bo + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a + k] * B[b0 + k];
      C[c + j] += s;
    }
  }
}

// A: (K, M), B: (K, N). For each k, row k of B is scaled by A[k,i] into row i of C.
function gemmTN(
  M: number,
  N: number,
  K: number,
  A: Float,
  ao: number,
  B: Float,
  bo: number,
  C: Float,
  co: number,
) {
  let k = 0;
  for (; k + 1 < K; k += 2) {
    const ar0 = ao + k * M, ar1 = ar0 + M;
    const b0 = bo + k * N, b1 = b0 + N;
    for (let i = 0; i < M; i++) {
      const x0 = A[ar0 + i], x1 = A[ar1 + i];
      if (x0 === 0 && x1 === 0) continue;
      const c = co + i * N;
      for (let j = 0; j < N; j++) C[c + j] += x0 * B[b0 + j] + x1 * B[b1 + j];
    }
  }
  for (; k < K; k++) {
    const ar = ao + k * M, b = bo + k * N;
    for (let i = 0; i < M; i++) {
      const x = A[ar + i];
      if (x === 0) continue;
      const c = co + i * N;
      for (let j = 0; j < N; j++) C[c + j] += x * B[b + j];
    }
  }
}

// A: (K, M), B: (N, K). Rarely used; written for completeness.
function gemmTT(
  M: number,
  N: number,
  K: number,
  A: Float,
  ao: number,
  B: Float,
  bo: number,
  C: Float,
  co: number,
) {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ao + k * M + i] * B[bo + j * K + k];
      C[co + i * N + j] += s;
    }
  }
}
