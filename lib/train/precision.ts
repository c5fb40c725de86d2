/**
 * Mixed-precision training on top of the emulated 16-bit formats of `lib/tensor/precision.ts`: float32 master
 * weights that the optimizer updates, a 16-bit compute copy of them for the forward and backward passes, and for
 * float16 dynamic loss scaling (PyTorch's GradScaler rule: scale the loss, unscale the gradients, skip the step
 * and halve the scale when a gradient overflowed, double it after a run of good steps).
 *
 * @module
 */
import type { NamedParam } from "../optim/param.ts";
import type { Float } from "../tensor/tensor.ts";
import { allocatePersistent, swapStorage } from "../tensor/storage.ts";
import { castStorage, type Precision } from "../tensor/precision.ts";
import { scaleGrads } from "../tensor/ops/optim.ts";

/** Options of {@link MixedPrecision}. */
export interface MixedPrecisionOptions {
  /** Initial loss scale for fp16 (default 2¹⁶, PyTorch's). bf16 and fp32 use no scaling (scale 1). */
  lossScale?: number;
  /** fp16: double the scale after this many steps in a row without overflow (default 2000, PyTorch's). */
  growthInterval?: number;
  /** fp16: the scale never goes below this; an overflow at this scale is an error (default 2⁻¹⁴). */
  minScale?: number;
}

/** The loss scaler's position, saved in checkpoints so a resumed run scales as an unbroken one would. */
export interface LossScaleState {
  /** Current loss scale. */
  scale: number;
  /** Good steps since the scale last changed. */
  goodSteps: number;
}

/**
 * The 16-bit side of a training run. {@link MixedPrecision.castWeights} points every float32 parameter at a
 * compute copy holding its master values rounded to the format; {@link MixedPrecision.restoreWeights} points
 * them back at the masters (the optimizer's storage), which is what the optimizer updates and checkpoints save.
 */
export class MixedPrecision {
  /** Whether losses are scaled (fp16 only: bf16 has float32's exponent range). */
  readonly dynamic: boolean;
  /** Current loss scale (1 without scaling). */
  scale: number;
  /** Good steps since the scale last changed. */
  goodSteps = 0;
  readonly #growthInterval: number;
  readonly #minScale: number;
  readonly #compute: (Float | null)[];
  #masters: (Float | null)[] | null = null;

  /** Prepares compute copies for the float32 parameters among `params`. */
  constructor(
    readonly params: readonly NamedParam[],
    readonly precision: Precision,
    o: MixedPrecisionOptions = {},
  ) {
    this.dynamic = precision === "fp16";
    this.scale = this.dynamic ? o.lossScale ?? 65536 : 1;
    this.#growthInterval = o.growthInterval ?? 2000;
    this.#minScale = o.minScale ?? 2 ** -14;
    if (!(this.scale > 0) || !Number.isFinite(this.scale)) {
      throw new Error(`loss scale must be a finite number > 0, got ${this.scale}`);
    }
    if (!Number.isInteger(this.#growthInterval) || this.#growthInterval < 1) {
      throw new Error(`loss-scale growth interval must be a positive integer, got ${this.#growthInterval}`);
    }
    this.#compute = params.map(({ tensor }) =>
      precision !== "fp32" && tensor.dtype === "float32" ? allocatePersistent("float32", tensor.size) : null
    );
  }

  /** Rounds the master weights into the compute copies and points the parameters at them (no-op for fp32). */
  castWeights(): void {
    if (this.precision === "fp32" || this.#masters !== null) return;
    this.#masters = this.params.map(({ tensor }, i) => {
      const copy = this.#compute[i];
      return copy === null ? null : castStorage(tensor, copy as Float32Array, this.precision);
    });
  }

  /** Points the parameters back at their master weights. */
  restoreWeights(): void {
    if (this.#masters === null) return;
    this.params.forEach(({ tensor }, i) => {
      const master = this.#masters![i];
      if (master !== null) swapStorage(tensor, master);
    });
    this.#masters = null;
  }

  /** Runs `fn` with the compute copies in place, and puts the masters back afterwards (also on a throw). */
  withComputeWeights<T>(fn: () => T): T {
    this.castWeights();
    try {
      return fn();
    } finally {
      this.restoreWeights();
    }
  }

  /**
   * After a backward pass of the scaled loss whose gradients are all finite: divides them by the scale; after
   * `growthInterval` such steps in a row the scale doubles.
   */
  unscale(): void {
    if (this.scale !== 1) {
      scaleGrads(this.params.map((p) => p.tensor), 1 / this.scale);
    }
    if (this.dynamic && ++this.goodSteps >= this.#growthInterval) {
      this.scale *= 2;
      this.goodSteps = 0;
    }
  }

  /**
   * Whether an overflow (an Inf/NaN gradient) at the current scale can be handled by skipping the step: fp16 with
   * the scale still above its minimum. Otherwise the gradients are not finite at any scale.
   */
  canSkip(): boolean {
    return this.dynamic && this.scale / 2 >= this.#minScale;
  }

  /** Records a skipped step (call only when {@link MixedPrecision.canSkip}): the scale halves. */
  skipStep(): void {
    this.scale /= 2;
    this.goodSteps = 0;
  }

  /** The scaler's position. */
  state(): LossScaleState {
    return { scale: this.scale, goodSteps: this.goodSteps };
  }

  /** Restores a position from {@link MixedPrecision.state}. */
  setState(s: LossScaleState): void {
    this.scale = s.scale;
    this.goodSteps = s.goodSteps;
  }
}
