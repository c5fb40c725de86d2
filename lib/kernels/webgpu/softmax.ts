/**
 * Row-wise softmax and the fused softmax + cross-entropy on the GPU, mirroring lib/kernels/softmax.ts on flat
 * (rows, cols) f32 arrays. Arrays larger than one binding (GPT-2's logits: rows × 50,257) are recorded as several
 * dispatches over chunks of whole rows (split.ts).
 *
 * Launch shapes: one workgroup per row, 32 to 256 invocations by the row length (rowWorkgroup), each striding the
 * row; max, sum and dot products by fixed-order tree reductions. The cross-entropy's mean is one workgroup summing
 * the per-row losses in a fixed order. No atomics: two runs give the same bits.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { forEachChunk } from "./split.ts";
import { type Binding, bindings, rowMain, rowWorkgroup, workgroupReduce } from "./wgsl.ts";

/** Invocations of the workgroup that sums the per-row losses. */
const MEAN_WG = 256;
/** The lowest f32, exactly (Tint rejects a decimal literal that rounds past it): the start of a running max. */
const LOWEST = "-0x1.fffffep+127f";

// a row kernel over a chunk of rows: r (in the chunk), o (its first element in the bound views)
const row = (wg: number) => rowMain(wg, "p.nr", "p.skip + r * p.C");

const reduce = (wg: number) =>
  workgroupReduce("wmax", "f32", "max(a, b)", wg) + workgroupReduce("wsum", "f32", "a + b", wg);

// y = softmax(x) over the row (the exps are stored, then scaled, as the js kernel does); mx and total are kept
const softmaxBody = (wg: number) => /* wgsl */ `
  var m = ${LOWEST};
  for (var j = lid; j < p.C; j += ${wg}u) { m = max(m, x[o + j]); }
  let mx = wmax(m, lid);
  var s = 0.0;
  for (var j = lid; j < p.C; j += ${wg}u) {
    let e = exp(x[o + j] - mx);
    y[o + j] = e;
    s += e;
  }
  let total = wsum(s, lid);
  let inv = 1.0 / total;
  for (var j = lid; j < p.C; j += ${wg}u) { y[o + j] = y[o + j] * inv; }`;

const softmaxForwardWgsl = (wg: number) => /* wgsl */ `
${bindings([["x", "read"], ["y", "read_write"]], "nr: u32, C: u32, skip: u32")}
${reduce(wg)}
${row(wg)}
${softmaxBody(wg)}
}`;

const softmaxBackwardWgsl = (wg: number) => /* wgsl */ `
${bindings([["pr", "read"], ["dy", "read"], ["dx", "read_write"]], "nr: u32, C: u32, skip: u32")}
${workgroupReduce("wsum", "f32", "a + b", wg)}
${row(wg)}
  var d = 0.0;
  for (var j = lid; j < p.C; j += ${wg}u) { d += dy[o + j] * pr[o + j]; }
  let dot = wsum(d, lid);
  for (var j = lid; j < p.C; j += ${wg}u) { dx[o + j] = pr[o + j] * (dy[o + j] - dot); }
}`;

// probs = softmax(logits); rowLoss[r0 + r] = log Σ exp(x − max) − (x_t − max), or 0 for an ignored row
const ceForwardWgsl = (wg: number) => /* wgsl */ `
${
  bindings(
    [["x", "read"], ["targets", "read", "i32"], ["y", "read_write"], ["rowLoss", "read_write"]],
    "nr: u32, C: u32, skip: u32, r0: u32, ignore: i32",
  )
}
${reduce(wg)}
${row(wg)}
${softmaxBody(wg)}
  if (lid == 0u) {
    let t = targets[p.r0 + r];
    var loss = 0.0;
    if (t != p.ignore && t >= 0 && u32(t) < p.C) { loss = log(total) - (x[o + u32(t)] - mx); }
    rowLoss[p.r0 + r] = loss;
  }
}`;

// loss[0] = Σ rowLoss / count (0 when count is 0), summed in a fixed order by one workgroup
const CE_MEAN = /* wgsl */ `
${bindings([["rowLoss", "read"], ["loss", "read_write"]], "rows: u32, count: u32")}
${workgroupReduce("wsum", "f32", "a + b", MEAN_WG)}
@compute @workgroup_size(${MEAN_WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var r = lid; r < p.rows; r += ${MEAN_WG}u) { s += rowLoss[r]; }
  let total = wsum(s, lid);
  if (lid == 0u) { loss[0] = select(0.0, total / f32(p.count), p.count > 0u); }
}`;

// dx = scale · (probs − onehot(t)), 0 for an ignored row, scale = dloss[0] / count; in place when dx is probs
function ceBackwardWgsl(inPlace: boolean, wg: number): string {
  const arrays: Binding[] = inPlace
    ? [["dx", "read_write"], ["targets", "read", "i32"], ["dloss", "read"]]
    : [["pr", "read"], ["targets", "read", "i32"], ["dloss", "read"], ["dx", "read_write"]];
  return /* wgsl */ `
${bindings(arrays, "nr: u32, C: u32, skip: u32, r0: u32, ignore: i32, count: u32")}
${row(wg)}
  let t = targets[p.r0 + r];
  let scale = select(0.0, dloss[0] / f32(p.count), p.count > 0u && t != p.ignore);
  for (var j = lid; j < p.C; j += ${wg}u) {
    dx[o + j] = ${inPlace ? "dx" : "pr"}[o + j] * scale - select(0.0, scale, i32(j) == t);
  }
}`;
}

/** Records y[r,:] = softmax(x[r,:]) for `rows` rows of length `cols` (max-subtracted; y must not share x's buffer). */
export function softmaxForwardGpu(gpu: Gpu, x: GpuArray, out: GpuArray, rows: number, cols: number): void {
  const pipeline = gpu.pipeline(softmaxForwardWgsl(rowWorkgroup(cols)));
  forEachChunk(gpu, rows, cols, (c, view) => {
    gpu.dispatch(pipeline, [view(x), view(out)], grid(c.nr), gpu.params().u32(c.nr, cols, c.skip));
  });
}

/** Records dx[r,:] = p ⊙ (dy − ⟨dy, p⟩) for softmax output p (dx must not share a buffer with p or dy). */
export function softmaxBackwardGpu(
  gpu: Gpu,
  p: GpuArray,
  dy: GpuArray,
  dx: GpuArray,
  rows: number,
  cols: number,
): void {
  const pipeline = gpu.pipeline(softmaxBackwardWgsl(rowWorkgroup(cols)));
  forEachChunk(gpu, rows, cols, (c, view) => {
    gpu.dispatch(pipeline, [view(p), view(dy), view(dx)], grid(c.nr), gpu.params().u32(c.nr, cols, c.skip));
  });
}

/**
 * Records the fused softmax + cross-entropy of `rows` logit rows against `targets` (i32, one per row; a target
 * of `ignoreIndex` is skipped): probs = softmax(logits) (kept for the backward) and loss[0] = the mean of
 * −log p_target over the rows not ignored (0 when there are none). Where the js kernel returns
 * `{ loss, count }`, the loss is written into the one-element f32 array `loss` (the GPU value is never read
 * back here) and `count` is the caller's count of rows not ignored (countTargets, which also checks the
 * targets' range).
 */
export function crossEntropyForwardGpu(
  gpu: Gpu,
  logits: GpuArray,
  targets: GpuArray,
  probs: GpuArray,
  rows: number,
  cols: number,
  ignoreIndex: number,
  loss: GpuArray,
  count: number,
): void {
  const rowLoss = gpu.array(rows);
  const pipeline = gpu.pipeline(ceForwardWgsl(rowWorkgroup(cols)));
  forEachChunk(gpu, rows, cols, (c, view) => {
    const params = gpu.params().u32(c.nr, cols, c.skip, c.r0).i32(ignoreIndex);
    gpu.dispatch(pipeline, [view(logits), targets, view(probs), rowLoss], grid(c.nr), params);
  });
  gpu.dispatch(gpu.pipeline(CE_MEAN), [rowLoss, loss], [1], gpu.params().u32(rows, count));
  gpu.release(rowLoss);
}

/**
 * Records dlogits[r,:] = scale · (probs[r,:] − onehot(target)), zero for ignored rows, with scale = dloss[0] /
 * count (0 when count is 0): where the js kernel takes that scale as a number, the GPU reads the upstream
 * gradient of the mean loss from the one-element f32 array `dloss`. `dx` may be `probs` itself (written over, as
 * the CPU op does).
 */
export function crossEntropyBackwardGpu(
  gpu: Gpu,
  probs: GpuArray,
  targets: GpuArray,
  dx: GpuArray,
  rows: number,
  cols: number,
  ignoreIndex: number,
  dloss: GpuArray,
  count: number,
): void {
  const inPlace = probs.buffer === dx.buffer;
  if (inPlace && probs.byteOffset !== dx.byteOffset) {
    throw new Error("crossEntropyBackwardGpu: dx overlaps probs' buffer at another offset");
  }
  const pipeline = gpu.pipeline(ceBackwardWgsl(inPlace, rowWorkgroup(cols)));
  forEachChunk(gpu, rows, cols, (c, view) => {
    const params = gpu.params().u32(c.nr, cols, c.skip, c.r0).i32(ignoreIndex).u32(count);
    const arrays = inPlace ? [view(dx), targets, dloss] : [view(probs), targets, dloss, view(dx)];
    gpu.dispatch(pipeline, arrays, grid(c.nr), params);
  });
}
