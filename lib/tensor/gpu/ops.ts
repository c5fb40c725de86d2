/**
 * The ops of tensors on the GPU: the twins of the CPU ops in lib/tensor/ops, called by them once their checks
 * have passed and their sizes are known (the CPU op dispatches on `x.gpu !== null`). Each records its WGSL
 * kernels (lib/kernels/webgpu) without waiting and leaves a tape node whose `backwardGpu` records the gradient
 * kernels; nothing is read back to the host.
 *
 * @module
 */
import { addBiasGpu, addRowsGpu, addVecGpu, sumRowsGpu } from "../../kernels/webgpu/bias.ts";
import { embeddingBackwardGpu, embeddingForwardGpu, embeddingPlan } from "../../kernels/webgpu/embedding.ts";
import { geluBackwardGpu, geluForwardGpu } from "../../kernels/webgpu/gelu.ts";
import { layerNormBackwardGpu, layerNormForwardGpu } from "../../kernels/webgpu/layernorm.ts";
import { gemmGpu } from "../../kernels/webgpu/matmul.ts";
import type { Gpu, GpuArray } from "../../kernels/webgpu/runtime.ts";
import { crossEntropyBackwardGpu, crossEntropyForwardGpu } from "../../kernels/webgpu/softmax.ts";
import { isGradEnabled } from "../grad.ts";
import { getPrecision } from "../precision.ts";
import { Tensor } from "../tensor.ts";
import { accumulateGpuGrad, accumulateGpuSharedGrad, gpuGradBuffer } from "./grad.ts";

/** The GPU array of `t`, or an error naming `op` when `t` lives in host memory while the others are on the GPU. */
export function gpuArrayOf(t: Tensor, op: string): GpuArray {
  if (t.gpu === null) {
    throw new Error(
      `${op}: tensor ${t.name ?? `[${t.shape}]`} is in host memory but the other operands are on the GPU ` +
        "(move the model with toGpu, or the tensor with Tensor.toGpu)",
    );
  }
  return t.gpu;
}

/**
 * The output of an op on the GPU: records a tape node with `backwardGpu` when an input needs a gradient. Ops on the
 * GPU compute in fp32 only: under a 16-bit precision (`setPrecision`) this throws, naming the op.
 */
export function gpuResult(
  array: GpuArray,
  shape: readonly number[],
  op: string,
  parents: readonly Tensor[],
  backwardGpu: (grad: GpuArray) => void,
): Tensor {
  const precision = getPrecision();
  if (precision !== "fp32") {
    throw new Error(`${op}: train.precision "${precision}" is not on webgpu yet (use fp32)`);
  }
  const needs = isGradEnabled() && parents.some((p) => p.requiresGrad);
  const out = new Tensor(array, shape, needs);
  out.device = parents[0].device;
  if (needs) {
    out.node = {
      op,
      parents,
      backward: () => {
        throw new Error(`${op}: a tensor on the GPU gets its gradient on the GPU`);
      },
      backwardGpu,
    };
  }
  return out;
}

/** a + b, where b's shape is a suffix of a's (n = b's size; n = a's size for the same shape). */
export function addGpu(big: Tensor, small: Tensor): Tensor {
  const a = gpuArrayOf(big, "add"), b = gpuArrayOf(small, "add"), gpu = a.gpu, n = small.size;
  const out = gpu.array(big.size);
  if (n === big.size) addVecGpu(gpu, a, b, out, n);
  else addRowsGpu(gpu, a, b, out, big.size / n, n);
  return gpuResult(out, big.shape, "add", [big, small], (g) => {
    accumulateGpuSharedGrad(big, g);
    if (!small.requiresGrad) return;
    if (n === big.size) accumulateGpuSharedGrad(small, g);
    else {
      const r = gpu.zeros(n);
      sumRowsGpu(gpu, g, big.size / n, n, r);
      accumulateGpuGrad(small, r);
    }
  });
}

/** y = x · Wᵀ + b over `rows` rows (the sizes checked by `linear`). */
export function linearGpu(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  rows: number,
  shape: readonly number[],
): Tensor {
  const [outF, inF] = w.shape;
  const xa = gpuArrayOf(x, "linear"), wa = gpuArrayOf(w, "linear"), gpu = xa.gpu;
  const out = gpu.array(rows * outF);
  gemm(gpu, false, true, rows, outF, inF, xa, wa, out, false);
  if (b !== null) addBiasGpu(gpu, out, gpuArrayOf(b, "linear"), rows, outF);
  return gpuResult(out, shape, "linear", b === null ? [x, w] : [x, w, b], (g) => {
    const gx = gpuGradBuffer(x);
    if (gx !== null) gemm(gpu, false, false, rows, inF, outF, g, wa, gx.buf, gx.accumulate); // g · W
    const gw = gpuGradBuffer(w);
    if (gw !== null) gemm(gpu, true, false, outF, inF, rows, g, xa, gw.buf, gw.accumulate); // gᵀ · x
    if (b !== null && b.requiresGrad) {
      const r = gpu.zeros(outF);
      sumRowsGpu(gpu, g, rows, outF, r);
      accumulateGpuGrad(b, r);
    }
  });
}

function gemm(
  gpu: Gpu,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: GpuArray,
  B: GpuArray,
  C: GpuArray,
  accumulate: boolean,
): void {
  gemmGpu(gpu, { transA, transB, M, N, K, A, aOff: 0, B, bOff: 0, C, cOff: 0, accumulate });
}

/** Rows of the table picked by ids (checked by `embedding`): ids (shape S) → (S..., C). */
export function embeddingGpu(ids: Int32Array, shape: readonly number[], weight: Tensor): Tensor {
  const [V, C] = weight.shape;
  const w = gpuArrayOf(weight, "embedding"), gpu = w.gpu;
  const idArray = gpu.upload(ids);
  const out = gpu.array(ids.length * C);
  embeddingForwardGpu(gpu, idArray, w, out, ids.length, C);
  return gpuResult(out, shape, "embedding", [weight], (g) => {
    const plan = embeddingPlan(ids, V);
    const order = gpu.upload(plan.order), starts = gpu.upload(plan.starts);
    const gw = gpu.array(weight.size);
    embeddingBackwardGpu(gpu, g, order, starts, gw, V, C);
    gpu.release(order);
    gpu.release(starts);
    accumulateGpuGrad(weight, gw);
  });
}

/** LayerNorm over the last dimension (C), `rows` rows. */
export function layerNormGpu(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): Tensor {
  const C = x.shape[x.ndim - 1], rows = x.size / C;
  const xa = gpuArrayOf(x, "layerNorm"), wa = gpuArrayOf(weight, "layerNorm"), gpu = xa.gpu;
  const ba = bias === null ? null : gpuArrayOf(bias, "layerNorm");
  const out = gpu.array(x.size), mean = gpu.array(rows), rstd = gpu.array(rows);
  layerNormForwardGpu(gpu, xa, wa, ba, out, mean, rstd, rows, C, eps);
  const parents = bias === null ? [x, weight] : [x, weight, bias];
  return gpuResult(out, x.shape, "layerNorm", parents, (g) => {
    const dx = x.requiresGrad ? gpu.array(x.size) : null;
    const dw = weight.requiresGrad ? gpu.zeros(C) : null;
    const db = bias !== null && bias.requiresGrad ? gpu.zeros(C) : null;
    layerNormBackwardGpu(gpu, xa, wa, mean, rstd, g, dx, dw, db, rows, C);
    if (dx) accumulateGpuGrad(x, dx);
    if (dw) accumulateGpuGrad(weight, dw);
    if (db && bias) accumulateGpuGrad(bias, db);
  });
}

/** GELU, exact erf form. */
export function geluGpu(x: Tensor): Tensor {
  const xa = gpuArrayOf(x, "gelu"), gpu = xa.gpu;
  const out = gpu.array(x.size);
  geluForwardGpu(gpu, xa, out, x.size);
  return gpuResult(out, x.shape, "gelu", [x], (g) => {
    const dx = gpu.array(x.size);
    geluBackwardGpu(gpu, xa, g, dx, x.size);
    accumulateGpuGrad(x, dx);
  });
}

/** Fused softmax + cross-entropy over `rows` rows of V logits; `count` rows have a target (not ignoreIndex). */
export function crossEntropyGpu(
  logits: Tensor,
  targets: Int32Array,
  ignoreIndex: number,
  count: number,
): Tensor {
  const V = logits.shape[logits.ndim - 1], rows = logits.size / V;
  const la = gpuArrayOf(logits, "crossEntropy"), gpu = la.gpu;
  const t = gpu.upload(targets);
  const probs = gpu.array(logits.size), loss = gpu.array(1);
  crossEntropyForwardGpu(gpu, la, t, probs, rows, V, ignoreIndex, loss, count);
  return gpuResult(loss, [], "crossEntropy", [logits], (g) => {
    crossEntropyBackwardGpu(gpu, probs, t, probs, rows, V, ignoreIndex, g, count); // written over the probs
    accumulateGpuGrad(logits, probs);
  });
}
