import { ropeRotate } from "../../../lib/kernels/rope.ts";
import { ropeRotateGpu } from "../../../lib/kernels/webgpu/rope.ts";
import { RopeTable } from "../../../lib/tensor/ops/rope.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn } from "./_rows.ts";

// B, T, H, D, pos0: T = 1 at a later position (decoding), several heads, a head size that is not a power of two
const SHAPES: [number, number, number, number, number][] = [[2, 5, 3, 8, 0], [1, 1, 2, 6, 7], [
  3,
  4,
  1,
  2,
  2,
]];

for (const [B, T, H, D, pos0] of SHAPES) {
  gpuTest(
    `webgpu rope: forward and backward rotations match js, B ${B} T ${T} H ${H} D ${D} pos0 ${pos0}`,
    async (gpu) => {
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
    },
  );
}
