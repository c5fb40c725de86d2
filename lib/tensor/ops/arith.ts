/**
 * Arithmetic ops: add/mul with suffix broadcasting, scale, sum, mean, matmul, linear.
 *
 * Broadcasting covers what the models need: two tensors of the same shape, or one whose shape is a suffix of the
 * other's (a bias (C) or position table (T, C) added to activations (B, T, C)).
 *
 * @module
 */
import { addBias, addRows, addVec, sumRows } from "../../kernels/bias.ts";
import { gemm } from "../../kernels/matmul.ts";
import { allocate, allocateForWrite } from "../storage.ts";
import { accumulateGrad, accumulateSharedGrad, gradBuffer } from "../grad.ts";
import { type Float, result, type Tensor } from "../tensor.ts";
import { addGpu, linearGpu } from "../gpu/ops.ts";
import { matmulGpu, mulOnGpu, scaleOnGpu, sumOnGpu } from "../gpu/arith.ts";

function isSuffix(small: readonly number[], big: readonly number[]): boolean {
  if (small.length > big.length) return false;
  const off = big.length - small.length;
  return small.every((d, i) => d === big[off + i]);
}

// Sums a gradient of the big shape down to the small (suffix) shape.
function reduceToSuffix(g: Float, n: number, dtype: "float32" | "float64"): Float {
  const out = allocate(dtype, n);
  sumRows(g, g.length / n, n, out);
  return out;
}

function broadcastPair(a: Tensor, b: Tensor, op: string): [Tensor, Tensor, boolean] {
  if (isSuffix(b.shape, a.shape)) return [a, b, false];
  if (isSuffix(a.shape, b.shape)) return [b, a, true];
  throw new Error(
    `${op}: shapes [${a.shape}] and [${b.shape}] do not broadcast (one must be a suffix of the other)`,
  );
}

/** Element-wise a + b with suffix broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  const [big, small] = broadcastPair(a, b, "add");
  if (big.gpu !== null || small.gpu !== null) return addGpu(big, small);
  const n = small.size, out = allocateForWrite(big.dtype, big.size);
  if (n === big.size) addVec(big.data, small.data, out, n);
  else addRows(big.data, small.data, out, big.size / n, n);
  return result(out, big.shape, "add", [big, small], (g) => {
    accumulateSharedGrad(big, g);
    if (!small.requiresGrad) return;
    if (n === g.length) accumulateSharedGrad(small, g);
    else accumulateGrad(small, reduceToSuffix(g, n, small.dtype));
  });
}

/** Element-wise a · b with suffix broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const [big, small] = broadcastPair(a, b, "mul");
  if (big.gpu !== null || small.gpu !== null) return mulOnGpu(big, small);
  const n = small.size, out = allocate(big.dtype, big.size);
  const x = big.data, y = small.data;
  for (let o = 0; o < out.length; o += n) for (let j = 0; j < n; j++) out[o + j] = x[o + j] * y[j];
  return result(out, big.shape, "mul", [big, small], (g) => {
    if (big.requiresGrad) {
      const gb = allocate(big.dtype, big.size);
      for (let o = 0; o < g.length; o += n) for (let j = 0; j < n; j++) gb[o + j] = g[o + j] * y[j];
      accumulateGrad(big, gb);
    }
    if (small.requiresGrad) {
      const gs = allocate(small.dtype, n);
      for (let o = 0; o < g.length; o += n) for (let j = 0; j < n; j++) gs[j] += g[o + j] * x[o + j];
      accumulateGrad(small, gs);
    }
  });
}

/** x · s for a constant s. */
export function scale(x: Tensor, s: number): Tensor {
  if (x.gpu !== null) return scaleOnGpu(x, s);
  const out = allocate(x.dtype, x.size);
  for (let i = 0; i < out.length; i++) out[i] = x.data[i] * s;
  return result(out, x.shape, "scale", [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    for (let i = 0; i < gx.length; i++) gx[i] = g[i] * s;
    accumulateGrad(x, gx);
  });
}

/** Sum of all elements (a one-element tensor of shape []). */
export function sum(x: Tensor): Tensor {
  if (x.gpu !== null) return sumOnGpu(x);
  let s = 0;
  for (let i = 0; i < x.size; i++) s += x.data[i];
  const out = allocate(x.dtype, 1);
  out[0] = s;
  return result(out, [], "sum", [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    gx.fill(g[0]);
    accumulateGrad(x, gx);
  });
}

/** Mean of all elements. */
export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / x.size);
}

/**
 * Matrix product over the last two dimensions: a (..., M, K) · b (K, N) or b (..., K, N) with the same leading
 * dimensions as a.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim < 2 || b.ndim < 2) {
    throw new Error(`matmul: needs at least 2-D operands, got [${a.shape}] and [${b.shape}]`);
  }
  const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1];
  const K2 = b.shape[b.ndim - 2], N = b.shape[b.ndim - 1];
  const batch = a.size / (M * K);
  const shared = b.ndim === 2;
  if (K !== K2 || (!shared && (b.ndim !== a.ndim || b.size / (K * N) !== batch))) {
    throw new Error(`matmul: shapes [${a.shape}] and [${b.shape}] do not match`);
  }
  const shape = [...a.shape.slice(0, -1), N];
  if (a.gpu !== null || b.gpu !== null) return matmulGpu(a, b, M, K, N, shape);
  const out = allocateForWrite(a.dtype, batch * M * N); // every product overwrites its part
  for (let i = 0; i < batch; i++) {
    gemm({
      transA: false,
      transB: false,
      M,
      N,
      K,
      A: a.data,
      aOff: i * M * K,
      B: b.data,
      bOff: shared ? 0 : i * K * N,
      C: out,
      cOff: i * M * N,
      accumulate: false,
    });
  }
  return result(out, shape, "matmul", [a, b], (g) => {
    if (a.requiresGrad) {
      // da = g · bᵀ
      const ga = allocateForWrite(a.dtype, a.size);
      for (let i = 0; i < batch; i++) {
        gemm({
          transA: false,
          transB: true,
          M,
          N: K,
          K: N,
          A: g,
          aOff: i * M * N,
          B: b.data,
          bOff: shared ? 0 : i * K * N,
          C: ga,
          cOff: i * M * K,
          accumulate: false,
        });
      }
      accumulateGrad(a, ga);
    }
    if (b.requiresGrad) {
      // db = aᵀ · g (summed over the batch when b is shared)
      const gb = allocate(b.dtype, b.size);
      for (let i = 0; i < batch; i++) {
        gemm({
          transA: true,
          transB: false,
          M: K,
          N,
          K: M,
          A: a.data,
          aOff: i * M * K,
          B: g,
          bOff: i * M * N,
          C: gb,
          cOff: shared ? 0 : i * K * N,
          accumulate: shared,
        });
      }
      accumulateGrad(b, gb);
    }
  });
}

/**
 * y = x · Wᵀ + b, PyTorch's `nn.Linear` layout: x (..., in), W (out, in), b (out) or null.
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const [outF, inF] = w.shape;
  if (w.ndim !== 2 || x.shape[x.ndim - 1] !== inF) {
    throw new Error(
      `linear: input [${x.shape}] does not match weight [${w.shape}] (expected last dim ${inF})`,
    );
  }
  if (b !== null && (b.ndim !== 1 || b.shape[0] !== outF)) {
    throw new Error(`linear: bias [${b.shape}] != [${outF}]`);
  }
  const rows = x.size / inF;
  if (x.gpu !== null || w.gpu !== null) return linearGpu(x, w, b, rows, [...x.shape.slice(0, -1), outF]);
  const out = allocateForWrite(x.dtype, rows * outF);
  // y: (rows, out) = x: (rows, in) · Wᵀ
  gemm({
    transA: false,
    transB: true,
    M: rows,
    N: outF,
    K: inF,
    A: x.data,
    aOff: 0,
    B: w.data,
    bOff: 0,
    C: out,
    cOff: 0,
    accumulate: false,
  });
  if (b !== null) addBias(out, b.data, rows, outF);
  const parents = b === null ? [x, w] : [x, w, b];
  return result(out, [...x.shape.slice(0, -1), outF], "linear", parents, (g) => {
    // dx and dW go straight into the gradients' storage (accumulating when one is already there)
    const gx = gradBuffer(x);
    if (gx !== null) {
      // dx: (rows, in) = g: (rows, out) · W: (out, in)
      gemm({
        transA: false,
        transB: false,
        M: rows,
        N: inF,
        K: outF,
        A: g,
        aOff: 0,
        B: w.data,
        bOff: 0,
        C: gx.buf,
        cOff: 0,
        accumulate: gx.accumulate,
      });
    }
    const gw = gradBuffer(w);
    if (gw !== null) {
      // dW: (out, in) = gᵀ: (out, rows) · x: (rows, in)
      gemm({
        transA: true,
        transB: false,
        M: outF,
        N: inF,
        K: rows,
        A: g,
        aOff: 0,
        B: x.data,
        bOff: 0,
        C: gw.buf,
        cOff: 0,
        accumulate: gw.accumulate,
      });
    }
    if (b !== null && b.requiresGrad) accumulateGrad(b, reduceToSuffix(g, outF, b.dtype));
  });
}
