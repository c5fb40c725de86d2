/**
 * AdamW with decoupled weight decay, matching PyTorch's `torch.optim.AdamW`.
 *
 * @module
 */
import type { Gpu, GpuArray } from "../kernels/webgpu/runtime.ts";
import { adamwParam, FlatParams } from "../tensor/ops/optim.ts";
import { allocatePersistent } from "../tensor/storage.ts";
import type { Float, Tensor } from "../tensor/tensor.ts";
import {
  checkStateDict,
  type NamedParam,
  type Optimizer,
  type OptimizerState,
  splitDecayGroups,
  uniqueParams,
} from "./param.ts";
import { paramsGpu } from "./gpu.ts";
import { adamwParamGpu, gpuState } from "../tensor/gpu/optim.ts";
import { skippedSteps } from "../tensor/gpu/guard.ts";

/** Options for {@link AdamW}. */
export interface AdamWOptions {
  /** Base learning rate (used when `step()` gets none). */
  lr: number;
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.999 (nanoGPT trains with 0.95). */
  beta2?: number;
  /** Denominator epsilon. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay for the decay group. Default 0.01 (PyTorch's default). */
  weightDecay?: number;
  /** Which parameters get weight decay. Default: {@link splitDecayGroups}'s rule (ndim >= 2, not embeddings). */
  decay?: (p: NamedParam) => boolean;
  /** Each parameter's learning-rate multiplier (parameter groups, e.g. `layerLrScales`). Default 1. */
  lrScale?: (p: NamedParam) => number;
}

interface Slot {
  name: string;
  tensor: Tensor;
  decay: boolean;
  m: Float;
  v: Float;
  /** Learning-rate multiplier. */
  scale: number;
  /** This parameter's own step count (it only advances when the parameter has a gradient, as in PyTorch). */
  t: number;
  /** The moments on the GPU, for a parameter there (`m` and `v` are then empty). */
  gpu?: { m: GpuArray; v: GpuArray };
}

/** A run of the flat buffers sharing weight decay and learning-rate scale. */
interface FlatGroup {
  start: number;
  end: number;
  decay: boolean;
  scale: number;
}

function checkRange(name: string, x: number, lo: number, hi: number, hiOpen: boolean): void {
  const ok = Number.isFinite(x) && x >= lo && (hiOpen ? x < hi : x <= hi);
  if (!ok) throw new Error(`AdamW: ${name} must be in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${x}`);
}

/**
 * AdamW. Per step, for each parameter with a gradient: p ← p·(1 − lr·wd) (decay group only), then the Adam update
 * with bias correction by the parameter's own step count. Moments have the parameter's dtype; tied tensors are
 * updated once (under their first name).
 *
 * Float32 parameters (where the WASM kernels exist) are gathered into one flat buffer in the kernel memory, with
 * their gradients and moments in three more: each tensor's `data` becomes a view of it (so an array taken from
 * `tensor.data` before the optimizer was made is no longer the parameter's storage). When every parameter has
 * its gradient in that buffer and all share a step count, a step is one fused kernel call per group (decayed or
 * not, and learning-rate scale: two without `lrScale`); otherwise it goes parameter by parameter, with the same
 * result.
 */
export class AdamW implements Optimizer {
  /** Base learning rate, used when `step()` is called without one. */
  lr: number;
  /** First-moment decay. */
  readonly beta1: number;
  /** Second-moment decay. */
  readonly beta2: number;
  /** Denominator epsilon. */
  readonly eps: number;
  /** Weight decay applied to the decay group. */
  readonly weightDecay: number;
  /** The per-parameter learning-rate multiplier it was made with (none: 1 for every parameter). */
  readonly lrScale?: (p: NamedParam) => number;
  #slots: Slot[];
  #step = 0;

  /** Creates the optimizer and zero moments for every unique parameter. */
  constructor(params: readonly NamedParam[], opts: AdamWOptions) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.lrScale = opts.lrScale;
    checkRange("lr", this.lr, 0, Infinity, false);
    checkRange("beta1", this.beta1, 0, 1, true);
    checkRange("beta2", this.beta2, 0, 1, true);
    checkRange("eps", this.eps, 0, Infinity, false);
    checkRange("weightDecay", this.weightDecay, 0, Infinity, false);
    const decaySet = new Set(splitDecayGroups(params, { decay: opts.decay }).decay);
    const unique = uniqueParams(params);
    const scaleOf = (p: NamedParam) => {
      const k = opts.lrScale?.(p) ?? 1;
      if (!(Number.isFinite(k) && k >= 0)) {
        throw new Error(`AdamW: lrScale of "${p.name}" must be >= 0, got ${k}`);
      }
      return k;
    };
    const gpu = paramsGpu("AdamW", unique);
    if (gpu !== null) {
      this.#gpu = gpu;
      this.#slots = unique.map((p) => ({
        name: p.name,
        tensor: p.tensor,
        decay: decaySet.has(p),
        m: new Float32Array(0),
        v: new Float32Array(0),
        scale: scaleOf(p),
        t: 0,
        gpu: { m: gpuState(gpu, p.tensor), v: gpuState(gpu, p.tensor) },
      }));
      return;
    }
    const flat = unique.length > 0 && FlatParams.supported(unique.map((p) => p.tensor));
    if (flat) {
      // One flat buffer each for the parameters, their gradients and both moments (in the kernel memory),
      // ordered by group (decayed first, then by learning-rate scale): a step is one AdamW kernel call per group
      // over contiguous memory (two without layer-wise rates).
      const key = (p: NamedParam) => [decaySet.has(p) ? 0 : 1, scaleOf(p)];
      const ordered = [...unique].sort((a, b) => key(a)[0] - key(b)[0] || key(b)[1] - key(a)[1]);
      const params = new FlatParams(ordered.map((p) => p.tensor));
      const [M, V] = [0, 1].map(() => allocatePersistent("float32", params.size));
      const groups: FlatGroup[] = [];
      let off = 0;
      this.#slots = ordered.map((p) => {
        const n = p.tensor.size, view = (a: Float) => a.subarray(off, off + n);
        const slot: Slot = {
          name: p.name,
          tensor: p.tensor,
          decay: decaySet.has(p),
          m: view(M),
          v: view(V),
          scale: scaleOf(p),
          t: 0,
        };
        const last = groups.at(-1);
        if (last !== undefined && last.decay === slot.decay && last.scale === slot.scale) last.end = off + n;
        else groups.push({ start: off, end: off + n, decay: slot.decay, scale: slot.scale });
        off += n;
        return slot;
      });
      this.#flat = { params, m: M, v: V, groups };
      // keep the declared order for names, state dicts and per-parameter fallbacks
      const rank = new Map(unique.map((p, i) => [p.tensor, i]));
      this.#slots.sort((a, b) => rank.get(a.tensor)! - rank.get(b.tensor)!);
      return;
    }
    this.#slots = unique.map((p) => ({
      name: p.name,
      tensor: p.tensor,
      decay: decaySet.has(p),
      m: allocatePersistent(p.tensor.dtype, p.tensor.size),
      v: allocatePersistent(p.tensor.dtype, p.tensor.size),
      scale: scaleOf(p),
      t: 0,
    }));
  }

  /** The flat parameters and moments (float32 parameters where the WASM kernels exist), or null. */
  #flat: { params: FlatParams; m: Float; v: Float; groups: FlatGroup[] } | null = null;
  /** The GPU the parameters and moments live on, or null. */
  #gpu: Gpu | null = null;
  /** The guard's control array the last step on the GPU read (it counts the steps it skipped), or null. */
  #control: GpuArray | null = null;

  /** Number of `step()` calls made so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** Names of the parameters that get weight decay (first names of tied tensors). */
  get decayedNames(): string[] {
    return this.#slots.filter((s) => s.decay).map((s) => s.name);
  }

  /**
   * One update of every parameter whose gradient is not null, at learning rate `lr` (default: `this.lr`). On the
   * GPU, `control` is the step's guard (GpuGuard.control): the update multiplies each gradient by its coefficient
   * (clipping, loss unscaling) and changes nothing when it flags a non-finite gradient; the bias correction counts
   * only the steps applied (the guard counts the skipped ones on the GPU), so the host may go on at once.
   */
  step(lr: number = this.lr, control?: GpuArray): void {
    this.#step++;
    if (this.#gpu !== null) {
      this.#control = control ?? null;
      for (const s of this.#slots) {
        const wd = s.decay ? this.weightDecay : 0, { beta1, beta2, eps } = this, { m, v } = s.gpu!;
        if (adamwParamGpu(s.tensor, m, v, lr * s.scale, beta1, beta2, eps, wd, s.t + 1, control ?? null)) {
          s.t++;
        }
      }
      return;
    }
    const f = this.#flat;
    if (f !== null && f.params.intact() && this.#slots.every((s) => s.t === this.#step - 1)) {
      // every parameter has its gradient in the flat buffer and the same step count: one call per group
      for (const s of this.#slots) s.t++;
      for (const { start: a, end: b, decay, scale } of f.groups) {
        const wd = decay ? this.weightDecay : 0;
        f.params.adamw(a, b, f.m, f.v, lr * scale, this.beta1, this.beta2, this.eps, wd, this.#step);
      }
      return;
    }
    for (const s of this.#slots) {
      const wd = s.decay ? this.weightDecay : 0;
      const { beta1, beta2, eps } = this;
      if (adamwParam(s.name, s.tensor, s.m, s.v, lr * s.scale, beta1, beta2, eps, wd, s.t + 1)) s.t++;
    }
  }

  /** Sets every parameter's gradient to null. */
  zeroGrad(): void {
    for (const s of this.#slots) s.tensor.zeroGrad();
  }

  /**
   * A copy of the state: `exp_avg.<name>` and `exp_avg_sq.<name>` for every parameter, as Float32Array copies
   * (float64 moments are rounded to float32). A parameter whose own step count differs from `step` (it had no
   * gradient on some steps) also gets `step.<name>`, a one-element array holding its count.
   */
  stateDict(): OptimizerState {
    if (this.#gpu !== null) {
      throw new Error("AdamW.stateDict: the moments are on the GPU: use await stateDictAsync()");
    }
    const tensors: Record<string, Float32Array> = {};
    for (const s of this.#slots) {
      tensors[`exp_avg.${s.name}`] = new Float32Array(s.m);
      tensors[`exp_avg_sq.${s.name}`] = new Float32Array(s.v);
      if (s.t !== this.#step) tensors[`step.${s.name}`] = new Float32Array([s.t]);
    }
    return { step: this.#step, tensors };
  }

  /**
   * {@link AdamW.stateDict} on any device: the moments of a GPU run are read back, and the steps its guard skipped
   * (a flagged non-finite gradient: counted by the host, never applied) are taken off the step counts, as the
   * CPU path never counts them.
   */
  async stateDictAsync(): Promise<OptimizerState> {
    if (this.#gpu === null) return this.stateDict();
    const skipped = this.#control === null ? 0 : await skippedSteps(this.#control);
    const step = this.#step - skipped;
    const tensors: Record<string, Float32Array> = {};
    for (const s of this.#slots) {
      tensors[`exp_avg.${s.name}`] = await this.#gpu.read(s.gpu!.m);
      tensors[`exp_avg_sq.${s.name}`] = await this.#gpu.read(s.gpu!.v);
      const t = Math.max(0, s.t - skipped);
      if (t !== step) tensors[`step.${s.name}`] = new Float32Array([t]);
    }
    return { step, tensors };
  }

  /**
   * Restores a state from {@link AdamW.stateDict} (copying it). Throws, changing nothing, if a moment is missing
   * or mis-sized or an entry is unknown; the error names each one.
   */
  loadStateDict(sd: OptimizerState): void {
    const expected = new Map<string, number>();
    for (const s of this.#slots) {
      expected.set(`exp_avg.${s.name}`, s.tensor.size);
      expected.set(`exp_avg_sq.${s.name}`, s.tensor.size);
      expected.set(`step.${s.name}`, 1);
    }
    checkStateDict("AdamW", sd, expected, (name) => name.startsWith("step."));
    for (const s of this.#slots) {
      const t = sd.tensors[`step.${s.name}`];
      if (t !== undefined && (!Number.isInteger(t[0]) || t[0] < 0 || t[0] > sd.step)) {
        throw new Error(
          `AdamW.loadStateDict: "step.${s.name}" must be an integer in [0, ${sd.step}], got ${t[0]}`,
        );
      }
    }
    this.#step = sd.step;
    for (const s of this.#slots) {
      if (s.gpu !== undefined) {
        this.#gpu!.write(s.gpu.m, sd.tensors[`exp_avg.${s.name}`]);
        this.#gpu!.write(s.gpu.v, sd.tensors[`exp_avg_sq.${s.name}`]);
      } else {
        s.m.set(sd.tensors[`exp_avg.${s.name}`]);
        s.v.set(sd.tensors[`exp_avg_sq.${s.name}`]);
      }
      s.t = sd.tensors[`step.${s.name}`]?.[0] ?? sd.step;
    }
  }
}
