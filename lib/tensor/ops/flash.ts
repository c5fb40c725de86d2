/**
 * Flash attention as a differentiable op: self-attention on the fused projection output without the T×T score
 * or probability matrix. The tiled loops (forward with an online softmax, backward that recomputes the
 * probabilities from each row's log-sum-exp) are in `lib/kernels/flash.ts`.
 *
 * @module
 */
import { flashAttentionBackward, flashAttentionForward } from "../../kernels/flash.ts";
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { result, type Tensor } from "../tensor.ts";
import { type AttentionMask, checkPackedQkv } from "./nn.ts";
import { flashSelfAttentionGpu } from "../gpu/attention.ts";
import { gpuMask } from "../gpu/mask.ts";

/** Rows (queries) and columns (keys) per tile. */
export const FLASH_TILE = 32;

/**
 * Self-attention on the fused projection output qkv (B, T, 3C) → (B, T, C), like `selfAttention` (same layout,
 * same explicit mask (T, T), no dropout) computed without the T×T matrix. `tile` sets the tile size.
 */
export function flashSelfAttention(
  qkv: Tensor,
  nHead: number,
  mask: AttentionMask,
  tile = FLASH_TILE,
): Tensor {
  const { B, T, C, D } = checkPackedQkv("flashSelfAttention", qkv, nHead, mask);
  if (qkv.gpu !== null) return flashSelfAttentionGpu(qkv, nHead, gpuMask(qkv.gpu.gpu, mask), tile);
  const H = nHead, x = qkv.data;
  const y = allocate(qkv.dtype, B * T * C); // (B, T, C)
  const lse = new Float64Array(B * H * T); // (B, H, T): log Σ exp of each row's scores, saved for the backward
  flashAttentionForward(x, mask.data, y, lse, B, T, H, D, tile);
  return result(y, [B, T, C], "flashSelfAttention", [qkv], (g) => {
    const dx = allocate(qkv.dtype, qkv.size); // (B, T, 3C)
    flashAttentionBackward(x, y, g, lse, mask.data, dx, B, T, H, D, tile);
    accumulateGrad(qkv, dx);
  });
}
