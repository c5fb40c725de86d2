/**
 * Module: a tree of named parameters and sub-modules, with nanoGPT/PyTorch-style dotted names.
 *
 * @module
 */
import type { Gpu } from "../kernels/webgpu/runtime.ts";
import type { Rng } from "../random.ts";
import { type DType, numel, Tensor } from "../tensor/tensor.ts";
import { makePersistent } from "../tensor/storage.ts";

/** A parameter with its fully qualified name (e.g. `transformer.h.0.attn.c_attn.weight`). */
export interface NamedTensor {
  /** Dotted name, as in PyTorch's `state_dict`. */
  name: string;
  /** The parameter itself. */
  tensor: Tensor;
}

/** Base class of layers and models. Subclasses register parameters and children in their constructor. */
export abstract class Module {
  #params = new Map<string, Tensor>();
  #children = new Map<string, Module>();
  /** Training mode (dropout on) or evaluation mode. */
  training = true;

  /**
   * Registers a parameter under a local name and returns it. Its values move into long-lived storage
   * (`makePersistent`: on the CPU, float32 parameters go into the WASM kernels' memory when it is available,
   * where the kernels read them in place instead of copying them on every call).
   */
  protected param(name: string, t: Tensor): Tensor {
    makePersistent(t);
    t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }

  /** Registers a child module under a local name and returns it. */
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /**
   * Every parameter with its dotted name, in registration order. A tensor registered twice (tied weights) is
   * listed under each name; pass `unique` to keep only its first name.
   */
  namedParameters(prefix = "", unique = false): NamedTensor[] {
    const out: NamedTensor[] = [];
    const seen = new Set<Tensor>();
    const walk = (m: Module, p: string) => {
      for (const [n, t] of m.#params) {
        if (unique && seen.has(t)) continue;
        seen.add(t);
        out.push({ name: p + n, tensor: t });
      }
      for (const [n, c] of m.#children) walk(c, `${p}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  /** Number of distinct parameter elements (tied weights counted once). */
  numParameters(): number {
    return this.namedParameters("", true).reduce((s, p) => s + p.tensor.size, 0);
  }

  /** Sets training mode on this module and all children. */
  train(on = true): this {
    this.training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }

  /** Sets evaluation mode (no dropout). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter to `gpu` (tied weights once): from now on the model's ops run there (lib/tensor/gpu).
   * Like PyTorch's `model.to(device)`, before the optimizer is made.
   */
  toGpu(gpu: Gpu): this {
    for (const { tensor } of this.namedParameters("", true)) tensor.toGpu(gpu);
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const { tensor } of this.namedParameters("", true)) tensor.zeroGrad();
  }

  /** Parameters as a name → tensor map (tied weights appear under every name, as in PyTorch's state_dict). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters().map((p) => [p.name, p.tensor]));
  }

  /**
   * Copies values from `sd` into the parameters. Every parameter must be present with the right number of
   * elements; an extra or missing name is an error that names it.
   */
  loadStateDict(
    sd: Map<string, { shape: readonly number[]; data: ArrayLike<number> }>,
    source = "state dict",
  ): void {
    const params = this.namedParameters();
    const names = new Set(params.map((p) => p.name));
    for (const k of sd.keys()) {
      if (!names.has(k)) throw new StateDictError(source, `unexpected tensor "${k}"`);
    }
    for (const { name, tensor } of params) {
      const src = sd.get(name);
      if (!src) throw new StateDictError(source, `missing tensor "${name}"`);
      if (src.shape.length !== tensor.shape.length || src.shape.some((d, i) => d !== tensor.shape[i])) {
        throw new StateDictError(
          source,
          `tensor "${name}" has shape [${src.shape}], expected [${tensor.shape}]`,
          { name, got: src.shape, want: tensor.shape },
        );
      }
      tensor.write(src.data);
    }
  }
}

/**
 * A state dict that does not fit a module ({@link Module.loadStateDict}): the message is `<source>: <detail>`; a
 * tensor whose shape differs also carries its name and both shapes, for callers that word it their own way.
 */
export class StateDictError extends Error {
  /** Creates the error. */
  constructor(
    /** Where the state dict came from (a file path, or "state dict"). */
    readonly source: string,
    /** What does not fit. */
    readonly detail: string,
    /** The tensor whose shape differs: its name, the state dict's shape and the module's. */
    readonly mismatch?: { name: string; got: readonly number[]; want: readonly number[] },
  ) {
    super(`${source}: ${detail}`);
    this.name = "StateDictError";
  }
}

/** An ordered list of modules, named 0, 1, 2… (PyTorch's nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  /** The items, in order. */
  readonly items: M[];

  /** Registers each item under its index. */
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
}

/** A module that only groups children under a name (e.g. nanoGPT's `transformer`). */
export class Container extends Module {
  /** Registers a child (public, for building name trees). */
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}

/** The parameter initialisers of {@link init}. */
export interface Initialisers {
  /** Normal(0, std²) samples. */
  normal(shape: readonly number[], std: number, rng: Rng, dtype?: DType): Tensor;
  /** Zeros. */
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** Ones. */
  ones(shape: readonly number[], dtype?: DType): Tensor;
}

/** Parameter initialisers (explicit randomness: the generator is passed in). */
export const init: Initialisers = {
  /** Normal(0, std²) samples. */
  normal(shape: readonly number[], std: number, rng: Rng, dtype: DType = "float32"): Tensor {
    const values = new Float64Array(numel(shape));
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
    return Tensor.from(values, shape, dtype);
  },
  /** Zeros. */
  zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
    return Tensor.zeros(shape, dtype);
  },
  /** Ones. */
  ones(shape: readonly number[], dtype: DType = "float32"): Tensor {
    return Tensor.full(shape, 1, dtype);
  },
};
