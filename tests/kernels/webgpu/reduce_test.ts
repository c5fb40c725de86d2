import assert from "node:assert/strict";
import { setBackend } from "../../../lib/kernels/backend.ts";
import { adamwUpdate } from "../../../lib/kernels/optim.ts";
import { adamwUpdateGpu } from "../../../lib/kernels/webgpu/optim.ts";
import {
  CONTROL,
  controlArray,
  GradStats,
  guardGpu,
  type GuardOptions,
  NONE,
} from "../../../lib/kernels/webgpu/reduce.ts";
import { Gpu, type GpuArray } from "../../../lib/kernels/webgpu/runtime.ts";
import { clipGradNorm, firstNonFinite, gradNorm } from "../../../lib/optim/clip.ts";
import type { NamedParam } from "../../../lib/optim/param.ts";
import { Rng } from "../../../lib/random.ts";
import { Tensor } from "../../../lib/tensor/tensor.ts";
import { MixedPrecision } from "../../../lib/train/precision.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

setBackend("js");

const LENGTHS = [1, 255, 2049, 5000, 300];

function gradients(seed: number, scale = 1): Float32Array[] {
  const rng = new Rng(seed);
  return LENGTHS.map((n, t) =>
    Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale * (t + 1))
  );
}

function named(grads: readonly Float32Array[]): NamedParam[] {
  return grads.map((g, t) => {
    const tensor = Tensor.zeros([g.length], "float32", true);
    tensor.grad = g.slice();
    return { name: `t${t}`, tensor };
  });
}

interface Guarded {
  control: Float32Array;
  sums: Float32Array;
  bad: Uint32Array;
}

// GradStats + guardGpu over `grads` into `control`; reads everything back.
async function guard(
  gpu: Gpu,
  grads: readonly GpuArray[],
  control: GpuArray,
  o: GuardOptions,
): Promise<Guarded> {
  const stats = new GradStats(gpu, grads.map((g) => g.length));
  const sums = gpu.array(grads.length), bad = gpu.array(2 * grads.length, "u32");
  stats.record(grads, sums, bad);
  guardGpu(gpu, sums, bad, grads.length, control, o);
  const out = {
    control: await gpu.read(control),
    sums: await gpu.read(sums),
    bad: new Uint32Array((await gpu.readInts(bad)).buffer),
  };
  stats.release();
  gpu.release(sums);
  gpu.release(bad);
  return out;
}

const f32Of = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];

gpuTest(
  "webgpu reduce: per-tensor sums of squares, the norm and the clip coefficient as clip.ts",
  async (gpu) => {
    for (const maxNorm of [0, 1, 1e6]) {
      const host = gradients(3);
      const grads = host.map((g) => gpu.upload(g));
      const control = controlArray(gpu);
      const got = await guard(gpu, grads, control, { maxNorm });
      host.forEach((g, t) => {
        const ref = g.reduce((s, x) => s + x * x, 0);
        assert.ok(relErr([got.sums[t]], [ref]) <= 1e-5, `sum of tensor ${t}: ${got.sums[t]} vs ${ref}`);
        assert.equal(got.bad[2 * t], NONE);
      });
      const params = named(host);
      const norm = maxNorm > 0 ? clipGradNorm(params, maxNorm) : gradNorm(params);
      const clip = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
      const c = got.control;
      assert.ok(relErr([c[CONTROL.norm]], [norm]) <= 1e-5, `norm ${c[CONTROL.norm]} vs ${norm}`);
      assert.ok(relErr([c[CONTROL.clip]], [clip]) <= 1e-5, `clip ${c[CONTROL.clip]} vs ${clip}`);
      assert.equal(c[CONTROL.coef], c[CONTROL.clip]);
      assert.deepEqual([c[CONTROL.flag], c[CONTROL.bad], c[CONTROL.scale], c[CONTROL.fatal]], [0, -1, 1, 0]);
      // the clipped AdamW step reading control, against clipGradNorm's gradients and the js AdamW
      const rng = new Rng(4);
      for (let t = 0; t < host.length; t++) {
        const n = host[t].length;
        const p0 = Float32Array.from({ length: n }, () => rng.next() - 0.5);
        const [p, m, v] = [p0, new Float32Array(n), new Float32Array(n)].map((a) => gpu.upload(a));
        adamwUpdateGpu(gpu, p, grads[t], m, v, 0.01, 0.9, 0.999, 1e-8, 0.1, 1, 0, n, control);
        const ref = [p0.slice(), new Float32Array(n), new Float32Array(n)];
        adamwUpdate(ref[0], params[t].tensor.grad!, ref[1], ref[2], 0.01, 0.9, 0.999, 1e-8, 0.1, 1);
        for (const [k, a] of [p, m, v].entries()) {
          const e = relErr(await gpu.read(a), ref[k]);
          assert.ok(e <= 1e-5, `maxNorm ${maxNorm} tensor ${t} array ${k}: relErr ${e}`);
          gpu.release(a);
        }
      }
      grads.forEach((g) => gpu.release(g));
      gpu.release(control);
    }
  },
);

gpuTest("webgpu reduce: the first non-finite tensor and element, across binding windows", async () => {
  const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 elements per binding: tensor 3 spans 5 windows
  assert.ok(small !== null);
  try {
    const host = gradients(5);
    host[3][2500] = NaN;
    host[3][4000] = Infinity;
    host[4][7] = -Infinity;
    const grads = host.map((g) => small.upload(g));
    const control = controlArray(small);
    const got = await guard(small, grads, control, { maxNorm: 1 });
    const first = firstNonFinite(named(host))!;
    assert.equal(`t${got.control[CONTROL.bad]}`, first.name);
    assert.equal(got.bad[6], first.index);
    assert.ok(Number.isNaN(f32Of(got.bad[7])));
    assert.equal(got.bad[8], 7);
    assert.equal(f32Of(got.bad[9]), -Infinity);
    assert.deepEqual([got.bad[0], got.bad[2], got.bad[4]], [NONE, NONE, NONE]);
    const c = got.control;
    assert.equal(c[CONTROL.flag], 1);
    assert.equal(c[CONTROL.fatal], 1); // no loss scaling: the trainer throws
    assert.ok(Number.isNaN(c[CONTROL.norm]));
    // the sums of the finite tensors still match
    for (const t of [0, 1, 2]) {
      assert.ok(relErr([got.sums[t]], [host[t].reduce((s, x) => s + x * x, 0)]) <= 1e-5);
    }
    await small.finish();
  } finally {
    small.destroy();
  }
});

gpuTest(
  "webgpu reduce: dynamic loss scaling follows MixedPrecision (unscale, skip, growth, fatal at the minimum)",
  async (gpu) => {
    const o = { lossScale: 1024, growthInterval: 3, minScale: 256 };
    const host = gradients(7, 1024); // gradients of a loss scaled by 1024
    const params = named(host);
    const mp = new MixedPrecision(params, "fp16", o);
    const control = controlArray(gpu, o.lossScale);
    const opts = { maxNorm: 50, dynamic: true, growthInterval: o.growthInterval, minScale: o.minScale };
    const nan = host.map((g) => g.slice());
    nan[2][100] = NaN;
    // good, good, overflow (skipped: scale halves), good ×3 (the scale doubles on the third), overflow ×2
    const plan = [false, false, true, false, false, false, true, true, true];
    for (const [k, overflow] of plan.entries()) {
      const grads = (overflow ? nan : host).map((g) => gpu.upload(g));
      const got = (await guard(gpu, grads, control, opts)).control;
      grads.forEach((g) => gpu.release(g));
      const at = `step ${k}`;
      if (overflow) {
        assert.equal(got[CONTROL.flag], 1, at);
        assert.equal(got[CONTROL.bad], 2, at);
        if (mp.canSkip()) {
          mp.skipStep();
          assert.equal(got[CONTROL.fatal], 0, at);
        } else {
          assert.equal(got[CONTROL.fatal], 1, at);
          assert.equal(got[CONTROL.scale], mp.scale, at);
          break;
        }
      } else {
        const before = mp.scale;
        params.forEach((p, t) => (p.tensor.grad = host[t].slice()));
        mp.unscale();
        const norm = clipGradNorm(params, opts.maxNorm);
        assert.equal(got[CONTROL.flag], 0, at);
        assert.ok(relErr([got[CONTROL.norm]], [norm]) <= 1e-5, `${at}: norm ${got[CONTROL.norm]} vs ${norm}`);
        const coef = Math.min(1, opts.maxNorm / (norm + 1e-6)) / before;
        assert.ok(relErr([got[CONTROL.coef]], [coef]) <= 1e-5, `${at}: coef ${got[CONTROL.coef]} vs ${coef}`);
      }
      assert.equal(got[CONTROL.scale], mp.scale, at);
      assert.equal(got[CONTROL.goodSteps], mp.goodSteps, at);
      assert.equal(got[CONTROL.skipped], plan.slice(0, k + 1).filter((o) => o).length, at);
    }
    assert.ok(mp.scale === 256 && !mp.canSkip()); // the plan reached the minimum
    gpu.release(control);
  },
);

gpuTest("webgpu reduce: gradients laid out in one flat array, across binding windows", async () => {
  const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 elements per binding: tensors straddle windows
  assert.ok(small !== null);
  try {
    const host = gradients(13);
    host[2][2000] = Infinity;
    host[3][10] = NaN;
    host[3][3] = -Infinity;
    const flat = new Float32Array(host.reduce((n, g) => n + g.length, 0));
    host.reduce((at, g) => (flat.set(g, at), at + g.length), 0);
    const stats = new GradStats(small, LENGTHS, true);
    const runs: Uint32Array[] = [];
    for (let r = 0; r < 2; r++) {
      const g = small.upload(flat),
        sums = small.array(LENGTHS.length),
        bad = small.array(2 * LENGTHS.length, "u32");
      stats.record(g, sums, bad);
      const got = await small.read(sums);
      const where: Uint32Array = new Uint32Array((await small.readInts(bad)).buffer);
      host.forEach((h, t) => {
        const first = h.findIndex((x) => !Number.isFinite(x));
        assert.equal(where[2 * t], first < 0 ? NONE : first, `tensor ${t}`);
        if (first < 0) assert.ok(relErr([got[t]], [h.reduce((s, x) => s + x * x, 0)]) <= 1e-5, `tensor ${t}`);
      });
      assert.equal(f32Of(where[5]), Infinity);
      assert.equal(f32Of(where[7]), -Infinity);
      runs.push(Uint32Array.from([...new Uint32Array(got.buffer), ...where]));
      for (const a of [g, sums, bad]) small.release(a);
    }
    assert.deepEqual(runs[0], runs[1]);
    assert.throws(
      () => stats.record([small.array(1)], small.array(5), small.array(10, "u32")),
      /prepared for/,
    );
    stats.release();
    await small.finish();
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu reduce: two runs give identical bits", async (gpu) => {
  const host = gradients(11);
  const runs: Uint32Array[] = [];
  for (let r = 0; r < 2; r++) {
    const grads = host.map((g) => gpu.upload(g));
    const control = controlArray(gpu);
    const got = await guard(gpu, grads, control, { maxNorm: 1 });
    runs.push(
      Uint32Array.from([...new Uint32Array(got.sums.buffer), ...new Uint32Array(got.control.buffer)]),
    );
    grads.forEach((g) => gpu.release(g));
    gpu.release(control);
  }
  assert.deepEqual(runs[0], runs[1]);
});
