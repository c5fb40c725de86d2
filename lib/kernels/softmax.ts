/**
 * Row-wise softmax and the fused softmax + cross-entropy, on flat (rows, cols) buffers. The cross-entropy
 * forward and backward run on the WASM SIMD kernels for float32 storage on a backend other than `js` (one exp per
 * logit, in chunks of rows); float64 and the `js` backend take the TypeScript loops.
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import * as jobs from "./wasm/jobs.ts";
import { residentAddresses, wasmChunkRows, wasmHeap, wasmKernels } from "./wasm/runtime.ts";

/** out[r,:] = softmax(x[r,:]) for each of `rows` rows of length `cols` (max-subtracted, so it never overflows). */
export function softmaxForward(x: Float, out: Float, rows: number, cols: number): void {
  if (useWasm(x, rows * cols)) {
    const r = residentAddresses(x, out);
    if (r !== null) return jobs.softmaxForward(rows, cols, r[0], r[1]); // in place (arena, resident)
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > max) max = x[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - max);
      out[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) out[o + j] *= inv;
  }
}

/** dx[r,:] = p ⊙ (dy − ⟨dy, p⟩) for softmax output p: the Jacobian-vector product of softmax. */
export function softmaxBackward(p: Float, dy: Float, dx: Float, rows: number, cols: number): void {
  if (useWasm(p, rows * cols)) {
    const r = residentAddresses(p, dy, dx);
    if (r !== null) return jobs.softmaxBackward(rows, cols, r[0], r[1], r[2]);
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy[o + j] * p[o + j];
    for (let j = 0; j < cols; j++) dx[o + j] = p[o + j] * (dy[o + j] - dot);
  }
}

/**
 * Mean cross-entropy of `rows` logit rows against integer targets. A target of `ignoreIndex` is skipped.
 * Writes the softmax probabilities to `probs` (kept for the backward pass) and returns
 * `{ loss, count }` where count is the number of rows that were not ignored.
 */
export function crossEntropyForward(
  logits: Float,
  targets: Int32Array,
  probs: Float,
  rows: number,
  cols: number,
  ignoreIndex: number,
): { loss: number; count: number } {
  const count = countTargets(targets, rows, cols, ignoreIndex);
  if (useWasm(logits, rows * cols)) {
    const total = crossEntropyForwardWasm(logits, targets, probs, rows, cols, ignoreIndex);
    return { loss: count > 0 ? total / count : 0, count };
  }
  softmaxForward(logits, probs, rows, cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    // log p_t computed as (x_t - max) - log Σ exp(x - max) to keep precision when p_t is tiny.
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(logits[o + j] - max);
    total += Math.log(sum) - (logits[o + t] - max);
  }
  return { loss: count > 0 ? total / count : 0, count };
}

/**
 * dlogits[r,:] = scale · (probs[r,:] − onehot(target)); ignored rows get zero. `scale` is the upstream gradient
 * over the count of rows that were not ignored. On the wasm kernels an out-of-range target throws as in
 * {@link crossEntropyForward}.
 */
export function crossEntropyBackward(
  probs: Float,
  targets: Int32Array,
  dlogits: Float,
  rows: number,
  cols: number,
  ignoreIndex: number,
  scale: number,
): void {
  if (useWasm(probs, rows * cols)) {
    crossEntropyBackwardWasm(probs, targets, dlogits, rows, cols, ignoreIndex, scale);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * cols, t = targets[r];
    if (t === ignoreIndex) {
      dlogits.fill(0, o, o + cols);
      continue;
    }
    for (let j = 0; j < cols; j++) dlogits[o + j] = probs[o + j] * scale;
    dlogits[o + t] -= scale;
  }
}

/**
 * Checks that every target is `ignoreIndex` or lies in [0, cols) (throws naming the first that does not) and
 * returns how many rows are not ignored.
 */
export function countTargets(targets: Int32Array, rows: number, cols: number, ignoreIndex: number): number {
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t === ignoreIndex) continue;
    if (t < 0 || t >= cols) throw new Error(`cross-entropy: target ${t} at row ${r} is outside [0, ${cols})`);
    count++;
  }
  return count;
}

/** Copies checked targets into the kernel's form: the target, or −1 for an ignored row. */
function packTargets(targets: Int32Array, r0: number, n: number, ignoreIndex: number, dst: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const t = targets[r0 + i];
    dst[i] = t === ignoreIndex ? -1 : t;
  }
}

/** The softmax and the summed loss of {@link crossEntropyForward} on the wasm kernel, in chunks of rows. */
function crossEntropyForwardWasm(
  logits: Float32Array,
  targets: Int32Array,
  probs: Float,
  rows: number,
  cols: number,
  ignoreIndex: number,
): number {
  const k = wasmKernels()!;
  const r = residentAddresses(logits, probs);
  if (r !== null) {
    // logits and probs live in the kernel memory: only the targets are copied (after room for a loss per row)
    const heap = wasmHeap(3 * rows), at = heap.byteOffset;
    packTargets(targets, 0, rows, ignoreIndex, new Int32Array(heap.buffer, at + rows * 8, rows));
    return jobs.crossEntropyForward(rows, cols, r[0], at + rows * 8, r[1], at);
  }
  const R = Math.min(rows, wasmChunkRows(cols));
  // heap layout (4-byte words): [targets (int32) | logits | probs] for R rows
  const offT = 0, offX = R, offP = offX + R * cols;
  const heap = wasmHeap(offP + R * cols);
  const base = heap.byteOffset;
  const tgt = new Int32Array(heap.buffer, base + offT * 4, R);
  let total = 0;
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0), o = r0 * cols, n = nr * cols;
    packTargets(targets, r0, nr, ignoreIndex, tgt);
    heap.set(logits.subarray(o, o + n), offX);
    total += k.cross_entropy_fwd(nr, cols, base + offX * 4, base + offT * 4, base + offP * 4);
    probs.set(heap.subarray(offP, offP + n), o);
  }
  return total;
}

/** {@link crossEntropyBackward} on the wasm kernel, in chunks of rows. */
function crossEntropyBackwardWasm(
  probs: Float32Array,
  targets: Int32Array,
  dlogits: Float,
  rows: number,
  cols: number,
  ignoreIndex: number,
  scale: number,
): void {
  countTargets(targets, rows, cols, ignoreIndex);
  const k = wasmKernels()!;
  const r = residentAddresses(probs, dlogits);
  if (r !== null) {
    const heap = wasmHeap(rows), tgt = new Int32Array(heap.buffer, heap.byteOffset, rows);
    packTargets(targets, 0, rows, ignoreIndex, tgt);
    jobs.crossEntropyBackward(rows, cols, r[0], heap.byteOffset, r[1], scale);
    return;
  }
  const R = Math.min(rows, wasmChunkRows(cols));
  // heap layout (4-byte words): [targets (int32) | probs | dlogits] for R rows
  const offT = 0, offP = R, offD = offP + R * cols;
  const heap = wasmHeap(offD + R * cols);
  const base = heap.byteOffset;
  const tgt = new Int32Array(heap.buffer, base + offT * 4, R);
  for (let r0 = 0; r0 < rows; r0 += R) {
    const nr = Math.min(R, rows - r0), o = r0 * cols, n = nr * cols;
    packTargets(targets, r0, nr, ignoreIndex, tgt);
    heap.set(probs.subarray(o, o + n), offP);
    k.cross_entropy_bwd(nr, cols, base + offP * 4, base + offT * 4, base + offD * 4, scale);
    dlogits.set(heap.subarray(offD, offD + n), o);
  }
}
