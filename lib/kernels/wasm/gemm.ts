/**
 * gemm on the WASM SIMD kernel: A and B are copied into the shared kernel memory as they are stored (either
 * layout) unless they live there already, op(B) is packed once at full depth (pack_b / pack_bt read both layouts,
 * so nothing is transposed in memory; the panels are split over the thread pool), then the rows of C are split
 * over the pool, each row block running the depth in blocks of {@link KC}, and C is copied back.
 *
 * @module
 */
import type { GemmArgs } from "../types.ts";
import { gemmRows, packB } from "./jobs.ts";
import { getThreads } from "./pool.ts";
import { residentAddress, wasmHeap, wasmKernels } from "./runtime.ts";

/** Depth of one K block: a packed B panel and a packed A block stay in L1 together. */
const KC = 256;

/** C (+)= op(A) · op(B) on float32 storage. */
export function gemmWasm(a: GemmArgs): void {
  const { M, N, K, transA, transB } = a;
  const sa = M * K, sb = K * N, sc = M * N;
  const k = wasmKernels()!;
  const kc = Math.min(K, KC);
  const qStride = k.pack_a_bytes(kc) >> 2;
  const A = a.A as Float32Array, B = a.B as Float32Array, C = a.C as Float32Array;
  // Operands that live in the kernel memory (parameters) are used in place; the others are copied in.
  const ra = residentAddress(A), rb = residentAddress(B), rc = residentAddress(C);
  // scratch layout (floats): [A | B | C | packed op(B) | one A-packing area per thread], copies only
  const offA = 0, offB = offA + (ra < 0 ? sa : 0), offC = offB + (rb < 0 ? sb : 0);
  const offP = align4(offC + (rc < 0 ? sc : 0));
  const offQ = align4(offP + K * ((N + 7) & ~7));
  const heap = wasmHeap(offQ + qStride * getThreads());
  const base = heap.byteOffset;
  if (ra < 0) heap.set(A.subarray(a.aOff, a.aOff + sa), offA);
  if (rb < 0) heap.set(B.subarray(a.bOff, a.bOff + sb), offB);
  if (rc < 0 && a.accumulate) heap.set(C.subarray(a.cOff, a.cOff + sc), offC);
  const pa = ra < 0 ? base + offA * 4 : ra + a.aOff * 4;
  const pb = rb < 0 ? base + offB * 4 : rb + a.bOff * 4;
  const pc = rc < 0 ? base + offC * 4 : rc + a.cOff * 4;
  if (M <= GEMV_MAX_ROWS && transB && !transA) {
    // matrix-vector products (decoding one token): stream B once, no packing
    k.gemv_nt(M, N, K, pa, K, pb, K, pc, N, a.accumulate ? 1 : 0);
  } else {
    packB(N, K, pb, transB ? K : N, transB, base + offP * 4); // B stored (N, K) or (K, N)
    gemmRows({
      M,
      N,
      K,
      kc,
      a: pa,
      lda: transA ? M : K, // A stored (K, M) or (M, K)
      transA,
      p: base + offP * 4,
      c: pc,
      ldc: N,
      acc: a.accumulate,
      q: base + offQ * 4,
      qStride: qStride * 4,
    });
  }
  if (rc < 0) C.set(heap.subarray(offC, offC + sc), a.cOff);
}

/** Up to this many rows of A, y = x · Bᵀ runs as matrix-vector products. */
const GEMV_MAX_ROWS = 4;

// Rounds a float offset up to 16 bytes (v128 stores in the packing areas).
function align4(n: number): number {
  return (n + 3) & ~3;
}
