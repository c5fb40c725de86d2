import { dropoutGpu } from "../../../lib/kernels/webgpu/dropout.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { backward, Tensor } from "../../../lib/tensor/tensor.ts";
import { dropout, dropoutMask } from "../../../lib/tensor/ops/nn.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

/** Forward and backward against the CPU op, with the mask drawn from the same seeded generator. */
async function check(gpu: Gpu, n: number, p: number): Promise<void> {
  const rng = new Rng(n);
  const x = randn(rng, n), g = randn(rng, n);
  const xt = new Tensor(x.slice(), [n], true);
  const y = dropout(xt, p, new Rng(42));
  backward(y, g);
  const keep = gpu.upload(Uint32Array.from(dropoutMask(n, p, new Rng(42)))); // the op's draws
  const gx = gpu.upload(x), gg = gpu.upload(g), scale = 1 / (1 - p);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const gy = gpu.array(n), gdx = gpu.array(n);
    dropoutGpu(gpu, gx, keep, gy, n, scale);
    dropoutGpu(gpu, gg, keep, gdx, n, scale);
    runs.push([
      (await expectClose(gpu, gy, y.data as Float32Array, `dropout n ${n} out`)).got,
      (await expectClose(gpu, gdx, xt.grad as Float32Array, `dropout n ${n} dx`)).got,
    ]);
    gpu.release(gy);
    gpu.release(gdx);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `tensor ${i}`));
  for (const a of [keep, gx, gg]) gpu.release(a);
}

gpuTest("webgpu dropout: forward and backward match the CPU op with the same seeded mask", async (gpu) => {
  await check(gpu, 1, 0.5);
  await check(gpu, 1000, 0.1);
  await check(gpu, 4099, 0.3);
});

gpuTest("webgpu dropout: arrays larger than one binding are split", async () => {
  await smallBindingGpu((gpu) => check(gpu, 3000, 0.2));
});
