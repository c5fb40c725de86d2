/**
 * The GPU twins of the arithmetic ops beyond add and linear (lib/tensor/gpu/ops.ts): mul with suffix
 * broadcasting, scale, sum (mean is scale ∘ sum on either device) and matmul, batched or with a shared right
 * operand.
 *
 * @module
 */
import { fillFromGpu, mulGpu, mulSumRowsGpu, scaleGpu, sumGpu } from "../../kernels/webgpu/arith.ts";
import { gemmBatchedGpu, gemmGpu } from "../../kernels/webgpu/matmul.ts";
import type { GpuArray } from "../../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor.ts";
import { accumulateGpuGrad, gpuGradBuffer } from "./grad.ts";
import { gpuArrayOf, gpuResult } from "./ops.ts";

/** big · small, small's shape a suffix of big's (checked by `mul`). */
export function mulOnGpu(big: Tensor, small: Tensor): Tensor {
  const x = gpuArrayOf(big, "mul"), y = gpuArrayOf(small, "mul"), gpu = x.gpu;
  const n = small.size, rows = big.size / n;
  const out = gpu.array(big.size);
  mulGpu(gpu, x, y, out, rows, n);
  return gpuResult(out, big.shape, "mul", [big, small], (g) => {
    if (big.requiresGrad) {
      const gb = gpu.array(big.size);
      mulGpu(gpu, g, y, gb, rows, n);
      accumulateGpuGrad(big, gb);
    }
    if (small.requiresGrad) {
      const gs = gpu.array(n);
      mulSumRowsGpu(gpu, g, x, gs, rows, n);
      accumulateGpuGrad(small, gs);
    }
  });
}

/** x · s for a constant s. */
export function scaleOnGpu(x: Tensor, s: number): Tensor {
  const xa = gpuArrayOf(x, "scale"), gpu = xa.gpu;
  const out = gpu.array(x.size);
  scaleGpu(gpu, xa, s, out, x.size);
  return gpuResult(out, x.shape, "scale", [x], (g) => {
    const gx = gpu.array(x.size);
    scaleGpu(gpu, g, s, gx, x.size);
    accumulateGpuGrad(x, gx);
  });
}

/** The sum of every element, shape [] (a fixed-order reduction). */
export function sumOnGpu(x: Tensor): Tensor {
  const xa = gpuArrayOf(x, "sum"), gpu = xa.gpu;
  const out = gpu.array(1);
  sumGpu(gpu, xa, out, x.size);
  return gpuResult(out, [], "sum", [x], (g) => {
    const gx = gpu.array(x.size);
    fillFromGpu(gpu, g, gx, x.size);
    accumulateGpuGrad(x, gx);
  });
}

/**
 * a (batch·M, K) · b, b (K, N) shared by the batch or (batch, K, N) one per product (checked by `matmul`). With
 * a shared b the batch is one product of batch·M rows (and b's gradient one product over them).
 */
export function matmulGpu(
  a: Tensor,
  b: Tensor,
  M: number,
  K: number,
  N: number,
  shape: readonly number[],
): Tensor {
  const A = gpuArrayOf(a, "matmul"), B = gpuArrayOf(b, "matmul"), gpu = A.gpu;
  const batch = a.size / (M * K), shared = b.ndim === 2;
  const out = gpu.array(batch * M * N);
  const product = (
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    X: GpuArray,
    Y: GpuArray,
    C: GpuArray,
    accumulate: boolean,
    strides: [number, number, number] | null,
  ) => {
    const args = { transA, transB, M: m, N: n, K: k, A: X, aOff: 0, B: Y, bOff: 0, C, cOff: 0, accumulate };
    if (strides === null) gemmGpu(gpu, args);
    else {
      const [strideA, strideB, strideC] = strides;
      gemmBatchedGpu(gpu, args, { count: batch, strideA, strideB, strideC });
    }
  };
  if (shared) product(false, false, batch * M, N, K, A, B, out, false, null);
  else product(false, false, M, N, K, A, B, out, false, [M * K, K * N, M * N]);
  return gpuResult(out, shape, "matmul", [a, b], (g) => {
    const ga = gpuGradBuffer(a); // da = g · bᵀ
    if (ga !== null) {
      if (shared) product(false, true, batch * M, K, N, g, B, ga.buf, ga.accumulate, null);
      else product(false, true, M, K, N, g, B, ga.buf, ga.accumulate, [M * N, K * N, M * K]);
    }
    const gb = gpuGradBuffer(b); // db = aᵀ · g (summed over the batch when b is shared)
    if (gb !== null) {
      if (shared) product(true, false, K, N, batch * M, A, g, gb.buf, gb.accumulate, null);
      else product(true, false, K, N, M, A, g, gb.buf, gb.accumulate, [M * K, M * N, K * N]);
    }
  });
}
