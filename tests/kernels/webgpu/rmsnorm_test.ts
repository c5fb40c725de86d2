import { rmsNormBackward, rmsNormForward } from "../../../lib/kernels/rmsnorm.ts";
import { rmsNormBackwardGpu, rmsNormForwardGpu } from "../../../lib/kernels/webgpu/rmsnorm.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

/** Forward and backward (dw accumulated onto random values) against js, twice, the same bits. */
async function check(gpu: Gpu, rows: number, C: number): Promise<void> {
  const rng = new Rng(rows * 1000 + C);
  const x = randn(rng, rows * C, 2), w = randn(rng, C), dy = randn(rng, rows * C), dw0 = randn(rng, C);
  const out = new Float32Array(rows * C), rstd = new Float32Array(rows);
  rmsNormForward(x, w, out, rstd, rows, C, 1e-6);
  const dx = new Float32Array(rows * C), dw = dw0.slice();
  rmsNormBackward(x, w, rstd, dy, dx, dw, rows, C);
  const gx = gpu.upload(x), gw = gpu.upload(w), gdy = gpu.upload(dy);
  const gout = gpu.array(rows * C), grstd = gpu.array(rows);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    rmsNormForwardGpu(gpu, gx, gw, gout, grstd, rows, C, 1e-6);
    const gdx = gpu.array(rows * C), gdw = gpu.upload(dw0);
    rmsNormBackwardGpu(gpu, gx, gw, grstd, gdy, gdx, gdw, rows, C);
    const what = `rmsnorm ${rows}×${C}`;
    runs.push([
      (await expectClose(gpu, gout, out, `${what} out`)).got,
      (await expectClose(gpu, grstd, rstd, `${what} rstd`)).got,
      (await expectClose(gpu, gdx, dx, `${what} dx`)).got,
      (await expectClose(gpu, gdw, dw, `${what} dw`)).got,
    ]);
    gpu.release(gdx);
    gpu.release(gdw);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `tensor ${i}`));
  for (const a of [gx, gw, gdy, gout, grstd]) gpu.release(a);
}

// rows × C: a row longer than a workgroup, tiny rows, one row, more rows than a block of the dw partials
for (const [rows, C] of [[5, 1037], [7, 3], [1, 64], [130, 65]]) {
  gpuTest(
    `webgpu rmsnorm: forward and backward match js, rows ${rows} × C ${C}`,
    (gpu) => check(gpu, rows, C),
  );
}

gpuTest("webgpu rmsnorm: arrays larger than one binding are split by rows", async () => {
  await smallBindingGpu(async (gpu) => {
    await check(gpu, 30, 100); // 9 rows per 1,024-float binding
    await check(gpu, 1000, 3); // 320 rows per binding: several blocks of dw partials per chunk
  });
});

gpuTest("webgpu rmsnorm: a null dx or dw is skipped", async (gpu) => {
  const rng = new Rng(9), rows = 4, C = 20;
  const x = randn(rng, rows * C), w = randn(rng, C), dy = randn(rng, rows * C), dw0 = randn(rng, C);
  const out = new Float32Array(rows * C), rstd = new Float32Array(rows), dx = new Float32Array(rows * C);
  rmsNormForward(x, w, out, rstd, rows, C, 1e-6);
  const dw = dw0.slice();
  rmsNormBackward(x, w, rstd, dy, null, dw, rows, C);
  rmsNormBackward(x, w, rstd, dy, dx, null, rows, C);
  const args = [gpu.upload(x), gpu.upload(w), gpu.upload(rstd), gpu.upload(dy)] as const;
  const gdw = gpu.upload(dw0), gdx = gpu.array(rows * C);
  rmsNormBackwardGpu(gpu, ...args, null, gdw, rows, C);
  rmsNormBackwardGpu(gpu, ...args, gdx, null, rows, C);
  await expectClose(gpu, gdw, dw, "dw alone");
  await expectClose(gpu, gdx, dx, "dx alone");
});
