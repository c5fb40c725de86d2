/**
 * Rotary position embeddings (RoPE) applied to the q and k parts of the fused projection output: the shared
 * cos/sin table and the differentiable op, with its hand-written backward (the inverse rotation).
 *
 * @module
 */
import { ropeRotate, type RopeTables } from "../../kernels/rope.ts";
import { residentFloat32 } from "../../kernels/wasm/runtime.ts";
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { ropeGpu } from "../gpu/layers.ts";

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
  if (qkv.gpu !== null) return ropeGpu(qkv, nHead, pos0, table);
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
