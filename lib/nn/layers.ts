/**
 * Basic layers: Linear, Embedding, LayerNorm, Dropout, and the GELU MLP. Parameter names follow PyTorch.
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

/** Options of {@link MLP}. */
export interface MLPOptions extends LayerOptions {
  /** Hidden size (default 4·dim). */
  hidden?: number;
  /** Biases in both projections. */
  bias?: boolean;
  /** Std of the output projection's init (nanoGPT scales it by 1/√(2·n_layer)). */
  projStd?: number;
  /** Dropout after the output projection. */
  dropout?: number;
  /** Generator of the dropout masks (shared by the model so its state can be checkpointed). */
  dropoutRng: Rng;
}

/** The GPT-2 MLP: c_fc (4C, C) → GELU → c_proj (C, 4C) → dropout. */
export class MLP extends Module {
  /** Up projection. */
  readonly c_fc: Linear;
  /** Down projection. */
  readonly c_proj: Linear;
  /** Residual dropout. */
  readonly drop: Dropout;

  /** Creates the MLP. */
  constructor(dim: number, opts: MLPOptions) {
    super();
    const hidden = opts.hidden ?? 4 * dim;
    this.c_fc = this.child("c_fc", new Linear(dim, hidden, { ...opts, bias: opts.bias }));
    this.c_proj = this.child(
      "c_proj",
      new Linear(hidden, dim, { ...opts, bias: opts.bias, std: opts.projStd }),
    );
    this.drop = this.child("dropout", new Dropout(opts.dropout ?? 0, opts.dropoutRng));
  }

  /** x (..., C) → (..., C). */
  forward(x: Tensor): Tensor {
    const h = this.c_fc.forward(x);
    activeProbe()?.geluInput(h.data, h.shape[h.ndim - 1]);
    return this.drop.forward(this.c_proj.forward(gelu(h)));
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
  /** Gate projection. */
  readonly gate_proj: Linear;
  /** Up projection. */
  readonly up_proj: Linear;
  /** Down projection. */
  readonly down_proj: Linear;
  /** Residual dropout. */
  readonly drop: Dropout;

  /** Creates the MLP. */
  constructor(dim: number, opts: MLPOptions) {
    super();
    const hidden = opts.hidden ?? swigluHidden(dim);
    this.gate_proj = this.child("gate_proj", new Linear(dim, hidden, { ...opts, bias: opts.bias }));
    this.up_proj = this.child("up_proj", new Linear(dim, hidden, { ...opts, bias: opts.bias }));
    this.down_proj = this.child(
      "down_proj",
      new Linear(hidden, dim, { ...opts, bias: opts.bias, std: opts.projStd }),
    );
    this.drop = this.child("dropout", new Dropout(opts.dropout ?? 0, opts.dropoutRng));
  }

  /** x (..., C) → (..., C). */
  forward(x: Tensor): Tensor {
    return this.drop.forward(
      this.down_proj.forward(swiglu(this.gate_proj.forward(x), this.up_proj.forward(x))),
    );
  }
}
