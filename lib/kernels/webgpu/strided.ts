/**
 * A strided copy on the GPU: dst[to + Σ iₖ·tₖ] = src[so + Σ iₖ·sₖ] for every index (i₀, …, i₄) of a shape of up
 * to five dimensions. It moves the heads of the fused projection output into a KV cache, expands a grouped cache
 * for its query heads (a stride of 0 repeats), and any other regular re-layout; it has no js twin (the CPU copies
 * with subarray/set) and is exact.
 *
 * Launch: {@link grid} over ⌈n / 256⌉ workgroups of 256 invocations, one element each (n = the shape's size).
 * `src` and `dst` must be different buffers, each within one storage binding.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { bindings, LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

const WG = 256;
const DIMS = 5;

const STRIDED_WGSL = /* wgsl */ `
${
  bindings(
    [["src", "read"], ["dst", "read_write"]],
    [
      "n: u32, d1: u32, d2: u32, d3: u32, d4: u32",
      "s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, so: u32",
      "t0: u32, t1: u32, t2: u32, t3: u32, t4: u32, to: u32",
    ].join(", "),
  )
}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = ${LINEAR_WG} * ${WG}u + lid;
  if (i >= p.n) { return; }
  var r = i;
  let i4 = r % p.d4; r = r / p.d4;
  let i3 = r % p.d3; r = r / p.d3;
  let i2 = r % p.d2; r = r / p.d2;
  let i1 = r % p.d1;
  let i0 = r / p.d1;
  dst[p.to + i0 * p.t0 + i1 * p.t1 + i2 * p.t2 + i3 * p.t3 + i4 * p.t4] =
    src[p.so + i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + i3 * p.s3 + i4 * p.s4];
}`;

/** One side of a {@link stridedCopyGpu}: the array, its element strides per dimension, and the first element. */
export interface StridedSide {
  /** The array. */
  readonly a: GpuArray;
  /** Element stride of each dimension of the shape (as many as the shape has; 0 repeats an element). */
  readonly strides: readonly number[];
  /** Index of the element at index (0, …, 0). */
  readonly offset: number;
}

/**
 * Records dst[to + Σ iₖ·tₖ] = src[so + Σ iₖ·sₖ] over every index of `shape` (at most five dimensions). No two
 * indices may write the same destination element (the order of such writes would be undefined).
 */
export function stridedCopyGpu(gpu: Gpu, shape: readonly number[], src: StridedSide, dst: StridedSide): void {
  if (shape.length > DIMS || src.strides.length !== shape.length || dst.strides.length !== shape.length) {
    throw new Error(
      `stridedCopyGpu: shape [${shape}] with strides [${src.strides}] → [${dst.strides}] (at most ${DIMS} dims)`,
    );
  }
  if (src.a.buffer === dst.a.buffer) throw new Error("stridedCopyGpu: src and dst share a buffer");
  const pad = DIMS - shape.length;
  const dims = [...Array(pad).fill(1), ...shape];
  const s = [...Array(pad).fill(0), ...src.strides], t = [...Array(pad).fill(0), ...dst.strides];
  const n = dims.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const last = (side: readonly number[], off: number) =>
    off + dims.reduce((a, d, k) => a + (d - 1) * side[k], 0);
  if (last(s, src.offset) >= src.a.length || last(t, dst.offset) >= dst.a.length) {
    throw new Error(`stridedCopyGpu: shape [${shape}] reaches past the end of an array`);
  }
  gpu.dispatch(
    gpu.pipeline(STRIDED_WGSL),
    [src.a, dst.a],
    grid(Math.ceil(n / WG)),
    gpu.params().u32(n, dims[1], dims[2], dims[3], dims[4], ...s, src.offset, ...t, dst.offset),
  );
}
