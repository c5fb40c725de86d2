/**
 * Ops of the architecture variants (LLaMA-style): RMSNorm, the SwiGLU gate, and rotary position embeddings
 * applied to the q and k parts of the fused projection output. Each has a hand-written backward pass; float64
 * storage runs through the same loops (gradient checks).
 *
 * @module
 */
import {
  rmsNormBackward,
  rmsNormForward,
  ropeRotate,
  type RopeTables,
  swigluBackward,
  swigluForward,
} from "../../kernels/variants.ts";
import { residentFloat32 } from "../../kernels/wasm/runtime.ts";
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";

/**
 * RMSNorm over the last dimension: y = x / √(mean(x²) + eps) · w (no mean subtraction, no bias), as in LLaMA.
 * x (..., C), weight (C).
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1];
  if (weight.size !== C) {
    throw new Error(`rmsNorm: input [${x.shape}] does not match weight [${weight.shape}]`);
  }
  const rows = x.size / C;
  const out = allocate(x.dtype, x.size), rstd = allocate(x.dtype, rows);
  rmsNormForward(x.data, weight.data, out, rstd, rows, C, eps);
  return result(out, x.shape, "rmsNorm", [x, weight], (g) => {
    const dx = x.requiresGrad ? allocate(x.dtype, x.size) : null;
    const dw = weight.requiresGrad ? allocate(x.dtype, C) : null;
    rmsNormBackward(x.data, weight.data, rstd, g, dx, dw, rows, C);
    if (dx !== null) accumulateGrad(x, dx);
    if (dw !== null) accumulateGrad(weight, dw);
  });
}

/**
 * The SwiGLU gate: silu(gate) ⊙ up, with silu(g) = g·σ(g). gate and up have the same shape (the outputs of the
 * MLP's gate and up projections).
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size || gate.ndim !== up.ndim || gate.shape.some((d, i) => d !== up.shape[i])) {
    throw new Error(`swiglu: gate [${gate.shape}] and up [${up.shape}] must have the same shape`);
  }
  const n = gate.size;
  const out = allocate(gate.dtype, n);
  swigluForward(gate.data, up.data, out, n);
  return result(out, gate.shape, "swiglu", [gate, up], (g) => {
    const dg = gate.requiresGrad ? allocate(gate.dtype, n) : null;
    const du = up.requiresGrad ? allocate(up.dtype, n) : null;
    swigluBackward(gate.data, up.data, g, dg, du, n);
    if (dg !== null) accumulateGrad(gate, dg);
    if (du !== null) accumulateGrad(up, du);
  });
}

/**
 * cos and sin of the rotary angles pos · θ_i, θ_i = base^(−2i/D) for i < D/2, for positions 0 … maxPos−1
 * (computed once in float64 and shared by every layer).
 */
export class RopeTable implements RopeTables {
  /** cos, (maxPos, D/2). */
  readonly cos: Float64Array;
  /** sin, (maxPos, D/2). */
  readonly sin: Float64Array;
  /** cos in float32 in the kernel memory (null without the WASM kernels). */
  readonly cos32: Float32Array | null;
  /** sin in float32 in the kernel memory. */
  readonly sin32: Float32Array | null;

  /** Builds the table; D (the head size) must be even. */
  constructor(readonly maxPos: number, readonly D: number, readonly base = 10000) {
    if (!Number.isInteger(D) || D < 2 || D % 2 !== 0) {
      throw new Error(`RoPE: the head size (n_embd / n_head) must be even, got ${D}`);
    }
    const half = D / 2;
    this.cos = new Float64Array(maxPos * half);
    this.sin = new Float64Array(maxPos * half);
    for (let p = 0; p < maxPos; p++) {
      for (let i = 0; i < half; i++) {
        const a = p * Math.pow(base, (-2 * i) / D);
        this.cos[p * half + i] = Math.cos(a);
        this.sin[p * half + i] = Math.sin(a);
      }
    }
    this.cos32 = residentFloat32(this.cos.length);
    this.sin32 = residentFloat32(this.sin.length);
    this.cos32?.set(this.cos);
    this.sin32?.set(this.sin);
  }
}

/**
 * Rotary position embeddings on the fused projection output qkv (B, T, 3C): the q and k of every head are
 * rotated by the angles of positions pos0 … pos0+T−1 (pos0 = the KV cache's length when decoding); v passes
 * through. Returns a new (B, T, 3C) tensor.
 */
export function rope(qkv: Tensor, nHead: number, pos0: number, table: RopeTable): Tensor {
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3, D = C / nHead;
  if (qkv.ndim !== 3 || C3 % 3 !== 0 || D !== table.D) {
    throw new Error(`rope: qkv [${qkv.shape}] must be (B, T, 3·${nHead}·${table.D})`);
  }
  if (pos0 + T > table.maxPos) {
    throw new Error(`rope: positions up to ${pos0 + T} exceed the table's ${table.maxPos}`);
  }
  const out = allocate(qkv.dtype, qkv.size);
  out.set(qkv.data); // v, and the q/k parts that rotate overwrites
  ropeRotate(qkv.data, out, B, T, nHead, D, pos0, table, 1);
  return result(out, qkv.shape, "rope", [qkv], (g) => {
    const dx = allocate(qkv.dtype, qkv.size);
    dx.set(g);
    ropeRotate(g, dx, B, T, nHead, D, pos0, table, -1);
    accumulateGrad(qkv, dx);
  });
}
