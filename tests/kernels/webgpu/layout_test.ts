/**
 * The layout kernels against the CPU ops whose copies they make (the js loops of lib/tensor/ops/shape.ts and
 * gqa.ts, run on host tensors): copies are exact, and the repeats' backward sums each group in the CPU's head
 * order, so every result must equal the CPU's bits; two runs likewise.
 */
import assert from "node:assert/strict";
import {
  copyRowsGpu,
  permuteGpu,
  repeatHeadsBackwardGpu,
  repeatHeadsGpu,
  repeatKvHeadsBackwardGpu,
  repeatKvHeadsGpu,
} from "../../../lib/kernels/webgpu/layout.ts";
import type { Gpu, GpuArray } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { narrow, permute, Tensor } from "../../../lib/tensor/mod.ts";
import { repeatHeads, repeatKvHeads } from "../../../lib/tensor/ops/gqa.ts";
import { withBackend } from "../../_helpers/backend.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";
import { randn, smallBindingGpu } from "./_rows.ts";

/** The CPU op's output and its input's gradient for the output gradient g. */
function cpu(
  x: Float32Array,
  shape: number[],
  f: (t: Tensor) => Tensor,
  g: Float32Array,
): [Float32Array, Float32Array] {
  return withBackend("js", () => {
    const t = new Tensor(Float32Array.from(x), shape, true);
    const y = f(t);
    y.backward(g);
    return [Float32Array.from(y.data), Float32Array.from(t.grad!)];
  });
}

/** Runs `record` twice on fresh output arrays; both runs must give `want` exactly. */
async function expectExact(
  gpu: Gpu,
  n: number,
  record: (out: GpuArray) => void,
  want: Float32Array,
  what: string,
) {
  for (let run = 0; run < 2; run++) {
    const out = gpu.array(n);
    record(out);
    assert.deepEqual(await gpu.read(out), want, `${what} (run ${run + 1})`);
    gpu.release(out);
  }
}

gpuTest(
  "webgpu layout: permute of 1 to 6 dimensions equals the CPU's copy, forward and back",
  async (gpu) => {
    const cases: [number[], number[]][] = [
      [[7], [0]],
      [[3, 5], [1, 0]],
      [[2, 3, 4, 5], [0, 2, 1, 3]],
      [[2, 3, 1, 5, 2, 3], [5, 3, 0, 4, 2, 1]],
    ];
    for (const [shape, perm] of cases) {
      const n = shape.reduce((a, b) => a * b, 1), rng = new Rng(n);
      const x = randn(rng, n), g = randn(rng, n);
      const [y, gx] = cpu(x, shape, (t) => permute(t, perm), g);
      const inv = perm.map((_, i) => perm.indexOf(i)), outShape = perm.map((p) => shape[p]);
      const xa = gpu.upload(x), ga = gpu.upload(g);
      await expectExact(
        gpu,
        n,
        (out) => permuteGpu(gpu, xa, shape, perm, out),
        y,
        `permute [${shape}] forward`,
      );
      await expectExact(
        gpu,
        n,
        (out) => permuteGpu(gpu, ga, outShape, inv, out),
        gx,
        `permute [${shape}] back`,
      );
      gpu.release(xa);
      gpu.release(ga);
    }
  },
);

gpuTest("webgpu layout: copyRows gives narrow's slices and puts them back", async (gpu) => {
  const [outer, size, inner, start, length] = [3, 8, 5, 2, 3];
  const rng = new Rng(2), x = randn(rng, outer * size * inner), g = randn(rng, outer * length * inner);
  const [y, gx] = cpu(x, [outer, size, inner], (t) => narrow(t, 1, start, length), g);
  const xa = gpu.upload(x), ga = gpu.upload(g), chunk = length * inner;
  await expectExact(
    gpu,
    y.length,
    (out) => {
      copyRowsGpu(gpu, xa, start * inner, size * inner, out, 0, chunk, outer, chunk);
    },
    y,
    "narrow",
  );
  await expectExact(
    gpu,
    gx.length,
    (out) => {
      gpu.fill(out, 0);
      copyRowsGpu(gpu, ga, 0, chunk, out, start * inner, size * inner, outer, chunk);
    },
    gx,
    "narrow's backward",
  );
  gpu.release(xa);
  gpu.release(ga);
});

gpuTest(
  "webgpu layout: repeatKvHeads (GQA, MQA) and repeatHeads, with their group sums, equal the CPU's bits",
  async (gpu) => {
    for (const [H, Hkv] of [[4, 2], [6, 1], [3, 3]]) {
      const B = 2, T = 3, D = 5, rows = B * T, rng = new Rng(H * 10 + Hkv);
      const x = randn(rng, rows * (H + 2 * Hkv) * D), g = randn(rng, rows * 3 * H * D);
      const [y, gx] = cpu(x, [B, T, (H + 2 * Hkv) * D], (t) => repeatKvHeads(t, H, Hkv), g);
      const xa = gpu.upload(x), ga = gpu.upload(g);
      await expectExact(
        gpu,
        y.length,
        (out) => repeatKvHeadsGpu(gpu, xa, out, rows, H, Hkv, D),
        y,
        `kv ${H}/${Hkv}`,
      );
      await expectExact(
        gpu,
        gx.length,
        (out) => {
          repeatKvHeadsBackwardGpu(gpu, ga, out, rows, H, Hkv, D);
        },
        gx,
        `kv ${H}/${Hkv} backward`,
      );
      gpu.release(xa);
      gpu.release(ga);

      const slice = T * D, hx = randn(rng, B * Hkv * slice), hg = randn(rng, B * H * slice);
      const [hy, hgx] = cpu(hx, [B, Hkv, T, D], (t) => repeatHeads(t, H), hg);
      const hxa = gpu.upload(hx), hga = gpu.upload(hg);
      await expectExact(
        gpu,
        hy.length,
        (out) => repeatHeadsGpu(gpu, hxa, out, B * H, slice, H / Hkv),
        hy,
        "heads",
      );
      await expectExact(
        gpu,
        hgx.length,
        (out) => {
          repeatHeadsBackwardGpu(gpu, hga, out, B * H, slice, H / Hkv);
        },
        hgx,
        "heads backward",
      );
      gpu.release(hxa);
      gpu.release(hga);
    }
  },
);

gpuTest("webgpu layout: an array larger than one binding is refused, naming the op", async () => {
  await smallBindingGpu((gpu) => {
    const x = gpu.zeros(2048), out = gpu.array(2048);
    assert.throws(
      () => permuteGpu(gpu, x, [32, 64], [1, 0], out),
      /permute: 2048 elements exceed one storage binding/,
    );
    return Promise.resolve();
  });
});
