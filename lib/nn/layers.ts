/**
 * Basic layers: Linear, Embedding, LayerNorm, RMSNorm, Dropout, and the GELU and SwiGLU MLPs. Parameter names
 * follow PyTorch.
 *
 * @module
 */
import type { Rng } from "../random.ts";
import { dropout, embedding, gelu, layerNorm, linear, rmsNorm, swiglu } from "../tensor/mod.ts";
import type { DType, Tensor } from "../tensor/tensor.ts";
import { init, Module } from "./module.ts";
import { activeProbe } from "./probe.ts";

/** Options every layer constructor takes. */
export interface LayerOptions {
  /** Generator for initial weights. */
  rng: Rng;
  /** Storage type (float64 for gradient checks). */
  dtype?: DType;
}

/** y = x·Wᵀ + b with W (out, in) as PyTorch's nn.Linear; weights N(0, std²) (default 0.02), bias zero. */
export class Linear extends Module {
  /** (out, in). */
  readonly weight: Tensor;
  /** (out) or null. */
  readonly bias: Tensor | null;

  /** Creates the layer. */
  constructor(
    inFeatures: number,
    outFeatures: number,
    opts: LayerOptions & { bias?: boolean; std?: number; weight?: Tensor },
  ) {
    super();
    const dtype = opts.dtype ?? "float32";
    // A given weight is shared, not copied (weight tying); its shape must be (out, in).
    if (opts.weight && (opts.weight.shape[0] !== outFeatures || opts.weight.shape[1] !== inFeatures)) {
      throw new Error(`Linear: shared weight [${opts.weight.shape}] is not [${outFeatures}, ${inFeatures}]`);
    }
    const w = opts.weight ?? init.normal([outFeatures, inFeatures], opts.std ?? 0.02, opts.rng, dtype);
    this.weight = this.param("weight", w);
    this.bias = (opts.bias ?? true) ? this.param("bias", init.zeros([outFeatures], dtype)) : null;
  }

  /** x (..., in) → (..., out). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** A lookup table of `num` vectors of size `dim`, initialised N(0, 0.02²). */
export class Embedding extends Module {
  /** (num, dim). */
  readonly weight: Tensor;

  /** Creates the table. */
  constructor(num: number, dim: number, opts: LayerOptions) {
    super();
    this.weight = this.param("weight", init.normal([num, dim], 0.02, opts.rng, opts.dtype));
  }

  /** ids with shape `shape` → (shape..., dim). */
  forward(ids: Int32Array, shape: readonly number[]): Tensor {
    return embedding(ids, shape, this.weight);
  }
}

/** LayerNorm over the last dimension (eps 1e-5, weight 1, bias 0). */
export class LayerNorm extends Module {
  /** (dim). */
  readonly weight: Tensor;
  /** (dim) or null. */
  readonly bias: Tensor | null;
  /** Added to the variance. */
  readonly eps: number;

  /** Creates the layer. */
  constructor(dim: number, opts: { bias?: boolean; eps?: number; dtype?: DType } = {}) {
    super();
    this.weight = this.param("weight", init.ones([dim], opts.dtype));
    this.bias = (opts.bias ?? true) ? this.param("bias", init.zeros([dim], opts.dtype)) : null;
    this.eps = opts.eps ?? 1e-5;
  }

  /** Normalises x (..., dim). */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** RMSNorm over the last dimension (LLaMA): x / √(mean(x²) + eps) · weight; weight 1, no bias. */
export class RMSNorm extends Module {
  /** (dim). */
  readonly weight: Tensor;

  /** Creates the layer. */
  constructor(dim: number, opts: { eps?: number; dtype?: DType } = {}) {
    super();
    this.weight = this.param("weight", init.ones([dim], opts.dtype));
    this.eps = opts.eps ?? 1e-5;
  }

  /** Added to the mean square. */
  readonly eps: number;

  /** Normalises x (..., dim). */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** A normalisation layer of either kind. */
export type Norm = LayerNorm | RMSNorm;

/** Inverted dropout with its own seeded generator; identity in eval mode. */
export class Dropout extends Module {
  /** Creates the layer. */
  constructor(readonly p: number, readonly rng: Rng) {
    super();
  }

  /** Applies dropout when training. */
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.rng, this.training);
  }
}

/** Options of {@link MLP} and {@link SwiGLUMLP}. */
export interface MLPOptions extends LayerOptions {
  /** Hidden size (default 4·dim for GELU, {@link swigluHidden} for SwiGLU). */
  hidden?: number;
  /** Biases in the projections. */
  bias?: boolean;
  /** Std of the output projection's init (nanoGPT scales it by 1/√(2·n_layer)). */
  projStd?: number;
  /** Dropout probability. */
  dropout?: number;
  /** Generator of the dropout masks (shared by the model so its state can be checkpointed). */
  dropoutRng: Rng;
  /**
   * Where the dropout sits: after the down projection ("output", GPT-2 and LLaMA, the default) or on the hidden
   * activations before it ("hidden", T5's DenseReluDense).
   */
  dropoutOn?: "output" | "hidden";
  /**
   * Parameter names of the projections (each model family keeps its checkpoint names): default GPT-2's
   * c_fc/c_proj (GELU) and HF LLaMA's gate_proj/up_proj/down_proj (SwiGLU).
   */
  names?: { gate?: string; up?: string; down?: string };
}

/** The hidden activations h → the layer's output, with the dropout where `dropoutOn` puts it. */
function project(down: Linear, drop: Dropout, on: "output" | "hidden", h: Tensor): Tensor {
  return on === "hidden" ? down.forward(drop.forward(h)) : drop.forward(down.forward(h));
}

/** The GPT-2 MLP: c_fc (4C, C) → GELU → c_proj (C, 4C) → dropout. */
export class MLP extends Module {
  /** Up projection (c_fc). */
  readonly up: Linear;
  /** Down projection (c_proj). */
  readonly down: Linear;
  /** Dropout. */
  readonly drop: Dropout;
  /** Where the dropout sits. */
  readonly dropoutOn: "output" | "hidden";

  /** Creates the MLP. */
  constructor(dim: number, opts: MLPOptions) {
    super();
    const hidden = opts.hidden ?? 4 * dim;
    this.up = this.child(opts.names?.up ?? "c_fc", new Linear(dim, hidden, { ...opts, bias: opts.bias }));
    this.down = this.child(
      opts.names?.down ?? "c_proj",
      new Linear(hidden, dim, { ...opts, bias: opts.bias, std: opts.projStd }),
    );
    this.drop = this.child("dropout", new Dropout(opts.dropout ?? 0, opts.dropoutRng));
    this.dropoutOn = opts.dropoutOn ?? "output";
  }

  /** x (..., C) → (..., C). */
  forward(x: Tensor): Tensor {
    const h = this.up.forward(x);
    activeProbe()?.geluInput(h.readSync(), h.shape[h.ndim - 1]);
    return project(this.down, this.drop, this.dropoutOn, gelu(h));
  }
}

/**
 * The SwiGLU hidden size LLaMA uses for width C: 2/3 of 4·C, rounded up to a multiple of `multiple`.
 */
export function swigluHidden(dim: number, multiple = 8): number {
  return Math.ceil((2 * 4 * dim) / 3 / multiple) * multiple;
}

/**
 * The LLaMA MLP: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)) → dropout, with HF LLaMA's names (gate_proj,
 * up_proj: (hidden, C); down_proj: (C, hidden)). Hidden size {@link swigluHidden} unless given.
 */
export class SwiGLUMLP extends Module {
  /** Gate projection (gate_proj). */
  readonly gate: Linear;
  /** Up projection (up_proj). */
  readonly up: Linear;
  /** Down projection (down_proj). */
  readonly down: Linear;
  /** Dropout. */
  readonly drop: Dropout;
  /** Where the dropout sits. */
  readonly dropoutOn: "output" | "hidden";

  /** Creates the MLP. */
  constructor(dim: number, opts: MLPOptions) {
    super();
    const hidden = opts.hidden ?? swigluHidden(dim);
    const names = opts.names ?? {};
    this.gate = this.child(names.gate ?? "gate_proj", new Linear(dim, hidden, { ...opts, bias: opts.bias }));
    this.up = this.child(names.up ?? "up_proj", new Linear(dim, hidden, { ...opts, bias: opts.bias }));
    this.down = this.child(
      names.down ?? "down_proj",
      new Linear(hidden, dim, { ...opts, bias: opts.bias, std: opts.projStd }),
    );
    this.drop = this.child("dropout", new Dropout(opts.dropout ?? 0, opts.dropoutRng));
    this.dropoutOn = opts.dropoutOn ?? "output";
  }

  /** x (..., C) → (..., C). */
  forward(x: Tensor): Tensor {
    return project(this.down, this.drop, this.dropoutOn, swiglu(this.gate.forward(x), this.up.forward(x)));
  }
}
