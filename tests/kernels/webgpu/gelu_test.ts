import { geluBackward, geluForward } from "../../../lib/kernels/gelu.ts";
import { geluBackwardGpu, geluForwardGpu } from "../../../lib/kernels/webgpu/gelu.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

async function check(gpu: Gpu, n: number): Promise<void> {
  const rng = new Rng(n);
  const x = randn(rng, n, 3), dy = randn(rng, n);
  const out = new Float32Array(n), dx = new Float32Array(n);
  geluForward(x, out, n);
  geluBackward(x, dy, dx, n);
  const gx = gpu.upload(x), gdy = gpu.upload(dy);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const gout = gpu.array(n), gdx = gpu.array(n);
    geluForwardGpu(gpu, gx, gout, n);
    geluBackwardGpu(gpu, gx, gdy, gdx, n);
    runs.push([
      (await expectClose(gpu, gout, out, `gelu out n ${n}`)).got,
      (await expectClose(gpu, gdx, dx, `gelu dx n ${n}`)).got,
    ]);
    gpu.release(gout);
    gpu.release(gdx);
  }
  expectSameBits(runs[0][0], runs[1][0], "out");
  expectSameBits(runs[0][1], runs[1][1], "dx");
  gpu.release(gx);
  gpu.release(gdy);
}

gpuTest(
  "webgpu gelu: forward and backward match js (n = 1, 1000, 4099), two runs give the same bits",
  async (gpu) => {
    for (const n of [1, 1000, 4099]) await check(gpu, n);
  },
);

gpuTest("webgpu gelu: arrays larger than one binding are split", async () => {
  await smallBindingGpu((gpu) => check(gpu, 5000));
});
