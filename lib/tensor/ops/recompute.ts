/**
 * Activation recompute (activation checkpointing; unrelated to the checkpoint files of lib/train): run a function
 * (a transformer block) without keeping its activations, and run it again during the backward pass to get them
 * back. Memory drops from every block's activations to one block's at a time plus each block's input; compute
 * rises by one extra forward per block.
 *
 * @module
 */
import { arenaMark, arenaResetTo } from "../../kernels/wasm/runtime.ts";
import type { Rng } from "../../random.ts";
import { allocate } from "../storage.ts";
import { gradBuffer } from "../grad.ts";
import { result, Tensor } from "../tensor.ts";
import { isGradEnabled, noGrad } from "../grad.ts";
import { gpuMarks } from "../gpu/device.ts";
import { checkpointGpu, keepGpuResult } from "../gpu/recompute.ts";

/** Options of {@link checkpoint}. */
export interface CheckpointOptions {
  /** The parameters `fn` uses (they receive their gradients during the recomputation). */
  params: readonly Tensor[];
  /** The generator `fn` draws from (dropout): replayed for the recomputation, then put back. */
  rng?: Rng;
}

/**
 * y = fn(x), recomputed in backward instead of stored. `fn` must be a pure function of `x`, of `params` and of
 * `rng`: the generator's state is saved before the forward and restored for the recomputation, so dropout draws
 * the same masks, and afterwards it is put back where it was. Gradients are exactly those of calling `fn`
 * directly. Inside a step arena the forward's intermediates, and after the backward the recomputation's, are
 * given back at once. Without the tape it is just `fn(x)`.
 */
export function checkpoint(fn: (x: Tensor) => Tensor, x: Tensor, opts: CheckpointOptions): Tensor {
  if (!isGradEnabled()) return fn(x);
  if (x.gpu !== null) return checkpointGpu(fn, x, opts.params, opts.rng);
  const saved = opts.rng?.state();
  const mark = arenaMark();
  const y = noGrad(() => fn(x));
  let out = y.data;
  if (mark !== null) {
    // copy the output aside, give the block's storage back, and keep the output below the mark
    const copy = y.data.slice();
    arenaResetTo(mark);
    out = allocate(y.dtype, y.size);
    out.set(copy);
  }
  return result(out, y.shape, "checkpoint", [x, ...opts.params], (g) => {
    const gx = gradBuffer(x); // before the recomputation's region, so it survives the reset below
    if (gx !== null && !gx.accumulate) gx.buf.fill(0);
    const inner = arenaMark();
    const after = opts.rng?.state();
    if (saved !== undefined) opts.rng!.setState(saved);
    // x's stand-in, whose gradient goes straight into x's
    const xr = new Tensor(x.data, x.shape, true);
    xr.node = {
      op: "checkpoint input",
      parents: [],
      backward: (gi) => {
        if (gx === null) return;
        const dst = gx.buf;
        for (let i = 0; i < dst.length; i++) dst[i] += gi[i];
      },
    };
    const yr = fn(xr);
    if (yr.requiresGrad) yr.backward(g);
    if (after !== undefined) opts.rng!.setState(after);
    arenaResetTo(inner);
  });
}

/**
 * y = fn(), keeping only y: inside a step arena and without the tape, everything `fn` allocated in the arena is
 * given back once y exists (y is copied below the mark). Evaluation and generation run each transformer block
 * through it, so they hold one block's intermediates at a time instead of the whole forward's, as a checkpointed
 * training step does. With the tape on (the intermediates are the backward's), or outside an arena, it is just
 * `fn()`. `fn` must not leave anything else in the arena that is used afterwards.
 */
export function keepOnlyResult(fn: () => Tensor): Tensor {
  if (isGradEnabled()) return fn();
  const mark = arenaMark(), marks = gpuMarks();
  const y = fn();
  if (y.gpu !== null) return keepGpuResult(y, marks);
  if (mark === null) return y;
  const copy = y.data.slice();
  arenaResetTo(mark);
  const out = allocate(y.dtype, y.size);
  out.set(copy);
  return new Tensor(out, y.shape, false);
}
