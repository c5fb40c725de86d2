import assert from "node:assert/strict";
import {
  accumulateGpu,
  fillFromGpu,
  fillGpu,
  mulGpu,
  mulSumRowsGpu,
  scaleGpu,
  sumGpu,
} from "../../../lib/kernels/webgpu/arith.ts";
import { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

const rand = (rng: Rng, n: number, lo = -1) =>
  Float32Array.from({ length: n }, () => lo + rng.next() * (1 - lo));

// The CPU loops of lib/tensor/ops/arith.ts, on float32 storage.
function mulRef(x: Float32Array, y: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < out.length; o += n) for (let j = 0; j < n; j++) out[o + j] = x[o + j] * y[j];
  return out;
}
function mulSumRowsRef(g: Float32Array, x: Float32Array, n: number): Float32Array {
  const gs = new Float32Array(n);
  for (let o = 0; o < g.length; o += n) for (let j = 0; j < n; j++) gs[j] += g[o + j] * x[o + j];
  return gs;
}

gpuTest(
  "webgpu arith: mul with suffix broadcasting and both gradients, against the CPU loops",
  async (gpu) => {
    const rng = new Rng(1);
    for (const [rows, n] of [[1, 1], [1, 1000], [37, 300], [200, 70], [5, 1], [1000, 3]]) {
      const x = rand(rng, rows * n), y = rand(rng, n), g = rand(rng, rows * n);
      const [gx, gy, gg] = [x, y, g].map((a) => gpu.upload(a));
      const out = gpu.array(rows * n), dBig = gpu.array(rows * n), dSmall = gpu.array(n);
      mulGpu(gpu, gx, gy, out, rows, n);
      mulGpu(gpu, gg, gy, dBig, rows, n); // the big operand's gradient: g · y
      mulSumRowsGpu(gpu, gg, gx, dSmall, rows, n);
      const at = `rows ${rows} n ${n}`;
      assert.ok(relErr(await gpu.read(out), mulRef(x, y, n)) <= 1e-5, `${at}: forward`);
      assert.ok(relErr(await gpu.read(dBig), mulRef(g, y, n)) <= 1e-5, `${at}: big gradient`);
      const e = relErr(await gpu.read(dSmall), mulSumRowsRef(g, x, n));
      assert.ok(e <= 1e-5, `${at}: small gradient relErr ${e}`);
      for (const a of [gx, gy, gg, out, dBig, dSmall]) gpu.release(a);
    }
  },
);

gpuTest("webgpu arith: scale (also in place), fill and fill from a one-element array", async (gpu) => {
  const rng = new Rng(2);
  const x = rand(rng, 1001);
  const gx = gpu.upload(x), out = gpu.array(1001);
  scaleGpu(gpu, gx, 0.3, out);
  assert.ok(relErr(await gpu.read(out), x.map((v) => v * 0.3)) <= 1e-5);
  scaleGpu(gpu, gx, -2, gx, 500);
  const half = await gpu.read(gx);
  assert.deepEqual([...half.subarray(0, 500)], [...x.subarray(0, 500)].map((v) => v * -2));
  assert.deepEqual(half.subarray(500), x.subarray(500));
  fillGpu(gpu, out, 1.5, 700);
  const filled = await gpu.read(out);
  assert.ok(filled.subarray(0, 700).every((v) => v === 1.5) && filled[700] !== 1.5);
  const one = gpu.upload([-0.25, 3]);
  fillFromGpu(gpu, one, out);
  assert.ok((await gpu.read(out)).every((v) => v === -0.25));
  fillFromGpu(gpu, one, out, 10, 1);
  const seeded = await gpu.read(out);
  assert.ok(seeded.subarray(0, 10).every((v) => v === 3) && seeded[10] === -0.25);
  for (const a of [gx, out, one]) gpu.release(a);
});

gpuTest("webgpu arith: accumulate in place", async (gpu) => {
  const rng = new Rng(5);
  const a = rand(rng, 777), b = rand(rng, 777);
  const [ga, gb] = [a, b].map((x) => gpu.upload(x));
  accumulateGpu(gpu, ga, gb, 700);
  const got = await gpu.read(ga);
  const ref = a.map((x, i) => (i < 700 ? Math.fround(x + b[i]) : x));
  assert.deepEqual(got, ref);
  gpu.release(ga);
  gpu.release(gb);
});

gpuTest("webgpu arith: sum in one, two and three passes; two runs give identical bits", async (gpu) => {
  const rng = new Rng(3);
  for (const n of [1, 255, 2049, 100_000, 2048 * 2048 + 5]) {
    const x = rand(rng, n, -0.5);
    let ref = 0;
    for (let i = 0; i < n; i++) ref += x[i];
    const gx = gpu.upload(x);
    const bits: number[] = [];
    for (let r = 0; r < 2; r++) {
      const out = gpu.array(1);
      sumGpu(gpu, gx, out);
      const got = await gpu.read(out);
      assert.ok(relErr(got, [ref]) <= 1e-5, `n ${n}: ${got[0]} vs ${ref}`);
      bits.push(new Uint32Array(got.buffer)[0]);
      gpu.release(out);
    }
    assert.equal(bits[0], bits[1]);
    gpu.release(gx);
  }
  const none = gpu.array(0), empty = gpu.array(1);
  sumGpu(gpu, none, empty);
  assert.equal((await gpu.read(empty))[0], 0);
  gpu.release(none);
  gpu.release(empty);
});

gpuTest("webgpu arith: arrays larger than one binding go window by window", async () => {
  const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 elements per binding
  assert.ok(small !== null);
  try {
    const rng = new Rng(4);
    const rows = 7, n = 300; // 2,100 elements: three windows, the second starting mid-row
    const x = rand(rng, rows * n), y = rand(rng, n);
    const [gx, gy] = [x, y].map((a) => small.upload(a));
    const out = small.array(rows * n);
    mulGpu(small, gx, gy, out, rows, n);
    assert.ok(relErr(await small.read(out), mulRef(x, y, n)) <= 1e-5);
    scaleGpu(small, gx, 3, out);
    assert.ok(relErr(await small.read(out), x.map((v) => v * 3)) <= 1e-5);
    const s = small.array(1);
    sumGpu(small, gx, s);
    assert.ok(relErr(await small.read(s), [x.reduce((a, b) => a + b, 0)]) <= 1e-5);
    fillGpu(small, out, 2);
    assert.ok((await small.read(out)).every((v) => v === 2));
    accumulateGpu(small, out, gx);
    assert.deepEqual(await small.read(out), x.map((v) => Math.fround(v + 2)));
    await small.finish();
  } finally {
    small.destroy();
  }
});
