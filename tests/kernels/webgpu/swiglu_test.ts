import { swigluBackward, swigluForward } from "../../../lib/kernels/swiglu.ts";
import { swigluBackwardGpu, swigluForwardGpu } from "../../../lib/kernels/webgpu/swiglu.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

async function check(gpu: Gpu, n: number): Promise<void> {
  const rng = new Rng(n + 17);
  const g = randn(rng, n, 3), u = randn(rng, n), dy = randn(rng, n);
  const out = new Float32Array(n), dg = new Float32Array(n), du = new Float32Array(n);
  swigluForward(g, u, out, n);
  swigluBackward(g, u, dy, dg, du, n);
  const gg = gpu.upload(g), gu = gpu.upload(u), gdy = gpu.upload(dy);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const gout = gpu.array(n),
      gdg = gpu.array(n),
      gdu = gpu.array(n),
      gdg1 = gpu.array(n),
      gdu1 = gpu.array(n);
    swigluForwardGpu(gpu, gg, gu, gout, n);
    swigluBackwardGpu(gpu, gg, gu, gdy, gdg, gdu, n);
    swigluBackwardGpu(gpu, gg, gu, gdy, gdg1, null, n);
    swigluBackwardGpu(gpu, gg, gu, gdy, null, gdu1, n);
    runs.push([
      (await expectClose(gpu, gout, out, `swiglu n ${n} out`)).got,
      (await expectClose(gpu, gdg, dg, `swiglu n ${n} dg`)).got,
      (await expectClose(gpu, gdu, du, `swiglu n ${n} du`)).got,
      (await expectClose(gpu, gdg1, dg, `swiglu n ${n} dg alone`)).got,
      (await expectClose(gpu, gdu1, du, `swiglu n ${n} du alone`)).got,
    ]);
    for (const a of [gout, gdg, gdu, gdg1, gdu1]) gpu.release(a);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `tensor ${i}`));
  for (const a of [gg, gu, gdy]) gpu.release(a);
}

gpuTest(
  "webgpu swiglu: forward and backward match js (n = 1, 1000, 4099), two runs give the same bits",
  async (gpu) => {
    for (const n of [1, 1000, 4099]) await check(gpu, n);
  },
);

gpuTest("webgpu swiglu: arrays larger than one binding are split", async () => {
  await smallBindingGpu((gpu) => check(gpu, 3000));
});
