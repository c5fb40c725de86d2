/**
 * Activation recompute (lib/tensor/ops/recompute.ts) for tensors on the GPU: the block's forward runs without
 * the tape and its intermediates go back to the pool at once (`Gpu.releaseSince`), keeping its output; the
 * backward runs the block again on the tape, seeded with the output's gradient on the GPU, and gives back the
 * recomputation's arrays afterwards.
 *
 * @module
 */
import { addVecGpu } from "../../kernels/webgpu/bias.ts";
import type { Gpu } from "../../kernels/webgpu/runtime.ts";
import type { Rng } from "../../random.ts";
import { noGrad } from "../grad.ts";
import { Tensor } from "../tensor.ts";
import { gpuGradBuffer } from "./grad.ts";
import { gpuArrayOf, gpuResult } from "./ops.ts";

/** y = fn(x) of a tensor on the GPU, recomputed in backward (checked and described by `checkpoint`). */
export function checkpointGpu(
  fn: (x: Tensor) => Tensor,
  x: Tensor,
  params: readonly Tensor[],
  rng: Rng | undefined,
): Tensor {
  const xa = gpuArrayOf(x, "checkpoint"), gpu = xa.gpu;
  const saved = rng?.state();
  const mark = gpu.mark();
  const y = noGrad(() => fn(x));
  const ya = gpuArrayOf(y, "checkpoint");
  gpu.releaseSince(mark, [ya]);
  return gpuResult(ya, y.shape, "checkpoint", [x, ...params], (g) => {
    const gx = gpuGradBuffer(x); // before the recomputation's mark, so it survives the release below
    if (gx !== null && !gx.accumulate) gpu.fill(gx.buf, 0);
    const inner = gpu.mark();
    const after = rng?.state();
    if (saved !== undefined) rng!.setState(saved);
    // x's stand-in, whose gradient goes straight into x's
    const xr = new Tensor(xa, x.shape, true);
    xr.device = x.device;
    xr.node = {
      op: "checkpoint input",
      parents: [],
      backward: () => {
        throw new Error("checkpoint: a tensor on the GPU gets its gradient on the GPU");
      },
      backwardGpu: (gi) => {
        if (gx !== null) addVecGpu(gpu, gx.buf, gi, gx.buf, x.size);
      },
    };
    const yr = fn(xr);
    if (yr.requiresGrad) yr.backward(g);
    if (after !== undefined) rng!.setState(after);
    gpu.releaseSince(inner);
  });
}

/** `keepOnlyResult` for an output on the GPU: gives back what was made on its GPU since `marks` (gpuMarks). */
export function keepGpuResult(y: Tensor, marks: Map<Gpu, number | null>): Tensor {
  const a = gpuArrayOf(y, "keepOnlyResult");
  a.gpu.releaseSince(marks.get(a.gpu) ?? null, [a]);
  return y;
}
