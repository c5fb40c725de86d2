/**
 * Named parameters, weight-decay groups and the interface every optimizer implements.
 *
 * Parameter names follow nanoGPT (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`,
 * `lm_head.weight`). With tied weights the same {@link Tensor} appears under two names; optimizers, clipping and
 * the decay split all work on unique tensors, each known by the first name it appears under.
 *
 * @module
 */
import type { GpuArray } from "../kernels/webgpu/runtime.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** A parameter tensor with its (nanoGPT-style) name. */
export interface NamedParam {
  /** Dotted parameter name, e.g. `transformer.h.0.mlp.c_fc.weight`. */
  name: string;
  /** The parameter itself; its `grad` is read by optimizers and clipping. */
  tensor: Tensor;
}

/**
 * A serialisable optimizer state: the step count and named state arrays (always Float32Array copies, so they
 * can go straight into a safetensors file).
 */
export interface OptimizerState {
  /** Number of `step()` calls made so far. */
  step: number;
  /** State arrays by name, e.g. `exp_avg.<param name>`. */
  tensors: Record<string, Float32Array>;
}

/** What the trainer needs from an optimizer. */
export interface Optimizer {
  /**
   * Updates every parameter that has a gradient; `lr` overrides the base learning rate for this step. On the GPU,
   * `control` is the step's guard (GpuGuard.control, lib/optim/gpu.ts) the update kernels read.
   */
  step(lr?: number, control?: GpuArray): void;
  /** Sets every parameter's gradient to null. */
  zeroGrad(): void;
  /** Number of `step()` calls made so far. */
  readonly stepCount: number;
  /** A copy of the optimizer state (host memory only: on the GPU, {@link Optimizer.stateDictAsync}). */
  stateDict(): OptimizerState;
  /** A copy of the optimizer state on any device (state on the GPU is read back). */
  stateDictAsync(): Promise<OptimizerState>;
  /** Restores a state from {@link Optimizer.stateDict}; throws (changing nothing) if it does not fit. */
  loadStateDict(s: OptimizerState): void;
  /** The per-parameter learning-rate multiplier (layer-wise rates), when the optimizer has one. */
  readonly lrScale?: (p: NamedParam) => number;
}

/** Name suffixes that mark an embedding table by default (nanoGPT: token and position embeddings). */
export const DEFAULT_EMBEDDING_SUFFIXES: readonly string[] = ["wte.weight", "wpe.weight"];

/**
 * Removes repeated tensors (tied weights), keeping the first name each tensor appears under, in order.
 * Throws if one name is given to two different tensors.
 */
export function uniqueParams(params: readonly NamedParam[]): NamedParam[] {
  const seen = new Set<Tensor>();
  const byName = new Map<string, Tensor>();
  const out: NamedParam[] = [];
  for (const p of params) {
    const other = byName.get(p.name);
    if (other !== undefined && other !== p.tensor) {
      throw new Error(`parameters: the name "${p.name}" is used by two different tensors`);
    }
    byName.set(p.name, p.tensor);
    if (seen.has(p.tensor)) continue;
    seen.add(p.tensor);
    out.push(p);
  }
  return out;
}

/** Options for {@link splitDecayGroups}. */
export interface DecayOptions {
  /**
   * Name suffixes that mark an embedding (matched at a `.` boundary or as the whole name). Default
   * {@link DEFAULT_EMBEDDING_SUFFIXES}.
   */
  embeddingSuffixes?: readonly string[];
  /** Replaces the default rule: called once per unique tensor (with its first name); true means decay. */
  decay?: (p: NamedParam) => boolean;
}

/** The two weight-decay groups, each in first-appearance order, each tensor once. */
export interface DecayGroups {
  /** Parameters that get weight decay. */
  decay: NamedParam[];
  /** Parameters that get none. */
  noDecay: NamedParam[];
}

function hasSuffix(name: string, suffix: string): boolean {
  return name === suffix || name.endsWith("." + suffix);
}

/**
 * Splits parameters into weight-decay groups. Default rule (nanoGPT's): decay every tensor with ndim >= 2 that
 * is not an embedding; biases, norm weights (1-D) and embeddings get none. A tensor is an embedding if any of its
 * names matches an embedding suffix, so a tied `lm_head.weight` / `transformer.wte.weight` is never decayed,
 * whichever name comes first. Tied tensors appear once, under their first name.
 */
export function splitDecayGroups(params: readonly NamedParam[], opts: DecayOptions = {}): DecayGroups {
  const suffixes = opts.embeddingSuffixes ?? DEFAULT_EMBEDDING_SUFFIXES;
  const embeddings = new Set<Tensor>();
  for (const p of params) {
    if (suffixes.some((s) => hasSuffix(p.name, s))) embeddings.add(p.tensor);
  }
  const groups: DecayGroups = { decay: [], noDecay: [] };
  for (const p of uniqueParams(params)) {
    const d = opts.decay ? opts.decay(p) : p.tensor.ndim >= 2 && !embeddings.has(p.tensor);
    (d ? groups.decay : groups.noDecay).push(p);
  }
  return groups;
}

/**
 * Checks a state dict against the arrays an optimizer expects (`expected`: name → length; `optional` names may be
 * absent) and throws one error listing every missing, mis-sized or unknown entry. Shared by the optimizers.
 */
export function checkStateDict(
  owner: string,
  s: OptimizerState,
  expected: ReadonlyMap<string, number>,
  optional: (name: string) => boolean = () => false,
): void {
  const problems: string[] = [];
  if (!Number.isInteger(s.step) || s.step < 0) {
    problems.push(`step must be a non-negative integer, got ${s.step}`);
  }
  for (const [name, n] of expected) {
    const a = s.tensors[name];
    if (a === undefined) {
      if (!optional(name)) problems.push(`missing "${name}"`);
    } else if (!(a instanceof Float32Array)) {
      problems.push(`"${name}" is not a Float32Array`);
    } else if (a.length !== n) {
      problems.push(`"${name}" has ${a.length} elements, expected ${n}`);
    }
  }
  for (const name of Object.keys(s.tensors)) {
    if (!expected.has(name)) problems.push(`unknown entry "${name}"`);
  }
  if (problems.length > 0) throw new Error(`${owner}.loadStateDict: ${problems.join("; ")}`);
}

/**
 * The depth of a nanoGPT-named parameter for layer-wise learning rates: 0 for the embeddings (`wte`, `wpe`),
 * i + 1 for block i (`transformer.h.i.*`), nLayer + 1 for everything after the blocks (`ln_f`, `lm_head`).
 */
export function layerDepth(name: string, nLayer: number): number {
  const m = /(?:^|\.)h\.(\d+)\./.exec(name);
  if (m !== null) return Number(m[1]) + 1;
  return /(?:^|\.)(wte|wpe)\./.test(name) ? 0 : nLayer + 1;
}

/**
 * Layer-wise learning-rate decay (as in ELECTRA and BEiT): the layers after the blocks get the full rate and each
 * layer below gets `decay` times the one above, so parameter p's rate is lr · decay^(nLayer + 1 − depth(p)).
 * Returns the scale for each name; tied tensors take the scale of their first name.
 */
export function layerLrScales(nLayer: number, decay: number): (p: NamedParam) => number {
  if (!(decay > 0 && decay <= 1)) throw new Error(`layer_lr_decay must be in (0, 1], got ${decay}`);
  return (p) => Math.pow(decay, nLayer + 1 - layerDepth(p.name, nLayer));
}

/**
 * A parameter's group for logging: `embed`, `h.<i>` or `head` (T5's names: `embed`, `encoder.<i>`,
 * `decoder.<i>` or `head`).
 */
export function layerGroup(name: string): string {
  const m = /(?:^|\.)h\.(\d+)\./.exec(name);
  if (m !== null) return `h.${m[1]}`;
  const t5 = /^(encoder|decoder)\.block\.(\d+)\./.exec(name);
  if (t5 !== null) return `${t5[1]}.${t5[2]}`;
  if (name.startsWith("shared.")) return "embed";
  return /(?:^|\.)(wte|wpe)\./.test(name) ? "embed" : "head";
}
