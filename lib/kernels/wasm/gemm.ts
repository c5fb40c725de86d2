/**
 * gemm on the WASM SIMD kernel: operands are copied into the kernels' memory, transposed there when needed so the
 * one packed, register-blocked kernel (C += A·B, 6×8 block) serves every layout, and the result is copied back.
 *
 * @module
 */
import type { GemmArgs } from "../matmul.ts";
import { wasmHeap, wasmKernels } from "./runtime.ts";

/** C (+)= op(A) · op(B) on float32 storage. */
export function gemmWasm(a: GemmArgs): void {
  const { M, N, K, transA, transB } = a;
  const sa = M * K, sb = K * N, sc = M * N;
  // layout (floats): [A | B | C | Aᵀ | Bᵀ | packed B panels | packed A block]
  const offA = 0, offB = sa, offC = sa + sb, offTA = offC + sc, offTB = offTA + (transA ? sa : 0);
  const offP = offTB + (transB ? sb : 0), offQ = offP + K * (N & ~7);
  const heap = wasmHeap(offQ + 8 * K);
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
  k.gemm_nn(M, N, K, pa * 4, pb * 4, offC * 4, offP * 4, offQ * 4);
  (a.C as Float32Array).set(heap.subarray(offC, offC + sc), a.cOff);
}
