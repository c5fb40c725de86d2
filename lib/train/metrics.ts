/**
 * The lines the training loop writes to `metrics.jsonl`, and the measurements of an update they carry: the
 * update/weight ratio and effective learning rate of each layer group, and on detail steps each tensor's
 * gradient norm, weight norm and update ratio beside each block's activation statistics.
 *
 * @module
 */
import { layerGroup, type NamedParam } from "../optim/param.ts";
import type { ActivationProbe, BlockStats } from "../nn/probe.ts";
import type { StepNorms } from "../tensor/gpu/meter.ts";

/** One line of `metrics.jsonl`. */
export type MetricEvent =
  | {
    step: number;
    split: "train";
    loss: number;
    lr: number;
    grad_norm: number;
    tokens_per_s: number;
    elapsed_s: number;
    /** ‖Δθ‖ / ‖θ‖ of this step's update per layer group (`embed`, `h.<i>`, `head`). */
    update_ratio?: Record<string, number>;
    /** With layer-wise learning rates: the effective rate of each layer group at this step. */
    layer_lr?: Record<string, number>;
    /** Resident memory of the process (MiB) when the line was logged. */
    rss_mb?: number;
    /** fp16: the loss scale after this step. */
    loss_scale?: number;
    /** fp16: steps skipped since the last train line because a gradient overflowed (their updates were dropped). */
    skipped_steps?: number;
  }
  | {
    step: number;
    split: "val";
    loss: number;
    ppl: number;
    elapsed_s: number;
    /** The family's own validation figures (e.g. bert's `masked_accuracy`), after the fields above. */
    [metric: string]: number | string;
  }
  | { step: number; split: "resume"; elapsed_s: number }
  | {
    step: number;
    split: "detail";
    /** Per parameter tensor (model order): gradient norm (before clipping), weight norm, ‖Δθ‖ / ‖θ‖ of the step. */
    params: { name: string; grad_norm: number; weight_norm: number; update_ratio: number }[];
    /** Per block (forward order) on the step's first micro-batch: output mean and std, dead GELU share. */
    blocks: BlockStats[];
  };

/** A copy of every parameter's weights (taken before an update to measure it). */
export function copyWeights(params: readonly NamedParam[]): ArrayLike<number>[] {
  return params.map((p) => p.tensor.readSync().slice());
}

/**
 * The `detail` line of a step: per tensor, the gradient norm before clipping (`gradNorms`), the weight norm and
 * ‖θ − θ_before‖ / ‖θ_before‖; per block, what the probe saw. Figures have 4 significant digits.
 */
export function detailEvent(
  step: number,
  params: readonly NamedParam[],
  before: readonly ArrayLike<number>[],
  gradNorms: readonly number[],
  probe: ActivationProbe,
): MetricEvent {
  return {
    step,
    split: "detail",
    params: params.map((p, i) =>
      paramDetail(
        p.name,
        gradNorms[i],
        l2(p.tensor.readSync()),
        l2(before[i]),
        l2diff(p.tensor.readSync(), before[i]),
      )
    ),
    blocks: probe.blocks.map((b) => ({
      mean: sig4(b.mean),
      std: sig4(b.std),
      dead_gelu: b.dead_gelu === null ? null : sig4(b.dead_gelu),
    })),
  };
}

/**
 * {@link detailEvent} of a step on the GPU, from the per-tensor squared norms measured there (lib/tensor/gpu/meter.ts;
 * `norms.grad` present). No block statistics: the activation probe is not on the GPU yet.
 */
export function detailEventFromNorms(
  step: number,
  params: readonly NamedParam[],
  norms: StepNorms,
): MetricEvent {
  const grad = norms.grad ?? new Float32Array(params.length);
  return {
    step,
    split: "detail",
    params: params.map((p, i) =>
      paramDetail(
        p.name,
        Math.sqrt(grad[i]),
        Math.sqrt(norms.after[i]),
        Math.sqrt(norms.before[i]),
        Math.sqrt(norms.diff[i]),
      )
    ),
    blocks: [],
  };
}

// One tensor's entry of a detail line from its norms: gradient, weights after and before, update.
function paramDetail(name: string, grad: number, weight: number, before: number, diff: number) {
  return {
    name,
    grad_norm: sig4(grad),
    weight_norm: sig4(weight),
    update_ratio: before > 0 ? sig4(diff / before) : 0,
  };
}

/** ‖θ − θ_before‖ / ‖θ_before‖ per layer group (see `layerGroup`), rounded to 4 significant digits. */
export function updateRatios(
  params: readonly NamedParam[],
  before: readonly ArrayLike<number>[],
): Record<string, number> {
  const sums = new Map<string, { d: number; w: number }>();
  params.forEach((p, i) => {
    const g = layerGroup(p.name);
    const acc = sums.get(g) ?? { d: 0, w: 0 };
    const now = p.tensor.readSync(), old = before[i];
    for (let j = 0; j < now.length; j++) {
      const diff = now[j] - old[j];
      acc.d += diff * diff;
      acc.w += old[j] * old[j];
    }
    sums.set(g, acc);
  });
  return groupRatios(sums);
}

/** {@link updateRatios} of a step on the GPU, from the per-tensor squared norms measured there. */
export function updateRatiosFromNorms(
  params: readonly NamedParam[],
  norms: StepNorms,
): Record<string, number> {
  const sums = new Map<string, { d: number; w: number }>();
  params.forEach((p, i) => {
    const g = layerGroup(p.name);
    const acc = sums.get(g) ?? { d: 0, w: 0 };
    acc.d += norms.diff[i];
    acc.w += norms.before[i];
    sums.set(g, acc);
  });
  return groupRatios(sums);
}

// √(d / w) per layer group, to 4 significant digits (0 for a group of zero weights).
function groupRatios(sums: Map<string, { d: number; w: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [g, { d, w }] of sums) out[g] = w > 0 ? Number(Math.sqrt(d / w).toPrecision(4)) : 0;
  return out;
}

/** The effective learning rate of each layer group (the scale of its first tensor: a group shares one depth). */
export function layerRates(
  params: readonly NamedParam[],
  scale: (p: NamedParam) => number,
  lr: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of params) out[layerGroup(p.name)] ??= Number((lr * scale(p)).toPrecision(4));
  return out;
}

/** √(Σ a²). */
export function l2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function l2diff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function sig4(x: number): number {
  return Number(x.toPrecision(4));
}

/** Rounded to 3 decimals (the seconds of a line). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
