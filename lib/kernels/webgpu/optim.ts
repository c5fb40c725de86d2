/**
 * Optimizer updates on the GPU, mirroring lib/kernels/optim.ts (same formulas, bias corrections and argument
 * order) in f32 arithmetic: {@link adamwUpdateGpu}, {@link sgdUpdateGpu}, {@link sgdMomentumUpdateGpu}. Each
 * updates `p` and its state in place over the elements [start, end) (a group's range of one flat buffer, as
 * FlatParams updates on the CPU); arrays larger than one binding are updated window by window.
 *
 * The optional `control` array is the step's guard state written on the GPU by lib/kernels/webgpu/reduce.ts
 * (`CONTROL` there names its slots): when its non-finite flag (element 1) is set the update writes nothing (the
 * step is skipped), else the gradient is multiplied by element 0 (clip coefficient × 1 / loss scale) as it is
 * read, so clipping and unscaling cost no pass of their own.
 *
 * Launch shape: 1-D, one invocation per element of the range, {@link WG} per workgroup, spread by `grid()`.
 *
 * @module
 */
import { dispatchWindows, part, type Piece, pieces } from "./chunks.ts";
import type { Gpu, GpuArray, Params } from "./runtime.ts";
import { LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

/** Invocations per workgroup of the update kernels. */
export const WG = 256;

// The gradient as the update reads it: scaled by control[0], or the kernel returns at once when control[1] is set.
const gradRead = (control: boolean, at: number) =>
  control ? `@group(0) @binding(${at}) var<storage, read> control: array<f32>;` : "";
const gradValue = (control: boolean) =>
  control ? "if (control[1] != 0.0) { return; }\n  let gi = g[i] * control[0];" : "let gi = g[i];";

const adamwSource = (control: boolean) => /* wgsl */ `
struct P { lo: u32, hi: u32, beta1: f32, beta2: f32, c1: f32, c2: f32, eps: f32, decay: f32, stepSize: f32,
  invBc2Sqrt: f32 }
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${gradRead(control, 4)}
@group(0) @binding(${control ? 5 : 4}) var<uniform> u: P;
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }
  ${gradValue(control)}
  let mi = u.beta1 * m[i] + u.c1 * gi;
  let vi = u.beta2 * v[i] + u.c2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * u.decay - u.stepSize * mi / (sqrt(vi) * u.invBc2Sqrt + u.eps);
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
    params.f32(beta1, beta2, 1 - beta1, 1 - beta2, eps, decay, stepSize, invBc2Sqrt);
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
