import assert from "node:assert/strict";
import { embedding } from "../../../lib/tensor/ops/nn.ts";
import { backward, Tensor } from "../../../lib/tensor/tensor.ts";
import {
  embeddingBackwardGpu,
  embeddingForwardGpu,
  embeddingPlan,
} from "../../../lib/kernels/webgpu/embedding.ts";
import type { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { expectClose, expectSameBits, randn, smallBindingGpu } from "./_rows.ts";

/** The gather and the table gradient against the CPU op (lib/tensor/ops/nn.ts `embedding`) and its backward. */
async function check(gpu: Gpu, n: number, V: number, C: number): Promise<void> {
  const rng = new Rng(n * 101 + V * 7 + C);
  const ids = Int32Array.from({ length: n }, () => rng.int(Math.max(1, V - 3))); // the last ids never occur
  if (n > 2) ids[1] = ids[n - 1]; // a repeated id for sure
  const weight = randn(rng, V * C), g = randn(rng, n * C);
  const w = new Tensor(weight.slice(), [V, C], true);
  const out = embedding(ids, [n], w);
  backward(out, g);
  const plan = embeddingPlan(ids, V);
  const gids = gpu.upload(ids), gweight = gpu.upload(weight), gg = gpu.upload(g);
  const order = gpu.upload(plan.order), starts = gpu.upload(plan.starts);
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const gout = gpu.array(n * C), gw = gpu.array(V * C);
    embeddingForwardGpu(gpu, gids, gweight, gout, n, C);
    embeddingBackwardGpu(gpu, gg, order, starts, gw, V, C);
    runs.push([
      (await expectClose(gpu, gout, out.data as Float32Array, `embedding n ${n} V ${V} C ${C} out`)).got,
      (await expectClose(gpu, gw, w.grad as Float32Array, `embedding n ${n} V ${V} C ${C} gw`)).got,
    ]);
    gpu.release(gout);
    gpu.release(gw);
  }
  // the gather copies and the gradient adds in the CPU's order: the same bits as the CPU, run after run
  expectSameBits(runs[0][0], out.data as Float32Array, "out vs CPU");
  expectSameBits(runs[0][1], w.grad as Float32Array, "gw vs CPU");
  runs[0].forEach((a, i) => expectSameBits(a, runs[1][i], `tensor ${i}`));
  for (const a of [gids, gweight, gg, order, starts]) gpu.release(a);
}

gpuTest("webgpu embedding: gather and deterministic table gradient match the CPU op", async (gpu) => {
  await check(gpu, 50, 37, 70); // repeated and unused ids, C not a multiple of the workgroup
  await check(gpu, 1, 5, 3);
  await check(gpu, 300, 11, 257);
});

gpuTest("webgpu embedding: a table larger than one binding is split by rows", async () => {
  // 9 table rows per 1,024-float binding (the n·C output and gradient fit one)
  await smallBindingGpu((gpu) => check(gpu, 8, 45, 100));
});

Deno.test("webgpu embedding: the plan groups positions by id in position order", () => {
  const plan = embeddingPlan(Int32Array.of(2, 0, 2, 1, 2), 4);
  assert.deepEqual([...plan.starts], [0, 1, 2, 5, 5]);
  assert.deepEqual([...plan.order], [1, 3, 0, 2, 4]);
  assert.throws(() => embeddingPlan(Int32Array.of(4), 4), /outside the table of 4 rows/);
});
