/**
 * AdamW on the GPU with the step's guard: ten steps with clipping equal the js path (clipGradNorm, then AdamW)
 * within 1e-5 of each tensor's largest value, the guard's norm equals gradNorm's, and a step with a NaN gradient
 * changes nothing and is named when read back.
 */
import assert from "node:assert/strict";
import { AdamW } from "../../lib/optim/adamw.ts";
import { clipGradNorm } from "../../lib/optim/clip.ts";
import { GpuGuard } from "../../lib/optim/gpu.ts";
import type { NamedParam } from "../../lib/optim/param.ts";
import { Rng } from "../../lib/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { withBackend } from "../_helpers/backend.ts";
import { gpuTest, relErr } from "../_helpers/webgpu.ts";

const SHAPES: Array<[string, number[]]> = [
  ["transformer.wte.weight", [37, 8]],
  ["transformer.h.0.attn.c_attn.weight", [24, 8]],
  ["transformer.h.0.ln_1.bias", [8]],
];

function params(seed: number): NamedParam[] {
  const rng = new Rng(seed);
  return SHAPES.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = Tensor.from(Array.from({ length: n }, () => rng.normal() * 0.1), shape);
    t.requiresGrad = true;
    return { name, tensor: t };
  });
}

function grads(step: number): Float32Array[] {
  const rng = new Rng(100 + step);
  return SHAPES.map(([, shape]) =>
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * (step % 3 + 0.5))
  );
}

const OPTS = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 };

gpuTest("webgpu: AdamW with the GPU guard (clip 1.0) equals the js path over ten steps", async (gpu) => {
  const ref = withBackend("js", () => {
    const ps = params(1), opt = new AdamW(ps, OPTS), norms: number[] = [];
    for (let step = 1; step <= 10; step++) {
      grads(step).forEach((g, i) => ps[i].tensor.grad = Float32Array.from(g));
      norms.push(clipGradNorm(ps, 1.0));
      opt.step(OPTS.lr * step / 10);
      opt.zeroGrad();
    }
    return { values: ps.map((p) => Float32Array.from(p.tensor.data)), norms };
  });
  const ps = params(1);
  for (const p of ps) p.tensor.toGpu(gpu);
  const opt = new AdamW(ps, OPTS), guard = new GpuGuard(gpu, ps, { maxNorm: 1.0 });
  for (let step = 1; step <= 10; step++) {
    grads(step).forEach((g, i) => ps[i].tensor.gpuGrad = gpu.upload(g, true));
    guard.record();
    opt.step(OPTS.lr * step / 10, guard.control);
    const reading = await guard.read();
    assert.ok(
      Math.abs(reading.norm - ref.norms[step - 1]) <= 1e-5 * ref.norms[step - 1],
      `step ${step} norm`,
    );
    assert.equal(reading.nonFinite, null);
    for (const p of ps) gpu.release(p.tensor.gpuGrad!);
    opt.zeroGrad();
  }
  for (let i = 0; i < ps.length; i++) {
    const err = relErr(await ps[i].tensor.read(), ref.values[i]);
    assert.ok(err <= 1e-5, `${ps[i].name}: relative error ${err}`);
  }
  const state = await opt.stateDictAsync();
  assert.equal(state.step, 10);
  assert.equal(state.tensors["exp_avg.transformer.wte.weight"].length, 37 * 8);
});

gpuTest(
  "webgpu: a NaN gradient flags the step: nothing changes, and the guard names the tensor and index",
  async (gpu) => {
    const ps = params(2);
    for (const p of ps) p.tensor.toGpu(gpu);
    const opt = new AdamW(ps, OPTS), guard = new GpuGuard(gpu, ps, { maxNorm: 1.0 });
    const before = await Promise.all(ps.map((p) => p.tensor.read()));
    const g = grads(1);
    g[1][17] = NaN;
    g[2][3] = Infinity;
    g.forEach((x, i) => ps[i].tensor.gpuGrad = gpu.upload(x, true));
    guard.record();
    opt.step(OPTS.lr, guard.control);
    const reading = await guard.read();
    assert.deepEqual(reading.nonFinite, {
      name: "transformer.h.0.attn.c_attn.weight",
      index: 17,
      value: NaN,
    });
    assert.equal(reading.fatal, true); // no dynamic loss scaling: the trainer stops, naming it
    for (let i = 0; i < ps.length; i++) assert.deepEqual(await ps[i].tensor.read(), before[i]);
    // the skipped step is not counted (the guard counts it on the GPU; the state dict takes it off)
    assert.equal((await opt.stateDictAsync()).step, 0);
    // the next good step is AdamW's first: equal to a fresh optimizer's first step
    const fresh = params(2);
    for (const p of fresh) p.tensor.toGpu(gpu);
    const opt2 = new AdamW(fresh, OPTS), guard2 = new GpuGuard(gpu, fresh, { maxNorm: 1.0 });
    const good = grads(2);
    for (const [o, g, list] of [[opt, guard, ps], [opt2, guard2, fresh]] as const) {
      good.forEach((x, i) => list[i].tensor.gpuGrad = gpu.upload(x, true));
      g.record();
      o.step(OPTS.lr, g.control);
    }
    for (let i = 0; i < ps.length; i++) {
      assert.deepEqual(await ps[i].tensor.read(), await fresh[i].tensor.read());
    }
  },
);
