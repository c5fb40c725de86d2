/**
 * The GPU twins of the attention ops: self-attention on the fused projection, attention on separate (B, H, T, D)
 * q, k, v (BERT's and the cache's path), flash attention, grouped-query attention's head repeats, and T5's
 * relative position bias and attention with an additive bias. Attention dropout masks are drawn on the CPU from
 * the seeded generator (as the CPU ops draw them) and uploaded.
 *
 * @module
 */
import type { AttentionDims, PackedAttentionDims } from "../../kernels/attention.ts";
import type { BiasedAttentionDims } from "../../kernels/relpos.ts";
import {
  attentionBackwardGpu,
  attentionForwardGpu,
  type GpuMask,
  packedAttentionBackwardGpu,
  packedAttentionForwardGpu,
} from "../../kernels/webgpu/attention.ts";
import { flashAttentionBackwardGpu, flashAttentionForwardGpu } from "../../kernels/webgpu/flash.ts";
import {
  repeatHeadsBackwardGpu,
  repeatHeadsGpu,
  repeatKvHeadsBackwardGpu,
  repeatKvHeadsGpu,
} from "../../kernels/webgpu/layout.ts";
import {
  biasedAttentionBackwardGpu,
  biasedAttentionForwardGpu,
  relativeBiasGatherGpu,
  relativeBiasScatterGpu,
} from "../../kernels/webgpu/relpos.ts";
import type { Tensor } from "../tensor.ts";
import { accumulateGpuGrad } from "./grad.ts";
import { uploadKeep } from "./layers.ts";
import { gpuArrayOf, gpuResult } from "./ops.ts";

/** Attention dropout on the GPU: the CPU-drawn keep-mask (null without dropout) and its scale 1/(1 − p). */
export interface GpuKeep {
  /** 1 = kept, one entry per probability (B, H, Tq, Tk). */
  keep: Uint8Array | null;
  /** The inverted-dropout scale. */
  scale: number;
}

/**
 * Self-attention on the fused projection output (checked by `selfAttention`), with attention dropout by the
 * CPU-drawn keep-mask `drop.keep` (null: none).
 */
export function selfAttentionGpu(
  qkv: Tensor,
  shape: readonly number[],
  dims: PackedAttentionDims,
  mask: GpuMask,
  drop: GpuKeep,
): Tensor {
  const q = gpuArrayOf(qkv, "selfAttention"), gpu = q.gpu;
  const keep = drop.keep === null ? null : uploadKeep(gpu, drop.keep);
  const probs = gpu.array(dims.BH * dims.Tq * dims.Tk);
  const y = gpu.array(qkv.size / 3);
  packedAttentionForwardGpu(gpu, q, mask, probs, y, dims, keep, drop.scale);
  return gpuResult(y, shape, "selfAttention", [qkv], (g) => {
    const dqkv = gpu.array(qkv.size);
    packedAttentionBackwardGpu(gpu, q, probs, g, dqkv, dims, keep, drop.scale, mask);
    accumulateGpuGrad(qkv, dqkv);
  });
}

/** softmax(mask(q·kᵀ·scale)) · v on (B, H, T, D) tensors (checked by `attention`) → (B, H, Tq, D). */
export function attentionGpu(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: GpuMask,
  dims: AttentionDims,
  drop: GpuKeep,
): Tensor {
  const op = "attention";
  const qa = gpuArrayOf(q, op), ka = gpuArrayOf(k, op), va = gpuArrayOf(v, op), gpu = qa.gpu;
  const keep = drop.keep === null ? null : uploadKeep(gpu, drop.keep);
  const probs = gpu.array(dims.BH * dims.Tq * dims.Tk), y = gpu.array(dims.BH * dims.Tq * dims.D);
  attentionForwardGpu(gpu, qa, ka, va, mask, probs, y, dims, keep, drop.scale);
  return gpuResult(y, q.shape.slice(0, 3).concat(dims.D), op, [q, k, v], (g) => {
    const dq = gpu.array(q.size), dk = gpu.array(k.size), dv = gpu.array(v.size);
    attentionBackwardGpu(gpu, qa, ka, va, probs, g, dq, dk, dv, dims, keep, drop.scale, mask);
    accumulateGpuGrad(q, dq);
    accumulateGpuGrad(k, dk);
    accumulateGpuGrad(v, dv);
  });
}

/** Flash attention on the fused projection qkv (B, T, 3C) → (B, T, C) (checked by `flashSelfAttention`). */
export function flashSelfAttentionGpu(qkv: Tensor, H: number, mask: GpuMask, tile: number): Tensor {
  const [B, T, C3] = qkv.shape, C = C3 / 3, D = C / H;
  const x = gpuArrayOf(qkv, "flashSelfAttention"), gpu = x.gpu;
  const y = gpu.array(B * T * C), lse = gpu.array(B * H * T);
  flashAttentionForwardGpu(gpu, x, mask, y, lse, B, T, H, D, tile);
  return gpuResult(y, [B, T, C], "flashSelfAttention", [qkv], (g) => {
    const dx = gpu.array(qkv.size);
    flashAttentionBackwardGpu(gpu, x, y, g, lse, mask, dx, B, T, H, D, tile);
    accumulateGpuGrad(qkv, dx);
  });
}

/** `repeatKvHeads`: grouped qkv (B, T, (H + 2·Hkv)·D) → (B, T, 3·H·D) (checked by the CPU op). */
export function repeatKvHeadsOnGpu(qkv: Tensor, H: number, Hkv: number, D: number): Tensor {
  const [B, T] = qkv.shape, rows = B * T;
  const x = gpuArrayOf(qkv, "repeatKvHeads"), gpu = x.gpu;
  const out = gpu.array(rows * 3 * H * D);
  repeatKvHeadsGpu(gpu, x, out, rows, H, Hkv, D);
  return gpuResult(out, [B, T, 3 * H * D], "repeatKvHeads", [qkv], (g) => {
    const dx = gpu.array(qkv.size);
    repeatKvHeadsBackwardGpu(gpu, g, dx, rows, H, Hkv, D);
    accumulateGpuGrad(qkv, dx);
  });
}

/** `repeatHeads`: x (B, Hkv, T, D) → (B, H, T, D) (checked by the CPU op). */
export function repeatHeadsOnGpu(x: Tensor, H: number): Tensor {
  const [B, Hkv, T, D] = x.shape, slice = T * D, group = H / Hkv;
  const xa = gpuArrayOf(x, "repeatHeads"), gpu = xa.gpu;
  const out = gpu.array(B * H * slice);
  repeatHeadsGpu(gpu, xa, out, B * H, slice, group);
  return gpuResult(out, [B, H, T, D], "repeatHeads", [x], (g) => {
    const dx = gpu.array(x.size);
    repeatHeadsBackwardGpu(gpu, g, dx, B * H, slice, group);
    accumulateGpuGrad(x, dx);
  });
}

/** T5's bias (H, Tq, Tk) gathered from the table (numBuckets, H) by `buckets` (checked by the CPU op). */
export function relativePositionBiasGpu(table: Tensor, buckets: Int32Array, Tq: number, Tk: number): Tensor {
  const H = table.shape[1], n = Tq * Tk;
  const w = gpuArrayOf(table, "relativePositionBias"), gpu = w.gpu;
  const b = gpu.upload(buckets), out = gpu.array(H * n);
  relativeBiasGatherGpu(gpu, w, b, out, H, n);
  return gpuResult(out, [H, Tq, Tk], "relativePositionBias", [table], (g) => {
    const gw = gpu.zeros(table.size);
    relativeBiasScatterGpu(gpu, g, b, gw, H, n);
    accumulateGpuGrad(table, gw);
  });
}

/**
 * softmax(scale·q·kᵀ + bias under the masks) · v (checked by `attentionWithBias`): `mask` null for all visible,
 * `lengths` the per-batch key lengths or null.
 */
export function attentionWithBiasGpu(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null,
  mask: GpuMask | null,
  lengths: Int32Array | null,
  dims: BiasedAttentionDims,
  drop: GpuKeep,
): Tensor {
  const op = "attentionWithBias";
  const qa = gpuArrayOf(q, op), ka = gpuArrayOf(k, op), va = gpuArrayOf(v, op), gpu = qa.gpu;
  const ba = bias === null ? null : gpuArrayOf(bias, op);
  const len = lengths === null ? null : gpu.upload(lengths);
  const keep = drop.keep === null ? null : uploadKeep(gpu, drop.keep);
  const { B, H, Tq, Tk, D } = dims;
  const probs = gpu.array(B * H * Tq * Tk), y = gpu.array(B * H * Tq * D);
  biasedAttentionForwardGpu(gpu, qa, ka, va, ba, mask, len, probs, y, dims, keep, drop.scale);
  const parents = bias === null ? [q, k, v] : [q, k, v, bias];
  return gpuResult(y, [B, H, Tq, D], op, parents, (g) => {
    const dq = gpu.array(q.size), dk = gpu.array(k.size), dv = gpu.array(v.size);
    const db = bias !== null && bias.requiresGrad ? gpu.zeros(bias.size) : null;
    biasedAttentionBackwardGpu(gpu, qa, ka, va, probs, g, dq, dk, dv, db, len, dims, keep, drop.scale, mask);
    accumulateGpuGrad(q, dq);
    accumulateGpuGrad(k, dk);
    accumulateGpuGrad(v, dv);
    if (db !== null && bias !== null) accumulateGpuGrad(bias, db);
  });
}
