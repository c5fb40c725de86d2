import { ropeRotate } from "../../../lib/kernels/rope.ts";
import { ropeRotateGpu } from "../../../lib/kernels/webgpu/rope.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { RopeTable } from "../../../lib/tensor/ops/rope.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

/** Both rotations (sign 1 and −1) against js, twice, the same bits. */
async function check(gpu: Gpu, B: number, T: number, H: number, D: number, pos0: number): Promise<void> {
  const table = new RopeTable(16, D);
  const ref = { cos: table.cos, sin: table.sin, cos32: null, sin32: null }; // the plain js loops
  const n = B * T * 3 * H * D;
  const src = randn(new Rng(n + pos0), n);
  const cos = gpu.upload(table.cos), sin = gpu.upload(table.sin), gsrc = gpu.upload(src);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const got: Float32Array[] = [];
    for (const sign of [1, -1] as const) {
      const out = src.slice();
      ropeRotate(src, out, B, T, H, D, pos0, ref, sign);
      const gout = gpu.upload(src);
      ropeRotateGpu(gpu, gsrc, gout, B, T, H, D, pos0, cos, sin, sign);
      got.push((await expectClose(gpu, gout, out, `rope ${B}×${T}×${H}×${D} sign ${sign}`)).got);
      gpu.release(gout);
    }
    runs.push(got);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `tensor ${i}`));
  for (const a of [cos, sin, gsrc]) gpu.release(a);
}

// B, T, H, D, pos0: T = 1 at a later position (decoding), several heads, a head size that is not a power of two
for (const [B, T, H, D, pos0] of [[2, 5, 3, 8, 0], [1, 1, 2, 6, 7], [3, 4, 1, 2, 2]]) {
  gpuTest(
    `webgpu rope: forward and backward rotations match js, B ${B} T ${T} H ${H} D ${D} pos0 ${pos0}`,
    (gpu) => check(gpu, B, T, H, D, pos0),
  );
}

gpuTest("webgpu rope: arrays larger than one binding are split by (b, t) rows", async () => {
  await smallBindingGpu((gpu) => check(gpu, 2, 7, 4, 10, 3)); // rows of 120 floats: 8 per 1,024-float binding
});
