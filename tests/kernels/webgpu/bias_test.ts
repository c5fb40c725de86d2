import assert from "node:assert/strict";
import { addRows, addVec, sumRows } from "../../../lib/kernels/bias.ts";
import { addBiasGpu, addRowsGpu, addVecGpu, sumRowsGpu } from "../../../lib/kernels/webgpu/bias.ts";
import { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

const TOL = 1e-5;

function rand(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function near(got: Float32Array, ref: Float32Array, what: string): number {
  const e = relErr(got, ref);
  assert.ok(e <= TOL, `${what}: relErr ${e}`);
  return e;
}

// widths below, at and above the workgroup sizes (64, 256); one row; rows longer than a workgroup
const SHAPES: [number, number][] = [[1, 1], [1, 300], [7, 63], [33, 65], [300, 5], [5, 1000]];

gpuTest("webgpu addRows / addBias equal the js reference (out apart, and in place)", async (gpu) => {
  const rng = new Rng(1);
  for (const [rows, n] of SHAPES) {
    const x = rand(rows * n, rng), b = rand(n, rng);
    const ref = new Float32Array(rows * n);
    addRows(x, b, ref, rows, n);
    const gx = gpu.upload(x), gb = gpu.upload(b), go = gpu.array(rows * n);
    addRowsGpu(gpu, gx, gb, go, rows, n);
    near(await gpu.read(go), ref, `addRows ${rows}×${n}`);
    addBiasGpu(gpu, gx, gb, rows, n);
    near(await gpu.read(gx), ref, `addBias ${rows}×${n}`);
    for (const a of [gx, gb, go]) gpu.release(a);
  }
});

gpuTest("webgpu addVec equals the js reference, out apart or aliasing a, b or both", async (gpu) => {
  const rng = new Rng(2);
  for (const n of [1, 255, 256, 1000]) {
    const a = rand(n, rng), b = rand(n, rng);
    const ref = new Float32Array(n);
    addVec(a, b, ref, n);
    const ga = gpu.upload(a), gb = gpu.upload(b), go = gpu.array(n);
    addVecGpu(gpu, ga, gb, go, n);
    assert.deepEqual(await gpu.read(go), ref, `addVec ${n}`); // one rounding: exact
    addVecGpu(gpu, ga, gb, ga, n);
    assert.deepEqual(await gpu.read(ga), ref, `addVec ${n}, out = a`);
    gpu.write(ga, a);
    addVecGpu(gpu, ga, gb, gb, n);
    assert.deepEqual(await gpu.read(gb), ref, `addVec ${n}, out = b`);
    const twice = new Float32Array(n);
    addVec(a, a, twice, n);
    addVecGpu(gpu, ga, ga, go, n);
    assert.deepEqual(await gpu.read(go), twice, `addVec ${n}, a + a`);
    addVecGpu(gpu, ga, ga, ga, n);
    assert.deepEqual(await gpu.read(ga), twice, `addVec ${n}, a = a + a`);
    for (const g of [ga, gb, go]) gpu.release(g);
  }
});

gpuTest("webgpu sumRows adds into out like the js reference; two runs give the same bits", async (gpu) => {
  const rng = new Rng(3);
  for (const [rows, n] of [...SHAPES, [3000, 70] as [number, number]]) {
    const g = rand(rows * n, rng), out0 = rand(n, rng);
    const ref = out0.slice();
    sumRows(g, rows, n, ref);
    const gg = gpu.upload(g), go = gpu.upload(out0), go2 = gpu.upload(out0);
    sumRowsGpu(gpu, gg, rows, n, go);
    sumRowsGpu(gpu, gg, rows, n, go2);
    const got = await gpu.read(go);
    near(got, ref, `sumRows ${rows}×${n}`);
    assert.deepEqual(await gpu.read(go2), got, `sumRows ${rows}×${n}: bit-identical`);
    for (const a of [gg, go, go2]) gpu.release(a);
  }
});

gpuTest("webgpu bias kernels split arrays larger than one binding (a 4 KiB cap)", async () => {
  const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 floats per binding
  assert.ok(small !== null);
  try {
    const rng = new Rng(4);
    const rows = 150, n = 37; // 5,550 elements: six pieces; rows straddle the piece edges
    const x = rand(rows * n, rng), b = rand(n, rng), y = rand(rows * n, rng);
    const gx = small.upload(x), gb = small.upload(b), gy = small.upload(y), go = small.array(rows * n);
    const ref = new Float32Array(rows * n);
    addRows(x, b, ref, rows, n);
    addRowsGpu(small, gx, gb, go, rows, n);
    near(await small.read(go), ref, "addRows split");
    addVec(x, y, ref, rows * n);
    addVecGpu(small, gx, gy, go, rows * n);
    near(await small.read(go), ref, "addVec split");
    addVecGpu(small, gx, gy, gx, rows * n);
    near(await small.read(gx), ref, "addVec split in place");
    const sums = rand(n, rng), gs = small.upload(sums);
    sumRows(y, rows, n, sums);
    sumRowsGpu(small, gy, rows, n, gs);
    near(await small.read(gs), sums, "sumRows split");
    // a part of a larger array, at an offset that is not a multiple of 64 (a view of a view)
    const part = small.array(64 + rows * n);
    small.copy(gy, part, rows * n, 0, 64);
    const tail = small.upload(new Float32Array(n));
    sumRowsGpu(small, part.view(64, rows * n), rows, n, tail);
    const ref2 = new Float32Array(n);
    sumRows(y, rows, n, ref2);
    near(await small.read(tail), ref2, "sumRows on a view");
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu sumRows: 100,000 rows of 8", async (gpu) => {
  const rng = new Rng(5);
  const rows = 100_000, n = 8;
  const g = rand(rows * n, rng), ref = new Float32Array(n);
  sumRows(g, rows, n, ref);
  const gg = gpu.upload(g), go = gpu.zeros(n);
  sumRowsGpu(gpu, gg, rows, n, go);
  near(await gpu.read(go), ref, "sumRows 100k");
  gpu.release(gg);
  gpu.release(go);
});

gpuTest("webgpu bias kernels refuse an output sharing an input's buffer at another offset", (gpu) => {
  const a = gpu.array(256);
  assert.throws(() => addVecGpu(gpu, a.view(0, 64), a.view(64, 64), a.view(128, 64), 64), /shares/);
  gpu.release(a);
});
