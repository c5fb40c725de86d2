/**
 * Attention masks on the GPU: a causal mask is passed to the kernels as `"causal"` (computed from indices, so
 * nothing is uploaded and fully masked blocks are skipped); any other mask is uploaded as one u32 per entry, a
 * step array kept with the mask object until its step ends (a mask made per batch, as BERT's padding masks, so
 * leaves nothing behind; one kept across steps is uploaded again in the next).
 *
 * @module
 */
import type { GpuMask } from "../../kernels/webgpu/attention.ts";
import type { Gpu } from "../../kernels/webgpu/runtime.ts";
import type { AttentionMask } from "../ops/nn.ts";

const uploaded = new WeakMap<AttentionMask, { gpu: Gpu; mask: GpuMask }>();

/** Whether `mask` lets query i see exactly the keys j ≤ i + (Tk − Tq) (the causal mask, also over a cache). */
function isCausal(mask: AttentionMask): boolean {
  const { Tq, Tk, data } = mask, shift = Tk - Tq;
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) if ((data[i * Tk + j] !== 0) !== (j <= i + shift)) return false;
  }
  return true;
}

/** The kernels' form of `mask` on `gpu` (computed once per mask object and step). */
export function gpuMask(gpu: Gpu, mask: AttentionMask): GpuMask {
  const kept = uploaded.get(mask);
  if (kept !== undefined && kept.gpu === gpu && (kept.mask === "causal" || !kept.mask.released)) {
    return kept.mask;
  }
  const m: GpuMask = isCausal(mask) ? "causal" : gpu.upload(Uint32Array.from(mask.data));
  uploaded.set(mask, { gpu, mask: m });
  return m;
}
