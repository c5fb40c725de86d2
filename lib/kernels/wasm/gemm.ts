/**
 * gemm on the WASM SIMD kernel: operands are copied into the shared kernel memory, transposed there when needed
 * so one packed, register-blocked kernel (C += A·B, 6×8 block) serves every layout, the rows of C are split over
 * the thread pool, and the result is copied back.
 *
 * @module
 */
import type { GemmArgs } from "../matmul.ts";
import { gemmRowsParallel, getThreads } from "./pool.ts";
import { wasmHeap, wasmKernels } from "./runtime.ts";

/** Depth of one K block. */
const KC = 256;

/** C (+)= op(A) · op(B) on float32 storage. */
export function gemmWasm(a: GemmArgs): void {
  const { M, N, K, transA, transB } = a;
  const sa = M * K, sb = K * N, sc = M * N;
  // layout (floats): [A | B | C | Aᵀ | Bᵀ | packed B panels | one A-packing area per thread]
  const offA = 0, offB = sa, offC = sa + sb, offTA = offC + sc, offTB = offTA + (transA ? sa : 0);
  // K is processed in blocks of KC so a packed B panel and a packed A block stay in L1 together
  const kc = Math.min(K, KC);
  const offP = offTB + (transB ? sb : 0), offQ = offP + kc * (N & ~7), qStride = 8 * kc;
  const heap = wasmHeap(offQ + qStride * getThreads());
  const k = wasmKernels()!;
  heap.set((a.A as Float32Array).subarray(a.aOff, a.aOff + sa), offA);
  heap.set((a.B as Float32Array).subarray(a.bOff, a.bOff + sb), offB);
  if (a.accumulate) heap.set((a.C as Float32Array).subarray(a.cOff, a.cOff + sc), offC);
  else heap.fill(0, offC, offC + sc);
  let pa = offA, pb = offB;
  if (transA) {
    k.transpose(K, M, offA * 4, offTA * 4); // A is stored (K, M)
    pa = offTA;
  }
  if (transB) {
    k.transpose(N, K, offB * 4, offTB * 4); // B is stored (N, K)
    pb = offTB;
  }
  for (let k0 = 0; k0 < K; k0 += kc) {
    const kk = Math.min(kc, K - k0);
    const bBlock = (pb + k0 * N) * 4, aBlock = (pa + k0) * 4;
    k.pack_b(N, kk, bBlock, offP * 4);
    gemmRowsParallel(M, N, kk, K, aBlock, bBlock, offC * 4, offP * 4, offQ * 4, qStride * 4);
  }
  (a.C as Float32Array).set(heap.subarray(offC, offC + sc), a.cOff);
}
