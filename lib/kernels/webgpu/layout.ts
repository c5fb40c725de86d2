/**
 * Layout kernels: the copies that the tensor shape ops and grouped-query attention make on the CPU
 * (lib/tensor/ops/shape.ts `permute`, `narrow`; lib/tensor/ops/gqa.ts `repeatKvHeads`, `repeatHeads`), and the
 * backward sums of the repeats, each output element summing its group in head order (the CPU's order, so the
 * same bits).
 *
 * Launch shape: one invocation per output element, {@link WG} per workgroup over a 1-D `grid()`. Every array
 * must fit one storage binding (these ops move activations, far below it; a larger one throws, naming it).
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { bindingElements } from "./span.ts";
import { bindings, LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

/** Invocations per workgroup. */
const WG = 256;
/** Dimensions {@link permuteGpu} takes. */
export const MAX_DIMS = 6;

const HEAD = /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let e = ${LINEAR_WG} * ${WG}u + lid;
  if (e >= p.n) { return; }`;

const PERMUTE = /* wgsl */ `
${
  bindings(
    [["src", "read"], ["dst", "read_write"]],
    `n: u32, ${[...Array(MAX_DIMS).keys()].map((d) => `o${d}: u32`).join(", ")}, ` +
      [...Array(MAX_DIMS).keys()].map((d) => `s${d}: u32`).join(", "),
  )
}
${HEAD}
  var rest = e;
  var at = 0u;
${
  [...Array(MAX_DIMS).keys()].reverse().map((d) => `  at += (rest % p.o${d}) * p.s${d};\n  rest /= p.o${d};`)
    .join("\n")
}
  dst[e] = src[at];
}`;

const COPY_ROWS = /* wgsl */ `
${
  bindings(
    [["src", "read"], ["dst", "read_write"]],
    "n: u32, len: u32, srcOff: u32, srcRow: u32, dstOff: u32, dstRow: u32",
  )
}
${HEAD}
  let r = e / p.len;
  let j = e % p.len;
  dst[p.dstOff + r * p.dstRow + j] = src[p.srcOff + r * p.srcRow + j];
}`;

// Grouped (rows, (H + 2·Hkv)·D) ↔ repeated (rows, 3·H·D) rows of the fused projection.
const GROUP_PARAMS = "n: u32, H: u32, Hkv: u32, D: u32";

const REPEAT_KV = /* wgsl */ `
${bindings([["src", "read"], ["dst", "read_write"]], GROUP_PARAMS)}
${HEAD}
  let C = p.H * p.D;
  let r = e / (3u * C);
  let c = e % (3u * C);
  let g0 = r * (C + 2u * p.Hkv * p.D);
  if (c < C) {
    dst[e] = src[g0 + c];
    return;
  }
  let part = (c - C) / C;
  let h = ((c - C) % C) / p.D;
  dst[e] = src[g0 + C + part * p.Hkv * p.D + ((h * p.Hkv) / p.H) * p.D + c % p.D];
}`;

const REPEAT_KV_BACKWARD = /* wgsl */ `
${bindings([["g", "read"], ["dx", "read_write"]], GROUP_PARAMS)}
${HEAD}
  let C = p.H * p.D;
  let narrow = C + 2u * p.Hkv * p.D;
  let r = e / narrow;
  let c = e % narrow;
  let w0 = r * 3u * C;
  if (c < C) {
    dx[e] = g[w0 + c];
    return;
  }
  let part = (c - C) / (p.Hkv * p.D);
  let kh = ((c - C) % (p.Hkv * p.D)) / p.D;
  let d = c % p.D;
  let group = p.H / p.Hkv;
  var s = 0.0;
  for (var h = kh * group; h < (kh + 1u) * group; h++) { s += g[w0 + C + part * C + h * p.D + d]; }
  dx[e] = s;
}`;

// (B, Hkv, T, D) ↔ (B, H, T, D): slice bh of the repeated heads is slice ⌊bh / group⌋ of the grouped ones.
const REPEAT_HEADS = /* wgsl */ `
${bindings([["src", "read"], ["dst", "read_write"]], "n: u32, slice: u32, group: u32")}
${HEAD}
  dst[e] = src[(e / p.slice / p.group) * p.slice + e % p.slice];
}`;

const REPEAT_HEADS_BACKWARD = /* wgsl */ `
${bindings([["g", "read"], ["dx", "read_write"]], "n: u32, slice: u32, group: u32")}
${HEAD}
  let s0 = (e / p.slice) * p.group;
  let i = e % p.slice;
  var s = 0.0;
  for (var k = 0u; k < p.group; k++) { s += g[(s0 + k) * p.slice + i]; }
  dx[e] = s;
}`;

function fits(gpu: Gpu, op: string, ...lengths: number[]): void {
  const max = bindingElements(gpu);
  for (const n of lengths) {
    if (n > max) throw new Error(`${op}: ${n} elements exceed one storage binding (${max}) on this adapter`);
  }
}

function run(gpu: Gpu, wgsl: string, arrays: GpuArray[], n: number, ...params: number[]): void {
  if (n === 0) return;
  gpu.dispatch(gpu.pipeline(wgsl), arrays, grid(Math.ceil(n / WG)), gpu.params().u32(n, ...params));
}

/**
 * Records dst = src (of shape `shape`) laid out in the order `perm` (dst dimension i is src dimension perm[i];
 * at most {@link MAX_DIMS} dimensions), as `permute`'s copy on the CPU.
 */
export function permuteGpu(
  gpu: Gpu,
  src: GpuArray,
  shape: readonly number[],
  perm: readonly number[],
  dst: GpuArray,
): void {
  if (shape.length > MAX_DIMS) {
    throw new Error(`permute: ${shape.length} dimensions (at most ${MAX_DIMS} on webgpu)`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  fits(gpu, "permute", n);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const pad = MAX_DIMS - shape.length;
  const outShape = [...Array(pad).fill(1), ...perm.map((p) => shape[p])];
  const srcStrides = [...Array(pad).fill(0), ...perm.map((p) => strides[p])];
  run(gpu, PERMUTE, [src, dst], n, ...outShape, ...srcStrides);
}

/**
 * Records `rows` copies of `len` elements: dst[dstOff + r·dstRow + j] = src[srcOff + r·srcRow + j] (a slice of
 * one dimension out of each row, `narrow`, or back into place, its backward into a zeroed array).
 */
export function copyRowsGpu(
  gpu: Gpu,
  src: GpuArray,
  srcOff: number,
  srcRow: number,
  dst: GpuArray,
  dstOff: number,
  dstRow: number,
  rows: number,
  len: number,
): void {
  fits(gpu, "narrow", src.length, dst.length);
  run(gpu, COPY_ROWS, [src, dst], rows * len, len, srcOff, srcRow, dstOff, dstRow);
}

/**
 * Records `repeatKvHeads`: grouped rows (rows, (H + 2·Hkv)·D) of the fused projection into repeated rows
 * (rows, 3·H·D), query head h reading key/value head ⌊h·Hkv/H⌋.
 */
export function repeatKvHeadsGpu(
  gpu: Gpu,
  src: GpuArray,
  dst: GpuArray,
  rows: number,
  H: number,
  Hkv: number,
  D: number,
): void {
  fits(gpu, "repeatKvHeads", rows * 3 * H * D);
  run(gpu, REPEAT_KV, [src, dst], rows * 3 * H * D, H, Hkv, D);
}

/** The backward of {@link repeatKvHeadsGpu}: dx (grouped) gets each group's gradients summed in head order. */
export function repeatKvHeadsBackwardGpu(
  gpu: Gpu,
  g: GpuArray,
  dx: GpuArray,
  rows: number,
  H: number,
  Hkv: number,
  D: number,
): void {
  fits(gpu, "repeatKvHeads", rows * 3 * H * D);
  run(gpu, REPEAT_KV_BACKWARD, [g, dx], rows * (H + 2 * Hkv) * D, H, Hkv, D);
}

/** Records `repeatHeads`: x (B, Hkv, T, D) into (B, H, T, D), slice b·H + h reading b·Hkv + ⌊h / group⌋. */
export function repeatHeadsGpu(
  gpu: Gpu,
  x: GpuArray,
  out: GpuArray,
  slices: number,
  slice: number,
  group: number,
): void {
  fits(gpu, "repeatHeads", slices * slice);
  run(gpu, REPEAT_HEADS, [x, out], slices * slice, slice, group);
}

/** The backward of {@link repeatHeadsGpu}: each grouped slice sums its `group` repeated slices in order. */
export function repeatHeadsBackwardGpu(
  gpu: Gpu,
  g: GpuArray,
  dx: GpuArray,
  slices: number,
  slice: number,
  group: number,
): void {
  fits(gpu, "repeatHeads", slices * slice);
  run(gpu, REPEAT_HEADS_BACKWARD, [g, dx], (slices / group) * slice, slice, group);
}
