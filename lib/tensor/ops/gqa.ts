/**
 * Grouped-query attention's head sharing (GQA, multi-query at one key/value head): the fused projection holds
 * nHead query heads but only nKvHead key and value heads, and query head h reads key/value head
 * ⌊h·nKvHead/nHead⌋. {@link repeatKvHeads} repeats each key/value head for the query heads of its group, so the
 * standard attention kernels run unchanged; its backward sums the group's gradients back.
 *
 * @module
 */
import { allocate } from "../storage.ts";
import { accumulateGrad } from "../grad.ts";
import { type Float, result, type Tensor } from "../tensor.ts";
import { repeatHeadsOnGpu, repeatKvHeadsOnGpu } from "../gpu/attention.ts";

/**
 * Layout of the grouped fused projection, per row: [q (nHead·D) | k (nKvHead·D) | v (nKvHead·D)], heads side by
 * side in each part (nanoGPT's c_attn layout when nKvHead = nHead). Returns qkv (B, T, (nHead + 2·nKvHead)·D)
 * repeated into (B, T, 3·nHead·D), the layout `selfAttention`, `flashSelfAttention` and `rope` take.
 */
export function repeatKvHeads(qkv: Tensor, nHead: number, nKvHead: number): Tensor {
  const [B, T, W] = qkv.shape;
  const D = W / (nHead + 2 * nKvHead);
  if (qkv.ndim !== 3 || nHead % nKvHead !== 0 || !Number.isInteger(D)) {
    throw new Error(
      `repeatKvHeads: qkv [${qkv.shape}] must be (B, T, (${nHead} + 2·${nKvHead})·D), n_head a multiple of ` +
        `n_kv_head`,
    );
  }
  if (qkv.gpu !== null) return repeatKvHeadsOnGpu(qkv, nHead, nKvHead, D);
  const C = nHead * D, rows = B * T;
  const out = allocate(qkv.dtype, rows * 3 * C);
  copyGroups(qkv.data, out, rows, nHead, nKvHead, D, 1);
  return result(out, [B, T, 3 * C], "repeatKvHeads", [qkv], (g) => {
    const dx = allocate(qkv.dtype, qkv.size);
    copyGroups(g, dx, rows, nHead, nKvHead, D, -1);
    accumulateGrad(qkv, dx);
  });
}

// dir 1: grouped (rows, (H + 2·Hkv)·D) → repeated (rows, 3·H·D); dir −1: the reverse, summing each group (into a
// zeroed `grouped`). Query head h of k and v reads head ⌊h·Hkv/H⌋.
function copyGroups(
  src: Float,
  dst: Float,
  rows: number,
  H: number,
  Hkv: number,
  D: number,
  dir: 1 | -1,
): void {
  const C = H * D, wide = 3 * C, narrow = C + 2 * Hkv * D;
  for (let r = 0; r < rows; r++) {
    const g0 = r * narrow, w0 = r * wide;
    if (dir === 1) dst.set(src.subarray(g0, g0 + C), w0);
    else dst.set(src.subarray(w0, w0 + C), g0);
    for (let part = 0; part < 2; part++) {
      const gp = g0 + C + part * Hkv * D, wp = w0 + C + part * C;
      for (let h = 0; h < H; h++) {
        const gh = gp + Math.floor((h * Hkv) / H) * D, wh = wp + h * D;
        if (dir === 1) dst.set(src.subarray(gh, gh + D), wh);
        else for (let d = 0; d < D; d++) dst[gh + d] += src[wh + d];
      }
    }
  }
}

/**
 * Heads x (B, nKvHead, T, D) repeated to (B, nHead, T, D): head h is x's head ⌊h·nKvHead/nHead⌋ (for attention
 * layers with separate k and v projections, T5's). Its backward sums each group's gradients.
 */
export function repeatHeads(x: Tensor, nHead: number): Tensor {
  const [B, Hkv, T, D] = x.shape;
  if (x.ndim !== 4 || nHead % Hkv !== 0) {
    throw new Error(`repeatHeads: x [${x.shape}] must be (B, H, T, D) with H dividing ${nHead}`);
  }
  if (x.gpu !== null) return repeatHeadsOnGpu(x, nHead);
  const n = T * D, group = nHead / Hkv;
  const out = allocate(x.dtype, B * nHead * n);
  for (let bh = 0; bh < B * nHead; bh++) {
    const src = Math.floor(bh / group) * n; // (b·nHead + h) / group = b·Hkv + ⌊h/group⌋
    out.set(x.data.subarray(src, src + n), bh * n);
  }
  return result(out, [B, nHead, T, D], "repeatHeads", [x], (g) => {
    const dx = allocate(x.dtype, x.size);
    for (let bh = 0; bh < B * nHead; bh++) {
      const dst = Math.floor(bh / group) * n, src = bh * n;
      for (let i = 0; i < n; i++) dx[dst + i] += g[src + i];
    }
    accumulateGrad(x, dx);
  });
}
