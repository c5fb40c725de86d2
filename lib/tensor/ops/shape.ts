/**
 * Shape ops: reshape, permute (transpose), narrow, cat. Each forward sits beside its backward.
 *
 * @module
 */
import { allocate } from "../storage.ts";
import { accumulateGrad, accumulateSharedGrad } from "../grad.ts";
import { type Float, numel, result, type Tensor } from "../tensor.ts";
import { accumulateGpuSharedGrad } from "../gpu/grad.ts";
import { gpuResult } from "../gpu/ops.ts";
import { catGpu, narrowGpu, permuteOnGpu } from "../gpu/shape.ts";

/** Same storage order, new shape (one dimension may be -1 and is inferred). The data is shared, not copied. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const inferred = s.indexOf(-1);
  if (inferred >= 0) {
    const rest = numel(s.filter((_, i) => i !== inferred));
    s[inferred] = rest === 0 ? 0 : x.size / rest;
  }
  if (numel(s) !== x.size) throw new Error(`reshape: cannot view [${x.shape}] as [${shape}]`);
  // backward: the gradient is the output gradient viewed in the input's shape.
  if (x.gpu !== null) return gpuResult(x.gpu, s, "reshape", [x], (g) => accumulateGpuSharedGrad(x, g));
  return result(x.data, s, "reshape", [x], (g) => accumulateSharedGrad(x, g));
}

function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

// Copies src (shape `shape`) into dst laid out in the order `perm` (dst dim i = src dim perm[i]).
function permuteCopy(src: Float, shape: readonly number[], perm: readonly number[], dst: Float): void {
  const n = shape.length;
  const sst = strides(shape);
  const outShape = perm.map((p) => shape[p]);
  const srcStrideForOut = perm.map((p) => sst[p]);
  const idx = new Array<number>(n).fill(0);
  const total = src.length;
  const last = outShape[n - 1], lastStride = srcStrideForOut[n - 1];
  let srcBase = 0;
  for (let o = 0; o < total; o += last) {
    for (let j = 0; j < last; j++) dst[o + j] = src[srcBase + j * lastStride];
    // advance the multi-index over all but the last output dimension
    for (let d = n - 2; d >= 0; d--) {
      idx[d]++;
      srcBase += srcStrideForOut[d];
      if (idx[d] < outShape[d]) break;
      srcBase -= srcStrideForOut[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/** Reorders dimensions: output dim i is input dim `perm[i]` (a copy, contiguous). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const n = x.ndim;
  if (perm.length !== n || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: [${perm}] is not a permutation of ${n} dimensions`);
  }
  const inv = new Array<number>(n);
  perm.forEach((p, i) => inv[p] = i);
  if (x.gpu !== null) return permuteOnGpu(x, perm, inv);
  const out = allocate(x.dtype, x.size);
  permuteCopy(x.data, x.shape, perm, out);
  const outShape = perm.map((p) => x.shape[p]);
  return result(out, outShape, "permute", [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    permuteCopy(g, outShape, inv, gx);
    accumulateGrad(x, gx);
  });
}

/** Swaps two dimensions (negative indices count from the end). */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  const n = x.ndim;
  const perm = [...Array(n).keys()];
  const i = a < 0 ? n + a : a, j = b < 0 ? n + b : b;
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** The slice [start, start+length) of dimension `dim` (a copy). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = dim < 0 ? x.ndim + dim : dim;
  const size = x.shape[d];
  if (start < 0 || length < 0 || start + length > size) {
    throw new Error(`narrow: [${start}, ${start + length}) is outside dimension ${d} of size ${size}`);
  }
  const outer = numel(x.shape.slice(0, d)), inner = numel(x.shape.slice(d + 1));
  const outShape = [...x.shape];
  outShape[d] = length;
  if (x.gpu !== null) return narrowGpu(x, outShape, outer, size, inner, start, length);
  const out = allocate(x.dtype, outer * length * inner);
  const chunk = length * inner;
  for (let o = 0; o < outer; o++) {
    const so = (o * size + start) * inner;
    out.set(x.data.subarray(so, so + chunk), o * chunk);
  }
  return result(out, outShape, "narrow", [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    for (let o = 0; o < outer; o++) {
      gx.set(g.subarray(o * chunk, (o + 1) * chunk), (o * size + start) * inner);
    }
    accumulateGrad(x, gx);
  });
}

/**
 * Concatenation along dimension 0 (e.g. the rows of a batch); the other dimensions must agree. One part is
 * returned as it is. Backward: each part gets its slice of the gradient.
 */
export function cat(parts: readonly Tensor[]): Tensor {
  if (parts.length === 1) return parts[0];
  const inner = parts[0].shape.slice(1);
  if (parts.some((p) => p.shape.slice(1).join() !== inner.join())) {
    throw new Error(`cat: parts [${parts.map((p) => `[${p.shape}]`)}] differ beyond dimension 0`);
  }
  const offsets: number[] = [];
  let size = 0, rows = 0;
  for (const p of parts) {
    offsets.push(size);
    size += p.size;
    rows += p.shape[0];
  }
  if (parts.some((p) => p.gpu !== null)) return catGpu(parts, [rows, ...inner], offsets);
  const out = allocate(parts[0].dtype, size);
  parts.forEach((p, i) => out.set(p.data, offsets[i]));
  return result(out, [rows, ...inner], "cat", parts, (g) => {
    parts.forEach((p, i) => {
      if (!p.requiresGrad) return;
      const gp = allocate(p.dtype, p.size);
      gp.set(g.subarray(offsets[i], offsets[i] + p.size));
      accumulateGrad(p, gp);
    });
  });
}
