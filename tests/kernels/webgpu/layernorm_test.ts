import { layerNormBackward, layerNormForward } from "../../../lib/kernels/layernorm.ts";
import { layerNormBackwardGpu, layerNormForwardGpu } from "../../../lib/kernels/webgpu/layernorm.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

/** Forward and backward (dw, db accumulated onto random values) against js, twice, the same bits. */
async function check(gpu: Gpu, rows: number, C: number, bias: boolean): Promise<void> {
  const rng = new Rng(rows * 1000 + C);
  const x = randn(rng, rows * C, 2), w = randn(rng, C), b = bias ? randn(rng, C) : null;
  const dy = randn(rng, rows * C), dw0 = randn(rng, C), db0 = randn(rng, C);
  const out = new Float32Array(rows * C), mean = new Float32Array(rows), rstd = new Float32Array(rows);
  layerNormForward(x, w, b, out, mean, rstd, rows, C, 1e-5);
  const dx = new Float32Array(rows * C), dw = dw0.slice(), db = db0.slice();
  layerNormBackward(x, w, mean, rstd, dy, dx, dw, bias ? db : null, rows, C);

  const gx = gpu.upload(x), gw = gpu.upload(w), gb = b === null ? null : gpu.upload(b), gdy = gpu.upload(dy);
  const gout = gpu.array(rows * C), gmean = gpu.array(rows), grstd = gpu.array(rows);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    layerNormForwardGpu(gpu, gx, gw, gb, gout, gmean, grstd, rows, C, 1e-5);
    const gdx = gpu.array(rows * C), gdw = gpu.upload(dw0), gdb = gpu.upload(db0);
    layerNormBackwardGpu(gpu, gx, gw, gmean, grstd, gdy, gdx, gdw, bias ? gdb : null, rows, C);
    const what = `layernorm ${rows}×${C} bias ${bias}`;
    runs.push([
      (await expectClose(gpu, gout, out, `${what} out`)).got,
      (await expectClose(gpu, gmean, mean, `${what} mean`)).got,
      (await expectClose(gpu, grstd, rstd, `${what} rstd`)).got,
      (await expectClose(gpu, gdx, dx, `${what} dx`)).got,
      (await expectClose(gpu, gdw, dw, `${what} dw`)).got,
      (await expectClose(gpu, gdb, db, `${what} db`)).got,
    ]);
    for (const a of [gdx, gdw, gdb]) gpu.release(a);
  }
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `tensor ${i}`));
  for (const a of [gx, gw, gdy, gout, gmean, grstd]) gpu.release(a);
  if (gb !== null) gpu.release(gb);
}

// rows × C: a row longer than a workgroup (1,037 > 256), tiny rows (C = 3), one row, more rows than a block (130)
for (const [rows, C] of [[5, 1037], [7, 3], [1, 64], [130, 65]]) {
  gpuTest(
    `webgpu layernorm: forward and backward match js, rows ${rows} × C ${C}, with and without bias`,
    async (gpu) => {
      await check(gpu, rows, C, true);
      await check(gpu, rows, C, false);
    },
  );
}

gpuTest("webgpu layernorm: arrays larger than one binding are split by rows", async () => {
  await smallBindingGpu(async (gpu) => {
    await check(gpu, 30, 100, true); // 9 rows per 1,024-float binding
    await check(gpu, 1000, 3, false); // 320 rows per binding: several blocks of dw/db partials per chunk
  });
});

gpuTest("webgpu layernorm: null gradients are skipped; dw alone accumulates", async (gpu) => {
  const rng = new Rng(3), rows = 9, C = 33;
  const x = randn(rng, rows * C), w = randn(rng, C), dy = randn(rng, rows * C), dw0 = randn(rng, C);
  const out = new Float32Array(rows * C), mean = new Float32Array(rows), rstd = new Float32Array(rows);
  layerNormForward(x, w, null, out, mean, rstd, rows, C, 1e-5);
  const dw = dw0.slice();
  layerNormBackward(x, w, mean, rstd, dy, null, dw, null, rows, C);
  const gdw = gpu.upload(dw0);
  const args = [gpu.upload(x), gpu.upload(w), gpu.upload(mean), gpu.upload(rstd), gpu.upload(dy)] as const;
  layerNormBackwardGpu(gpu, ...args, null, gdw, null, rows, C);
  await expectClose(gpu, gdw, dw, "layernorm dw alone");
});
