import assert from "node:assert/strict";
import { setBackend } from "../../../lib/kernels/backend.ts";
import { adamwUpdate, sgdMomentumUpdate, sgdUpdate } from "../../../lib/kernels/optim.ts";
import { adamwUpdateGpu, sgdMomentumUpdateGpu, sgdUpdateGpu } from "../../../lib/kernels/webgpu/optim.ts";
import { CONTROL, CONTROL_LENGTH } from "../../../lib/kernels/webgpu/reduce.ts";
import { Gpu, type GpuArray } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

setBackend("js");

const rand = (rng: Rng, n: number, s = 1) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * s);
const positive = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.next() * 0.01);

// The CPU reference and the GPU arrays of one optimizer's state, stepped together and compared per tensor.
interface Case {
  name: string;
  state: (rng: Rng, n: number) => Float32Array[]; // p, then the state buffers
  cpu: (s: Float32Array[], g: Float32Array, step: number) => void;
  gpu: (
    gpu: Gpu,
    s: GpuArray[],
    g: GpuArray,
    step: number,
    start: number,
    end: number,
    c: GpuArray | null,
  ) => void;
}

const CASES: Case[] = [
  {
    name: "adamw",
    state: (rng, n) => [rand(rng, n), rand(rng, n, 0.01), positive(rng, n)],
    cpu: ([p, m, v], g, step) => adamwUpdate(p, g, m, v, 1e-3, 0.9, 0.95, 1e-8, 0.1, step),
    gpu: (gpu, [p, m, v], g, step, start, end, c) =>
      adamwUpdateGpu(gpu, p, g, m, v, 1e-3, 0.9, 0.95, 1e-8, 0.1, step, start, end, c),
  },
  {
    name: "sgd",
    state: (rng, n) => [rand(rng, n)],
    cpu: ([p], g) => sgdUpdate(p, g, 0.05, 0.01),
    gpu: (gpu, [p], g, _step, start, end, c) => sgdUpdateGpu(gpu, p, g, 0.05, 0.01, start, end, c),
  },
  {
    name: "sgd momentum",
    state: (rng, n) => [rand(rng, n), rand(rng, n, 0.1)],
    cpu: ([p, b], g) => sgdMomentumUpdate(p, g, b, 0.05, 0.9, 0.01, false),
    gpu: (gpu, [p, b], g, _step, start, end, c) =>
      sgdMomentumUpdateGpu(gpu, p, g, b, 0.05, 0.9, 0.01, false, start, end, c),
  },
  {
    name: "sgd nesterov",
    state: (rng, n) => [rand(rng, n), rand(rng, n, 0.1)],
    cpu: ([p, b], g) => sgdMomentumUpdate(p, g, b, 0.05, 0.9, 0.01, true),
    gpu: (gpu, [p, b], g, _step, start, end, c) =>
      sgdMomentumUpdateGpu(gpu, p, g, b, 0.05, 0.9, 0.01, true, start, end, c),
  },
];

// A control array at rest but for the gradient coefficient and the count of skipped steps.
function controlOf(gpu: Gpu, coef: number, skipped = 0): GpuArray {
  const values = new Float32Array(CONTROL_LENGTH);
  values[CONTROL.coef] = coef;
  values[CONTROL.skipped] = skipped;
  return gpu.upload(values);
}

// `steps` updates of elements [start, end) of `n`, on the GPU and the CPU (the CPU on the same range), with a fresh
// gradient each step, the gradient multiplied by `coef` (through a control array when coef is not null) and the
// steps numbered from `first` on the GPU, `skipped` fewer on the CPU (control's count of skipped steps).
async function compare(
  gpu: Gpu,
  c: Case,
  n: number,
  start: number,
  end: number,
  steps: number,
  coef: number | null,
  skipped = 0,
  first = 1,
) {
  const rng = new Rng(n + steps);
  const ref = c.state(rng, n);
  const arrays = ref.map((a) => gpu.upload(a));
  const control = coef === null ? null : controlOf(gpu, coef, skipped);
  for (let step = first; step < first + steps; step++) {
    const g = rand(rng, n);
    const gArr = gpu.upload(g);
    c.gpu(gpu, arrays, gArr, step, start, end, control);
    const scaled = g.map((x) => x * (coef ?? 1));
    c.cpu(ref.map((a) => a.subarray(start, end)), scaled.subarray(start, end), step - skipped);
    gpu.release(gArr);
  }
  for (let k = 0; k < ref.length; k++) {
    const got = await gpu.read(arrays[k]);
    const e = relErr(got, ref[k]);
    assert.ok(e <= 1e-5, `${c.name} n=${n} [${start}, ${end}) ${steps} steps: tensor ${k} relErr ${e}`);
    // outside the range nothing changed
    for (const i of [0, start - 1, end, n - 1]) {
      if (i >= 0 && i < n && (i < start || i >= end)) assert.equal(got[i], ref[k][i]);
    }
    gpu.release(arrays[k]);
  }
  if (control !== null) gpu.release(control);
}

for (const c of CASES) {
  gpuTest(`webgpu optim: ${c.name}, one and ten steps, whole arrays and a range, against js`, async (gpu) => {
    for (const steps of [1, 10]) {
      await compare(gpu, c, 1, 0, 1, steps, null);
      await compare(gpu, c, 1000, 0, 1000, steps, null);
      await compare(gpu, c, 1000, 37, 901, steps, null);
    }
  });

  gpuTest(`webgpu optim: ${c.name} reads the coefficient and the skipped steps from control`, async (gpu) => {
    await compare(gpu, c, 777, 0, 777, 10, 0.37);
    await compare(gpu, c, 500, 0, 500, 3, 1, 2, 5); // steps 5, 6, 7 after 2 skipped: bias-corrected as 3, 4, 5
    await compare(gpu, c, 300, 0, 300, 2, 0.9, 990, 1000);
    await compare(gpu, c, 300, 0, 300, 2, 1, 0, 5000);
  });
}

gpuTest("webgpu optim: a flagged step leaves every array bit-identical", async (gpu) => {
  const rng = new Rng(5);
  const n = 513;
  for (const c of CASES) {
    const init = c.state(rng, n);
    const arrays = init.map((a) => gpu.upload(a));
    const g = gpu.upload(rand(rng, n));
    const control = controlOf(gpu, 0.5);
    gpu.write(control, [1], CONTROL.flag);
    c.gpu(gpu, arrays, g, 1, 0, n, control);
    for (let k = 0; k < init.length; k++) {
      const got = new Uint32Array((await gpu.read(arrays[k])).buffer);
      assert.deepEqual(got, new Uint32Array(init[k].buffer), `${c.name}: tensor ${k} changed`);
      gpu.release(arrays[k]);
    }
    gpu.release(g);
    gpu.release(control);
  }
});

gpuTest(
  "webgpu optim: arrays larger than one binding update window by window; two runs give the same bits",
  async () => {
    const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 elements per binding
    assert.ok(small !== null);
    try {
      for (const c of CASES) await compare(small, c, 3000, 100, 2950, 2, 0.8);
      const rng = new Rng(9);
      const init = rand(rng, 3000), g = rand(rng, 3000);
      const runs: Uint32Array[] = [];
      for (let r = 0; r < 2; r++) {
        const [p, m, v, gg] = [init, new Float32Array(3000), new Float32Array(3000), g].map((a) =>
          small.upload(a)
        );
        adamwUpdateGpu(small, p, gg, m, v, 1e-2, 0.9, 0.999, 1e-8, 0.01, 1);
        runs.push(new Uint32Array((await small.read(p)).buffer));
      }
      assert.deepEqual(runs[0], runs[1]);
      await small.finish();
    } finally {
      small.destroy();
    }
  },
);
