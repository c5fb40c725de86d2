/**
 * Optimizer updates on the GPU, mirroring lib/kernels/optim.ts (same formulas, bias corrections and argument
 * order) in f32 arithmetic: {@link adamwUpdateGpu}, {@link sgdUpdateGpu}, {@link sgdMomentumUpdateGpu}. Each
 * updates `p` and its state in place over the elements [start, end) (a group's range of one flat buffer, as
 * FlatParams updates on the CPU); arrays larger than one binding are updated window by window.
 *
 * The optional `control` array is the step's guard state written on the GPU by lib/kernels/webgpu/reduce.ts
 * ({@link CONTROL} names its slots): when its non-finite flag is set the update writes nothing (the step is
 * skipped), else the gradient is multiplied by its coefficient (clip coefficient × 1 / loss scale) as it is read, so
 * clipping and unscaling cost no pass of their own; AdamW then bias-corrects by the steps applied (`step` minus
 * the skipped ones), computed on the GPU.
 *
 * Launch shape: 1-D, one invocation per element of the range, {@link WG} per workgroup, spread by `grid()`.
 *
 * @module
 */
import { dispatchWindows, part, type Piece, pieces } from "./chunks.ts";
import { CONTROL } from "./reduce.ts";
import type { Gpu, GpuArray, Params } from "./runtime.ts";
import { LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

/** Invocations per workgroup of the update kernels. */
export const WG = 256;

// The gradient as the update reads it: scaled by the control coefficient, or the kernel returns at once when the
// control flag is set.
const gradRead = (control: boolean, at: number) =>
  control ? `@group(0) @binding(${at}) var<storage, read> control: array<f32>;` : "";
const gradValue = (control: boolean) =>
  control
    ? `if (control[${CONTROL.flag}] != 0.0) { return; }\n  let gi = g[i] * control[${CONTROL.coef}];`
    : "let gi = g[i];";

// −expm1(x) = 1 − eˣ for x ≤ 0, accurate to a few f32 ulps: a Taylor polynomial near 0 (where 1 − exp(x) would
// cancel), exp beyond.
const ONE_MINUS_EXP = /* wgsl */ `
fn oneMinusExp(x: f32) -> f32 {
  if (x < -0.5) { return 1.0 - exp(x); }
  var s = 1.0;
  for (var k = 10.0; k >= 2.0; k = k - 1.0) { s = 1.0 + s * x / k; }
  return -x * s;
}`;

// AdamW's bias corrections: from the host (in double, as the js kernel) without control; with it, on the GPU from
// the applied step count t = step − control.skipped: lr / (1 − β1ᵗ) and 1 / √(1 − β2ᵗ), via ln β from the host.
const corrections = (control: boolean) =>
  control
    ? /* wgsl */ `
  let t = f32(u.step) - control[${CONTROL.skipped}];
  let stepSize = u.lr / oneMinusExp(t * u.lnBeta1);
  let invBc2Sqrt = 1.0 / sqrt(oneMinusExp(t * u.lnBeta2));`
    : /* wgsl */ `
  let stepSize = u.stepSize;
  let invBc2Sqrt = u.invBc2Sqrt;`;

const adamwSource = (control: boolean) => /* wgsl */ `
struct P { lo: u32, hi: u32, beta1: f32, beta2: f32, c1: f32, c2: f32, eps: f32, decay: f32, stepSize: f32,
  invBc2Sqrt: f32, lr: f32, lnBeta1: f32, lnBeta2: f32, step: u32 }
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${gradRead(control, 4)}
@group(0) @binding(${control ? 5 : 4}) var<uniform> u: P;
${control ? ONE_MINUS_EXP : ""}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }
  ${gradValue(control)}
  ${corrections(control)}
  let mi = u.beta1 * m[i] + u.c1 * gi;
  let vi = u.beta2 * v[i] + u.c2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * u.decay - stepSize * mi / (sqrt(vi) * invBc2Sqrt + u.eps);
}`;

const sgdSource = (control: boolean) => /* wgsl */ `
struct P { lo: u32, hi: u32, lr: f32, wd: f32 }
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
${gradRead(control, 2)}
@group(0) @binding(${control ? 3 : 2}) var<uniform> u: P;
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }
  ${gradValue(control)}
  p[i] = p[i] - u.lr * (gi + u.wd * p[i]);
}`;

const momentumSource = (control: boolean) => /* wgsl */ `
struct P { lo: u32, hi: u32, lr: f32, momentum: f32, wd: f32, nesterov: u32 }
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
${gradRead(control, 3)}
@group(0) @binding(${control ? 4 : 3}) var<uniform> u: P;
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }
  ${gradValue(control)}
  let d = gi + u.wd * p[i];
  let b = u.momentum * buf[i] + d;
  buf[i] = b;
  p[i] = p[i] - u.lr * select(b, d + u.momentum * b, u.nesterov != 0u);
}`;

const SOURCES = {
  adamw: [adamwSource(false), adamwSource(true)],
  sgd: [sgdSource(false), sgdSource(true)],
  momentum: [momentumSource(false), momentumSource(true)],
} as const;

// Records `source` over [start, end) of arrays `arrays` (all of p's length), window by window; `tail` appends the
// kernel's scalars after the window's range.
function launch(
  gpu: Gpu,
  kind: keyof typeof SOURCES,
  arrays: readonly GpuArray[],
  start: number,
  end: number,
  control: GpuArray | null,
  tail: (params: Params) => void,
): void {
  const n = arrays[0].length;
  for (const a of arrays) {
    if (a.length !== n) throw new Error(`${kind}UpdateGpu: arrays of ${a.length} and ${n} elements`);
  }
  const pipeline = gpu.pipeline(SOURCES[kind][control === null ? 0 : 1]);
  const bind = (piece: Piece) => {
    const bound = arrays.map((a) => part(a, piece));
    return control === null ? bound : [...bound, control];
  };
  dispatchWindows(gpu, pipeline, WG, pieces(gpu, n, start, end), bind, tail);
}

/**
 * One AdamW step (lib/kernels/optim.ts `adamwUpdate`: PyTorch's single-tensor AdamW, bias-corrected with the
 * 1-based `step`) of `p` with gradient `g` and moments `m`, `v` (all of one length), over the elements
 * [start, end); `control` as the module says (null: the gradient as it is).
 */
export function adamwUpdateGpu(
  gpu: Gpu,
  p: GpuArray,
  g: GpuArray,
  m: GpuArray,
  v: GpuArray,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
  start = 0,
  end: number = p.length,
  control: GpuArray | null = null,
): void {
  const decay = 1 - lr * weightDecay;
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const invBc2Sqrt = 1 / Math.sqrt(1 - Math.pow(beta2, step));
  launch(gpu, "adamw", [p, g, m, v], start, end, control, (params) => {
    params.f32(beta1, beta2, 1 - beta1, 1 - beta2, eps, decay, stepSize, invBc2Sqrt, lr);
    params.f32(Math.log(beta1), Math.log(beta2)).u32(step);
  });
}

/**
 * One plain SGD step (`sgdUpdate`: p ← p − lr·(g + wd·p)) over the elements [start, end); `control` as the
 * module says.
 */
export function sgdUpdateGpu(
  gpu: Gpu,
  p: GpuArray,
  g: GpuArray,
  lr: number,
  weightDecay: number,
  start = 0,
  end: number = p.length,
  control: GpuArray | null = null,
): void {
  launch(gpu, "sgd", [p, g], start, end, control, (params) => params.f32(lr, weightDecay));
}

/**
 * One SGD-with-momentum step (`sgdMomentumUpdate`: d ← g + wd·p; buf ← μ·buf + d; p ← p − lr·(nesterov ?
 * d + μ·buf : buf)) over the elements [start, end); `control` as the module says.
 */
export function sgdMomentumUpdateGpu(
  gpu: Gpu,
  p: GpuArray,
  g: GpuArray,
  buf: GpuArray,
  lr: number,
  momentum: number,
  weightDecay: number,
  nesterov: boolean,
  start = 0,
  end: number = p.length,
  control: GpuArray | null = null,
): void {
  launch(gpu, "momentum", [p, g, buf], start, end, control, (params) => {
    params.f32(lr, momentum, weightDecay).u32(nesterov ? 1 : 0);
  });
}
