/**
 * The step's guard on the GPU: per-tensor sums of squares of the gradients, the non-finite check, the global norm,
 * the clip coefficient and the fp16 loss scale, written into a small `control` array that the optimizer kernels
 * (lib/kernels/webgpu/optim.ts) read — so a bad step is never applied, and the host reads a few numbers one step
 * late instead of every gradient.
 *
 * Per step: {@link GradStats.record} (the sums and first non-finite element of each gradient), then
 * {@link guardGpu} (their fixed-order total, the flag, the coefficient, the loss scale's update: PyTorch's
 * `clip_grad_norm_` as lib/optim/clip.ts computes it, and GradScaler's rule as lib/train/precision.ts applies it),
 * then the updates with `control`. Every reduction runs in a fixed order: two runs give the same bits.
 *
 * @module
 */
import { part, type Piece, pieces } from "./chunks.ts";
import { type Gpu, GpuArray, grid } from "./runtime.ts";
import { LINEAR_ARGS, LINEAR_WG, NON_FINITE, workgroupReduce } from "./wgsl.ts";

/**
 * The slots of the `control` array ({@link CONTROL_LENGTH} f32 values, made by {@link controlArray}):
 * - `coef`: what the update multiplies each gradient by: the clip coefficient × 1 / the loss scale in force;
 * - `flag`: 1 when a gradient held a NaN or ±Inf (the update then changes nothing), else 0;
 * - `bad`: the index (in the order given to {@link GradStats}) of the first gradient with a NaN/Inf, else −1;
 * - `norm`: the global L2 norm of the unscaled gradients before clipping (NaN on a flagged step);
 * - `scale`: the loss scale (fp16; 1 without scaling): the next backward pass seeds its gradient with it;
 * - `goodSteps`: steps since the scale last changed (LossScaleState.goodSteps);
 * - `fatal`: 1 when a flagged step could not be skipped (no dynamic scaling, or the scale at its minimum): the
 *   trainer throws, as the CPU path does at once;
 * - `clip`: the clip coefficient alone (1 when not clipped);
 * - `skipped`: flagged steps so far (their updates were never applied): AdamW's bias correction given `control`
 *   uses step − skipped, the count of steps applied, as the CPU path counts (a skipped step never calls the
 *   optimizer).
 */
export const CONTROL = {
  coef: 0,
  flag: 1,
  bad: 2,
  norm: 3,
  scale: 4,
  goodSteps: 5,
  fatal: 6,
  clip: 7,
  skipped: 8,
} as const;

/** Elements of a `control` array. */
export const CONTROL_LENGTH = 9;

/** No non-finite element (in {@link GradStats.record}'s `bad` output). */
export const NONE = 0xffffffff;

/** Invocations per workgroup of the reduction kernels. */
export const WG = 256;
/** Elements one workgroup of the first pass sums (each invocation strides over {@link PER} of them). */
const PER = 8;
const BLOCK = WG * PER;

/**
 * A new persistent control array at rest: coefficient 1, no flag, loss scale `lossScale` (a restored
 * LossScaleState's scale and goodSteps when resuming), no step skipped.
 */
export function controlArray(gpu: Gpu, lossScale = 1, goodSteps = 0): GpuArray {
  const values = new Float32Array(CONTROL_LENGTH);
  values.set([1, 0, -1, 0, lossScale, goodSteps, 0, 1, 0]);
  const a = gpu.array(CONTROL_LENGTH, "f32", true);
  gpu.write(a, values);
  return a;
}

// The workgroup's fixed-order reduction of (sum of squares, first non-finite index, its bits): sums add, the smaller
// index wins with its bits. `reduce(Acc(acc, idx, bits), lid)` gives every invocation the workgroup's result.
const REDUCE = /* wgsl */ `
struct Acc { s: f32, i: u32, b: u32 }
${workgroupReduce("reduce", "Acc", "Acc(a.s + b.s, min(a.i, b.i), select(a.b, b.b, b.i < a.i))", WG)}`;

// Pass 1, one workgroup per block: block slot = first + workgroup adds the squares of elements [lo, hi) of the bound
// array (table[3·slot], table[3·slot + 1]; at most BLOCK) and finds its first non-finite one (its index in its
// tensor: base + i, mod 2³², base = table[3·slot + 2]), into partial slot `slot`.
const PARTIALS = /* wgsl */ `
struct P { first: u32, count: u32 }
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read_write> psum: array<f32>;
@group(0) @binding(3) var<storage, read_write> pbad: array<u32>;
@group(0) @binding(4) var<uniform> u: P;
${REDUCE}
${NON_FINITE}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let w = ${LINEAR_WG};
  if (w >= u.count) { return; }
  let slot = u.first + w;
  let lo = table[3u * slot];
  let hi = table[3u * slot + 1u];
  let base = table[3u * slot + 2u];
  var acc = 0.0;
  var idx = ${NONE}u;
  var bits = 0u;
  for (var k = 0u; k < ${PER}u; k++) {
    let i = lo + k * ${WG}u + lid;
    if (i < hi) {
      let x = g[i];
      acc = acc + x * x;
      if (idx == ${NONE}u && nonFinite(x)) {
        idx = base + i;
        bits = bitcast<u32>(x);
      }
    }
  }
  let r = reduce(Acc(acc, idx, bits), lid);
  if (lid == 0u) {
    psum[slot] = r.s;
    pbad[2u * slot] = r.i;
    pbad[2u * slot + 1u] = r.b;
  }
}`;

// Pass 2, one workgroup per tensor t: its partials [offs[t], offs[t + 1]) in order into sums[t] and bad[2t, 2t+1].
const TOTALS = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read> psum: array<f32>;
@group(0) @binding(1) var<storage, read> pbad: array<u32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
@group(0) @binding(4) var<storage, read_write> bad: array<u32>;
@group(0) @binding(5) var<uniform> u: P;
${REDUCE}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let t = ${LINEAR_WG};
  if (t >= u.n) { return; }
  var acc = 0.0;
  var idx = ${NONE}u;
  var bits = 0u;
  for (var k = offs[t] + lid; k < offs[t + 1u]; k += ${WG}u) {
    acc = acc + psum[k];
    if (pbad[2u * k] < idx) {
      idx = pbad[2u * k];
      bits = pbad[2u * k + 1u];
    }
  }
  let r = reduce(Acc(acc, idx, bits), lid);
  if (lid == 0u) {
    sums[t] = r.s;
    bad[2u * t] = r.i;
    bad[2u * t + 1u] = r.b;
  }
}`;

// One pass-1 dispatch: blocks [first, first + count) over window `piece` of gradient `tensor` (−1: the flat array).
interface Launch {
  readonly tensor: number;
  readonly piece: Piece;
  readonly first: number;
  readonly count: number;
}

/**
 * Sums of squares and non-finite checks of a fixed list of gradients (their lengths given once): separate arrays,
 * or one flat array holding them one after another (`flat`: as FlatParams lays a group out), with the scratch it
 * needs kept between steps (persistent arrays: {@link GradStats.release} gives them back).
 *
 * Launch shape: blocks of up to 2,048 elements that never straddle two gradients, one workgroup of {@link WG}
 * each writing a partial — one dispatch per gradient and binding window, or per window of the flat array — then one
 * workgroup per gradient adding its partials in order.
 */
export class GradStats {
  readonly #gpu: Gpu;
  readonly #lengths: readonly number[];
  readonly #flat: boolean;
  readonly #launches: Launch[] = [];
  readonly #table: GpuArray;
  readonly #psum: GpuArray;
  readonly #pbad: GpuArray;
  readonly #offs: GpuArray;

  /**
   * Prepares for gradients of `lengths` elements, in this order (the order `bad` indices refer to): separate
   * arrays, or with `flat` one array of their total length.
   */
  constructor(gpu: Gpu, lengths: readonly number[], flat = false) {
    this.#gpu = gpu;
    this.#lengths = [...lengths];
    this.#flat = flat;
    const table: number[] = [];
    const blocks = lengths.map(() => 0);
    // blocks of gradient t's elements [lo, hi) of window `piece`, whose element base + i is the gradient's (base + i)
    const add = (t: number, lo: number, hi: number, base: number) => {
      for (let b = lo; b < hi; b += BLOCK) table.push(b, Math.min(hi, b + BLOCK), base >>> 0);
      blocks[t] += Math.ceil((hi - lo) / BLOCK);
    };
    if (flat) {
      const starts = lengths.map((_, t) => lengths.slice(0, t).reduce((a, b) => a + b, 0));
      const total = lengths.reduce((a, b) => a + b, 0);
      for (const piece of pieces(gpu, total)) {
        const first = table.length / 3, end = piece.base + piece.size;
        lengths.forEach((n, t) => {
          const lo = Math.max(starts[t], piece.base), hi = Math.min(starts[t] + n, end);
          if (lo < hi) add(t, lo - piece.base, hi - piece.base, piece.base - starts[t]);
        });
        this.#launches.push({ tensor: -1, piece, first, count: table.length / 3 - first });
      }
    } else {
      lengths.forEach((n, t) => {
        for (const piece of pieces(gpu, n)) {
          const first = table.length / 3;
          add(t, piece.lo, piece.hi, piece.base);
          this.#launches.push({ tensor: t, piece, first, count: table.length / 3 - first });
        }
      });
    }
    const partials = Math.max(1, table.length / 3);
    this.#table = gpu.upload(Uint32Array.from(table.length > 0 ? table : [0]), true);
    this.#psum = gpu.array(partials, "f32", true);
    this.#pbad = gpu.array(2 * partials, "u32", true);
    const offs = [0];
    for (const b of blocks) offs.push(offs[offs.length - 1] + b);
    this.#offs = gpu.upload(Uint32Array.from(offs), true);
  }

  /**
   * Records, for each gradient t (`grads[t]`, or the t-th part of the flat array `grads`), `sums[t]` = Σ g² (f32,
   * fixed order; of the values as they are, e.g. loss-scaled) and, in `bad` (a u32 array of 2 per gradient), the
   * index in it of its first NaN/±Inf element ({@link NONE} if none) and that value's f32 bits.
   */
  record(grads: readonly GpuArray[] | GpuArray, sums: GpuArray, bad: GpuArray): void {
    const gpu = this.#gpu;
    const arrays = grads instanceof GpuArray ? [grads] : grads;
    const want = this.#flat ? [this.#lengths.reduce((a, b) => a + b, 0)] : this.#lengths;
    if (arrays.length !== want.length || arrays.some((g, t) => g.length !== want[t])) {
      throw new Error(
        `GradStats.record: gradients of [${arrays.map((g) => g.length)}] elements, prepared for [${want}]`,
      );
    }
    const pass1 = gpu.pipeline(PARTIALS);
    for (const { tensor, piece, first, count } of this.#launches) {
      const g = part(arrays[Math.max(0, tensor)], piece);
      const params = gpu.params().u32(first, count);
      gpu.dispatch(pass1, [g, this.#table, this.#psum, this.#pbad], grid(count), params);
    }
    const n = this.#lengths.length;
    gpu.dispatch(
      gpu.pipeline(TOTALS),
      [this.#psum, this.#pbad, this.#offs, sums, bad],
      grid(n),
      gpu.params().u32(n),
    );
  }

  /** Gives the scratch arrays back to the pool. */
  release(): void {
    for (const a of [this.#table, this.#psum, this.#pbad, this.#offs]) this.#gpu.release(a);
  }
}

// One workgroup: the fixed-order total of sums[0..n), the first flagged tensor, and the control update (thread 0).
const GUARD = /* wgsl */ `
struct P { n: u32, maxNorm: f32, dynamic: u32, growthInterval: f32, minScale: f32, nan: u32 }
@group(0) @binding(0) var<storage, read> sums: array<f32>;
@group(0) @binding(1) var<storage, read> bad: array<u32>;
@group(0) @binding(2) var<storage, read_write> control: array<f32>;
@group(0) @binding(3) var<uniform> u: P;
${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  var idx = ${NONE}u;
  for (var t = lid; t < u.n; t += ${WG}u) {
    acc = acc + sums[t];
    if (idx == ${NONE}u && bad[2u * t] != ${NONE}u) { idx = t; }
  }
  let r = reduce(Acc(acc, idx, 0u), lid);
  if (lid != 0u) { return; }
  let scale = control[${CONTROL.scale}];
  if (r.i != ${NONE}u) {
    control[${CONTROL.flag}] = 1.0;
    control[${CONTROL.bad}] = f32(r.i);
    control[${CONTROL.norm}] = bitcast<f32>(u.nan); // a NaN from a run-time value: Tint refuses a constant one
    control[${CONTROL.coef}] = 0.0;
    control[${CONTROL.clip}] = 1.0;
    control[${CONTROL.skipped}] = control[${CONTROL.skipped}] + 1.0;
    if (u.dynamic != 0u && scale / 2.0 >= u.minScale) {
      control[${CONTROL.scale}] = scale / 2.0;
      control[${CONTROL.goodSteps}] = 0.0;
      control[${CONTROL.fatal}] = 0.0;
    } else {
      control[${CONTROL.fatal}] = 1.0;
    }
    return;
  }
  let unscale = 1.0 / scale;
  let norm = sqrt(r.s) * unscale;
  var clip = 1.0;
  if (u.maxNorm > 0.0) {
    let c = u.maxNorm / (norm + 1e-6);
    if (c < 1.0) { clip = c; }
  }
  control[${CONTROL.flag}] = 0.0;
  control[${CONTROL.bad}] = -1.0;
  control[${CONTROL.norm}] = norm;
  control[${CONTROL.clip}] = clip;
  control[${CONTROL.coef}] = clip * unscale;
  control[${CONTROL.fatal}] = 0.0;
  if (u.dynamic != 0u) {
    let good = control[${CONTROL.goodSteps}] + 1.0;
    if (good >= u.growthInterval) {
      control[${CONTROL.scale}] = scale * 2.0;
      control[${CONTROL.goodSteps}] = 0.0;
    } else {
      control[${CONTROL.goodSteps}] = good;
    }
  }
}`;

/** Options of {@link guardGpu}. */
export interface GuardOptions {
  /** Clip to this global norm (PyTorch's `clip_grad_norm_`); 0: no clipping (default). */
  readonly maxNorm?: number;
  /** fp16's dynamic loss scaling (MixedPrecision's rule); false: the scale stays (default). */
  readonly dynamic?: boolean;
  /** Double the scale after this many good steps in a row (default 2000). */
  readonly growthInterval?: number;
  /** The scale never goes below this; an overflow at it is fatal (default 2⁻¹⁴). */
  readonly minScale?: number;
}

/**
 * Records the guard of one step from {@link GradStats.record}'s `sums` and `bad` over `n` gradients into
 * `control` ({@link CONTROL}): the flag and the first bad gradient; otherwise the norm of the unscaled gradients
 * √(Σ sums) / scale, the clip coefficient maxNorm / (norm + 1e-6) when below 1 (lib/optim/clip.ts), the
 * coefficient × 1 / scale for the update, and the loss scale's update (lib/train/precision.ts: a flagged step
 * halves it while it stays ≥ minScale, else is fatal; a good step counts, and doubles it after growthInterval).
 *
 * Launch shape: one workgroup of {@link WG}.
 */
export function guardGpu(
  gpu: Gpu,
  sums: GpuArray,
  bad: GpuArray,
  n: number,
  control: GpuArray,
  options: GuardOptions = {},
): void {
  const maxNorm = options.maxNorm ?? 0;
  if (!(maxNorm >= 0)) throw new Error(`guardGpu: maxNorm must be ≥ 0, got ${maxNorm}`);
  const params = gpu.params()
    .u32(n)
    .f32(maxNorm)
    .u32(options.dynamic === true ? 1 : 0)
    .f32(options.growthInterval ?? 2000, options.minScale ?? 2 ** -14)
    .u32(0x7fc00000);
  gpu.dispatch(gpu.pipeline(GUARD), [sums, bad, control], [1], params);
}
