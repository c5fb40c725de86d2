/**
 * Embedding gather and its deterministic backward on the GPU, mirroring the `embedding` op of
 * lib/tensor/ops/nn.ts: out[i,:] = weight[ids[i],:]; the gradient of each table row is the sum of the gradient
 * rows of the positions holding its id, in position order, computed without atomics from a plan made on the CPU
 * ({@link embeddingPlan}: the positions grouped by id). A table larger than one binding (GPT-2's 50,257 × 768) is
 * recorded as several dispatches over chunks of whole table rows (split.ts).
 *
 * Launch shapes: one invocation per element written (n·C for the gather, V·C for the gradient), 256 per
 * workgroup over a 1-D grid. Two runs give the same bits.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { forEachChunk } from "./split.ts";
import { bindings, linearMain } from "./wgsl.ts";

/** Invocations per workgroup. */
const WG = 256;

const INDEX = linearMain(WG);

// out[i·C + j] = w[ids[i]·C + j] for the ids in this chunk of table rows [v0, v0 + nv)
const FORWARD = /* wgsl */ `
${
  bindings(
    [["ids", "read", "i32"], ["w", "read"], ["out", "read_write"]],
    "n: u32, C: u32, v0: u32, nv: u32, skip: u32",
  )
}
${INDEX}
  if (e >= p.n * p.C) { return; }
  let i = e / p.C;
  let v = u32(ids[i]) - p.v0; // wraps to a large number below v0
  if (v < p.nv) { out[e] = w[p.skip + v * p.C + (e - i * p.C)]; }
}`;

// gw[v·C + j] = Σ_{k = starts[v]} ^{starts[v+1]−1} g[order[k]·C + j], for v in this chunk of table rows
const BACKWARD = /* wgsl */ `
${
  bindings(
    [["g", "read"], ["order", "read", "i32"], ["starts", "read", "i32"], ["gw", "read_write"]],
    "C: u32, v0: u32, nv: u32, skip: u32",
  )
}
${INDEX}
  if (e >= p.nv * p.C) { return; }
  let r = e / p.C;
  let j = e - r * p.C;
  let v = p.v0 + r;
  var s = 0.0;
  for (var k = starts[v]; k < starts[v + 1u]; k++) { s += g[u32(order[k]) * p.C + j]; }
  gw[p.skip + e] = s;
}`;

/** The positions of an id batch grouped by id (CSR): what {@link embeddingBackwardGpu} reads. */
export interface EmbeddingPlan {
  /** Positions, grouped by id in increasing id order, each group in position order. */
  readonly order: Int32Array;
  /** `order[starts[v] … starts[v + 1] − 1]` are the positions holding id v (V + 1 entries). */
  readonly starts: Int32Array;
}

/** Groups the positions of `ids` by id for a table of V rows (a counting sort); throws on an id outside [0, V). */
export function embeddingPlan(ids: Int32Array, V: number): EmbeddingPlan {
  const starts = new Int32Array(V + 1);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < V)) {
      throw new Error(`embedding: id ${id} at position ${i} is outside the table of ${V} rows`);
    }
    starts[id + 1]++;
  }
  for (let v = 0; v < V; v++) starts[v + 1] += starts[v];
  const next = starts.slice(0, V), order = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) order[next[ids[i]]++] = i;
  return { order, starts };
}

/**
 * Records out[i,:] = weight[ids[i],:] for the n ids (i32, each in [0, V), V = weight.length / C; checked by the
 * caller, as the CPU op does) into out (n·C, f32).
 */
export function embeddingForwardGpu(
  gpu: Gpu,
  ids: GpuArray,
  weight: GpuArray,
  out: GpuArray,
  n: number,
  C: number,
): void {
  const V = weight.length / C, pipeline = gpu.pipeline(FORWARD);
  if (!Number.isInteger(V)) {
    throw new Error(`embeddingForwardGpu: a table of ${weight.length} is not rows of ${C}`);
  }
  forEachChunk(gpu, V, C, (c, view) => {
    const params = gpu.params().u32(n, C, c.r0, c.nr, c.skip);
    gpu.dispatch(pipeline, [ids, view(weight), out], grid(Math.ceil((n * C) / WG)), params);
  });
}

/**
 * Records the table gradient gw (V·C, f32, overwritten: rows of ids that do not occur get 0) from the output
 * gradient g (n·C): each row the sum of its positions' gradient rows in position order, as the CPU op adds them.
 * `order` and `starts` are {@link embeddingPlan}'s arrays uploaded as i32.
 */
export function embeddingBackwardGpu(
  gpu: Gpu,
  g: GpuArray,
  order: GpuArray,
  starts: GpuArray,
  gw: GpuArray,
  V: number,
  C: number,
): void {
  const pipeline = gpu.pipeline(BACKWARD);
  forEachChunk(gpu, V, C, (c, view) => {
    const params = gpu.params().u32(C, c.r0, c.nr, c.skip);
    gpu.dispatch(pipeline, [g, order, starts, view(gw)], grid(Math.ceil((c.nr * C) / WG)), params);
  });
}
