/**
 * The GPU twins of the layer ops beyond the GPT-2 ones: RMSNorm, the SwiGLU gate, rotary position embeddings,
 * softmax and dropout (its keep-mask drawn on the CPU from the seeded generator, as the CPU op draws it, and uploaded).
 *
 * @module
 */
import { dropoutGpu } from "../../kernels/webgpu/dropout.ts";
import { rmsNormBackwardGpu, rmsNormForwardGpu } from "../../kernels/webgpu/rmsnorm.ts";
import { ropeRotateGpu } from "../../kernels/webgpu/rope.ts";
import type { Gpu, GpuArray } from "../../kernels/webgpu/runtime.ts";
import { softmaxBackwardGpu, softmaxForwardGpu } from "../../kernels/webgpu/softmax.ts";
import { swigluBackwardGpu, swigluForwardGpu } from "../../kernels/webgpu/swiglu.ts";
import type { RopeTable } from "../ops/rope.ts";
import type { Tensor } from "../tensor.ts";
import { accumulateGpuGrad } from "./grad.ts";
import { gpuArrayOf, gpuResult } from "./ops.ts";

/** RMSNorm over the last dimension (C) (checked by `rmsNorm`). */
export function rmsNormGpu(x: Tensor, weight: Tensor, eps: number): Tensor {
  const C = x.shape[x.ndim - 1], rows = x.size / C;
  const xa = gpuArrayOf(x, "rmsNorm"), wa = gpuArrayOf(weight, "rmsNorm"), gpu = xa.gpu;
  const out = gpu.array(x.size), rstd = gpu.array(rows);
  rmsNormForwardGpu(gpu, xa, wa, out, rstd, rows, C, eps);
  return gpuResult(out, x.shape, "rmsNorm", [x, weight], (g) => {
    const dx = x.requiresGrad ? gpu.array(x.size) : null;
    const dw = weight.requiresGrad ? gpu.zeros(C) : null;
    rmsNormBackwardGpu(gpu, xa, wa, rstd, g, dx, dw, rows, C);
    if (dx !== null) accumulateGpuGrad(x, dx);
    if (dw !== null) accumulateGpuGrad(weight, dw);
  });
}

/** The SwiGLU gate silu(gate) ⊙ up (shapes checked by `swiglu`). */
export function swigluGpu(gate: Tensor, up: Tensor): Tensor {
  const ga = gpuArrayOf(gate, "swiglu"), ua = gpuArrayOf(up, "swiglu"), gpu = ga.gpu, n = gate.size;
  const out = gpu.array(n);
  swigluForwardGpu(gpu, ga, ua, out, n);
  return gpuResult(out, gate.shape, "swiglu", [gate, up], (g) => {
    const dg = gate.requiresGrad ? gpu.array(n) : null;
    const du = up.requiresGrad ? gpu.array(n) : null;
    swigluBackwardGpu(gpu, ga, ua, g, dg, du, n);
    if (dg !== null) accumulateGpuGrad(gate, dg);
    if (du !== null) accumulateGpuGrad(up, du);
  });
}

const ropeTables = new WeakMap<RopeTable, { gpu: Gpu; cos: GpuArray; sin: GpuArray }>();

/** The table's cos and sin in float32 on `gpu` (uploaded once per table). */
function ropeTableOn(gpu: Gpu, table: RopeTable): { cos: GpuArray; sin: GpuArray } {
  const kept = ropeTables.get(table);
  if (kept !== undefined && kept.gpu === gpu) return kept;
  const t = {
    gpu,
    cos: gpu.upload(Float32Array.from(table.cos), true),
    sin: gpu.upload(Float32Array.from(table.sin), true),
  };
  ropeTables.set(table, t);
  return t;
}

/** Rotary embeddings on the q and k parts of qkv (B, T, 3C) for positions pos0 … (checked by `rope`). */
export function ropeGpu(qkv: Tensor, nHead: number, pos0: number, table: RopeTable): Tensor {
  const [B, T] = qkv.shape, D = table.D;
  const xa = gpuArrayOf(qkv, "rope"), gpu = xa.gpu, { cos, sin } = ropeTableOn(gpu, table);
  const out = gpu.array(qkv.size);
  gpu.copy(xa, out, qkv.size); // v, and the q/k parts the rotation overwrites
  ropeRotateGpu(gpu, xa, out, B, T, nHead, D, pos0, cos, sin, 1);
  return gpuResult(out, qkv.shape, "rope", [qkv], (g) => {
    const dx = gpu.array(qkv.size);
    gpu.copy(g, dx, qkv.size);
    ropeRotateGpu(gpu, g, dx, B, T, nHead, D, pos0, cos, sin, -1);
    accumulateGpuGrad(qkv, dx);
  });
}

/** A keep-mask drawn on the CPU (1 = kept) as the kernels' u32 array on `gpu` (a step array). */
export function uploadKeep(gpu: Gpu, keep: Uint8Array): GpuArray {
  return gpu.upload(Uint32Array.from(keep));
}

/** Inverted dropout with the CPU-drawn keep-mask `keep` and scale 1/(1 − p) (checked by `dropout`). */
export function dropoutOnGpu(x: Tensor, keep: Uint8Array, scale: number): Tensor {
  const xa = gpuArrayOf(x, "dropout"), gpu = xa.gpu;
  const k = uploadKeep(gpu, keep), out = gpu.array(x.size);
  dropoutGpu(gpu, xa, k, out, x.size, scale);
  return gpuResult(out, x.shape, "dropout", [x], (g) => {
    const dx = gpu.array(x.size);
    dropoutGpu(gpu, g, k, dx, x.size, scale);
    accumulateGpuGrad(x, dx);
  });
}

/** Softmax over the last dimension. */
export function softmaxGpu(x: Tensor): Tensor {
  const C = x.shape[x.ndim - 1], rows = x.size / C;
  const xa = gpuArrayOf(x, "softmax"), gpu = xa.gpu;
  const out = gpu.array(x.size);
  softmaxForwardGpu(gpu, xa, out, rows, C);
  return gpuResult(out, x.shape, "softmax", [x], (g) => {
    const dx = gpu.array(x.size);
    softmaxBackwardGpu(gpu, out, g, dx, rows, C);
    accumulateGpuGrad(x, dx);
  });
}
