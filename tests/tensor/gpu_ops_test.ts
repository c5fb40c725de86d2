/**
 * The tensor ops on the GPU, one by one, against the same ops on the `js` backend: the output and the gradient
 * of every input (from a random output gradient), per tensor within 1e-5 · max|js|; two GPU runs give the same
 * bits. Shapes are small and odd (lavapipe is slow; nothing lines up with a workgroup).
 */
import assert from "node:assert/strict";
import type { Gpu, GpuArray } from "../../lib/kernels/webgpu/runtime.ts";
import { gpuMask } from "../../lib/tensor/gpu/mask.ts";
import { Rng } from "../../lib/random.ts";
import {
  attention,
  type AttentionMask,
  cat,
  causalMask,
  dropout,
  matmul,
  mean,
  mul,
  narrow,
  permute,
  reshape,
  scale,
  selfAttention,
  setPrecision,
  softmax,
  sum,
  Tensor,
  transpose,
} from "../../lib/tensor/mod.ts";
import { repeatHeads } from "../../lib/tensor/ops/gqa.ts";
import { attentionWithBias, relativePositionBias } from "../../lib/tensor/ops/relpos.ts";
import { withBackend } from "../_helpers/backend.ts";
import { gpuTest, relErr } from "../_helpers/webgpu.ts";

interface Run {
  y: Float32Array;
  grads: Float32Array[];
}

function values(shape: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed), n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

function cpuRun(shapes: number[][], f: (xs: Tensor[]) => Tensor, g: Float32Array): Run {
  return withBackend("js", () => {
    const xs = shapes.map((s, i) => new Tensor(values(s, 10 + i), s, true));
    const y = f(xs);
    y.backward(g);
    return { y: Float32Array.from(y.data), grads: xs.map((x) => Float32Array.from(x.grad!)) };
  });
}

async function gpuRun(
  gpu: Gpu,
  shapes: number[][],
  f: (xs: Tensor[]) => Tensor,
  g: Float32Array,
): Promise<Run> {
  const xs = shapes.map((s, i) => new Tensor(values(s, 10 + i), s, true).toGpu(gpu));
  const y = gpu.step(() => {
    const y = f(xs);
    const read = y.read();
    y.backward(g);
    return read;
  });
  const grads = await Promise.all(xs.map((x) => gpu.read(x.gpuGrad!)));
  return { y: (await y) as Float32Array, grads };
}

/** f on the GPU vs js: output and every input's gradient within 1e-5, and a second GPU run bit-identical. */
async function check(gpu: Gpu, name: string, shapes: number[][], f: (xs: Tensor[]) => Tensor): Promise<void> {
  const probe = withBackend("js", () => f(shapes.map((s) => Tensor.zeros(s))));
  const g = values(probe.shape, 99);
  const ref = cpuRun(shapes, f, g);
  const a = await gpuRun(gpu, shapes, f, g), b = await gpuRun(gpu, shapes, f, g);
  const err = relErr(a.y, ref.y);
  assert.ok(err <= 1e-5, `${name}: output relative error ${err}`);
  assert.deepEqual(b.y, a.y, `${name}: second run's output differs`);
  ref.grads.forEach((r, i) => {
    const e = relErr(a.grads[i], r);
    assert.ok(e <= 1e-5, `${name}: gradient of input ${i}: relative error ${e}`);
    assert.deepEqual(b.grads[i], a.grads[i], `${name}: second run's gradient ${i} differs`);
  });
}

function randomMask(Tq: number, Tk: number, seed: number): AttentionMask {
  const rng = new Rng(seed), data = new Uint8Array(Tq * Tk);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.7 ? 1 : 0;
  data.fill(0, Tk, 2 * Tk); // a query that sees nothing
  return { Tq, Tk, data };
}

gpuTest("webgpu ops: mul (same shape, suffix broadcast), scale, sum, mean", async (gpu) => {
  await check(gpu, "mul same", [[3, 7], [3, 7]], ([a, b]) => mul(a, b));
  await check(gpu, "mul broadcast", [[70, 5, 3], [5, 3]], ([a, b]) => mul(a, b));
  await check(gpu, "scale", [[5, 13]], ([a]) => scale(a, -0.37));
  await check(gpu, "sum", [[3, 1000]], ([a]) => sum(a));
  await check(gpu, "mean", [[17, 3]], ([a]) => mean(a));
});

gpuTest("webgpu ops: matmul batched, with a shared right operand, and 2-D", async (gpu) => {
  await check(gpu, "matmul 2-D", [[7, 5], [5, 9]], ([a, b]) => matmul(a, b));
  await check(gpu, "matmul shared", [[3, 7, 5], [5, 9]], ([a, b]) => matmul(a, b));
  await check(gpu, "matmul batched", [[2, 3, 7, 5], [2, 3, 5, 9]], ([a, b]) => matmul(a, b));
  await check(gpu, "matmul T = 1", [[4, 1, 6], [4, 6, 1]], ([a, b]) => matmul(a, b));
});

gpuTest("webgpu ops: softmax, dropout", async (gpu) => {
  await check(gpu, "softmax", [[5, 300]], ([a]) => softmax(a));
  await check(gpu, "dropout", [[4, 33]], ([a]) => dropout(a, 0.3, new Rng(5)));
});

gpuTest("webgpu ops: permute, transpose, narrow, cat, reshape", async (gpu) => {
  await check(gpu, "permute", [[2, 3, 4, 5]], ([a]) => permute(a, [0, 2, 3, 1]));
  await check(gpu, "transpose", [[3, 7]], ([a]) => transpose(a, 0, -1));
  await check(gpu, "narrow middle", [[3, 8, 5]], ([a]) => narrow(a, 1, 2, 3));
  await check(gpu, "narrow last", [[3, 2, 9]], ([a]) => narrow(a, -1, 4, 5));
  await check(gpu, "narrow first", [[4, 3]], ([a]) => narrow(a, 0, 1, 2));
  await check(gpu, "cat", [[2, 3], [1, 3], [4, 3]], (xs) => cat(xs));
  await check(
    gpu,
    "reshape + permute",
    [[2, 6, 4]],
    ([a]) => permute(reshape(a, [2, 6, 2, 2]), [0, 2, 1, 3]),
  );
});

gpuTest(
  "webgpu ops: attention on (B, H, T, D) with masks and dropout; selfAttention with dropout",
  async (gpu) => {
    const q = [2, 3, 5, 4], kv = [2, 3, 9, 4];
    await check(
      gpu,
      "attention causal over a cache",
      [q, kv, kv],
      ([a, b, c]) => attention(a, b, c, causalMask(5, 9)),
    );
    await check(gpu, "attention masked", [q, kv, kv], ([a, b, c]) => attention(a, b, c, randomMask(5, 9, 3)));
    await check(
      gpu,
      "attention dropout",
      [q, kv, kv],
      ([a, b, c]) => attention(a, b, c, causalMask(5, 9), { dropout: 0.2, rng: new Rng(8) }),
    );
    await check(
      gpu,
      "attention T = 1",
      [[2, 3, 1, 4], [2, 3, 1, 4], [2, 3, 1, 4]],
      ([a, b, c]) => attention(a, b, c, causalMask(1)),
    );
    await check(
      gpu,
      "selfAttention dropout",
      [[2, 7, 3 * 12]],
      ([a]) => selfAttention(a, 3, causalMask(7), { dropout: 0.25, rng: new Rng(9) }),
    );
  },
);

gpuTest(
  "webgpu ops: T5's relative position bias, biased attention (lengths, masks, dropout), repeatHeads",
  async (gpu) => {
    const Tq = 5, Tk = 6, H = 3, buckets = Int32Array.from({ length: Tq * Tk }, (_, p) => (p * 7) % 11);
    await check(gpu, "relativePositionBias", [[11, H]], ([t]) => relativePositionBias(t, buckets, Tq, Tk));
    const q = [2, H, Tq, 4], kv = [2, H, Tk, 4], bias = [H, Tq, Tk];
    await check(
      gpu,
      "attentionWithBias lengths",
      [q, kv, kv, bias],
      ([a, b, c, d]) => attentionWithBias(a, b, c, d, null, { keyLengths: Int32Array.of(Tk, 2) }),
    );
    await check(
      gpu,
      "attentionWithBias mask dropout",
      [q, kv, kv, bias],
      ([a, b, c, d]) =>
        attentionWithBias(a, b, c, d, randomMask(Tq, Tk, 4), { scale: 1, dropout: 0.2, rng: new Rng(6) }),
    );
    await check(
      gpu,
      "attentionWithBias no bias, causal",
      [[2, H, Tk, 4], kv, kv],
      ([a, b, c]) => attentionWithBias(a, b, c, null, causalMask(Tk)),
    );
    await check(gpu, "repeatHeads", [[2, 2, 5, 3]], ([x]) => repeatHeads(x, 6));
  },
);

gpuTest("webgpu ops: a 16-bit precision is refused with one line naming the op", (gpu) => {
  const x = new Tensor(values([3, 4], 1), [3, 4]).toGpu(gpu);
  setPrecision("bf16");
  try {
    assert.throws(() => scale(x, 2), /scale: train\.precision "bf16" is not on webgpu yet/);
  } finally {
    setPrecision("fp32");
  }
});

gpuTest("webgpu ops: an explicit mask is uploaded once per step and given back with it", (gpu) => {
  const mask = randomMask(3, 4, 1);
  const first = gpu.step(() => {
    const m = gpuMask(gpu, mask);
    assert.equal(gpuMask(gpu, mask), m, "uploaded once per step");
    return m as GpuArray;
  });
  assert.equal(first.released, true);
  gpu.step(() => {
    const again = gpuMask(gpu, mask) as GpuArray;
    assert.notEqual(again, first);
    assert.equal(again.released, false);
  });
  assert.equal(gpuMask(gpu, causalMask(5, 7)), "causal");
});
