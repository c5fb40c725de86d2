/**
 * gemm on the WASM SIMD kernel: A and B are copied into the shared kernel memory as they are stored (either
 * layout), B is packed block by block of depth {@link KC} (pack_b / pack_bt read both layouts, so nothing is
 * transposed in memory), the rows of C are split over the thread pool, and C is copied back.
 *
 * @module
 */
import type { GemmArgs } from "../matmul.ts";
import { gemmRowsParallel, getThreads } from "./pool.ts";
import { wasmHeap, wasmKernels } from "./runtime.ts";

/** Depth of one K block: a packed B panel and a packed A block stay in L1 together. */
const KC = 256;

/** C (+)= op(A) · op(B) on float32 storage. */
export function gemmWasm(a: GemmArgs): void {
  const { M, N, K, transA, transB } = a;
  const sa = M * K, sb = K * N, sc = M * N;
  const k = wasmKernels()!;
  const kc = Math.min(K, KC);
  const qStride = k.pack_a_bytes(kc) >> 2;
  // layout (floats): [A | B | C | packed B panels | one A-packing area per thread]
  const offA = 0, offB = sa, offC = offB + sb, offP = align4(offC + sc);
  const offQ = align4(offP + kc * ((N + 7) & ~7));
  const heap = wasmHeap(offQ + qStride * getThreads());
  heap.set((a.A as Float32Array).subarray(a.aOff, a.aOff + sa), offA);
  heap.set((a.B as Float32Array).subarray(a.bOff, a.bOff + sb), offB);
  if (a.accumulate) heap.set((a.C as Float32Array).subarray(a.cOff, a.cOff + sc), offC);
  for (let k0 = 0; k0 < K; k0 += kc) {
    const kk = Math.min(kc, K - k0);
    if (transB) k.pack_bt(N, kk, (offB + k0) * 4, K, offP * 4); // B stored (N, K)
    else k.pack_b(N, kk, (offB + k0 * N) * 4, N, offP * 4);
    gemmRowsParallel({
      M,
      N,
      K: kk,
      a: (offA + (transA ? k0 * M : k0)) * 4, // A stored (K, M) or (M, K)
      lda: transA ? M : K,
      transA,
      p: offP * 4,
      c: offC * 4,
      ldc: N,
      acc: a.accumulate || k0 > 0,
      q: offQ * 4,
      qStride: qStride * 4,
    });
  }
  (a.C as Float32Array).set(heap.subarray(offC, offC + sc), a.cOff);
}

// Rounds a float offset up to 16 bytes (v128 stores in the packing areas).
function align4(n: number): number {
  return (n + 3) & ~3;
}
