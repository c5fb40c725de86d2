import { accumulateGrad } from "../../lib/tensor/grad.ts";
import { type DType, Tensor } from "../../lib/tensor/tensor.ts";
import type { NamedParam } from "../../lib/optim/param.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { residentAddress } from "../../lib/kernels/wasm/runtime.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

function param(name: string, values: number[], shape: number[], dtype: DType = "float32"): NamedParam {
  const tensor = Tensor.from(values, shape, dtype);
  tensor.requiresGrad = true;
  return { name, tensor };
}

/** Deterministic gradient for step t, element i. */
const gradAt = (t: number, i: number, scale: number) => scale * Math.sin(1.7 * i + 1.3 * t + 0.4) * (i + 1);

/** Straightforward float64 AdamW, the textbook formula, for one array. */
function referenceAdamW(
  p0: number[],
  grads: number[][],
  lrs: number[],
  b1: number,
  b2: number,
  eps: number,
  wd: number,
): number[] {
  const p = [...p0], m = p0.map(() => 0), v = p0.map(() => 0);
  for (let s = 0; s < grads.length; s++) {
    const t = s + 1, lr = lrs[s];
    for (let i = 0; i < p.length; i++) {
      const g = grads[s][i];
      p[i] -= lr * wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const mHat = m[i] / (1 - Math.pow(b1, t));
      const vHat = v[i] / (1 - Math.pow(b2, t));
      p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
    }
  }
  return p;
}

function matchesReference(dtype: DType, atol: number, rtol: number): void {
  const w0 = [0.5, -0.25, 1.5, 0.75, -1, 0.125];
  const b0 = [0.1, -0.2, 0.3];
  const w = param("h.0.mlp.c_fc.weight", w0, [2, 3], dtype);
  const b = param("h.0.mlp.c_fc.bias", b0, [3], dtype);
  const [b1, b2, eps, wd] = [0.9, 0.95, 1e-8, 0.1];
  const lrs = [1e-2, 2e-2, 5e-3];
  const opt = new AdamW([w, b], { lr: 123, beta1: b1, beta2: b2, eps, weightDecay: wd });
  assertEquals(opt.decayedNames, ["h.0.mlp.c_fc.weight"]);
  const wGrads: number[][] = [], bGrads: number[][] = [];
  for (let s = 0; s < 3; s++) {
    wGrads.push(w0.map((_, i) => gradAt(s, i, 1)));
    bGrads.push(b0.map((_, i) => gradAt(s, i + 10, 0.01)));
    // Grads rounded to the param dtype, as the reference sees them.
    w.tensor.grad = Tensor.from(wGrads[s], [6], dtype).data;
    b.tensor.grad = Tensor.from(bGrads[s], [3], dtype).data;
    wGrads[s] = [...w.tensor.grad];
    bGrads[s] = [...b.tensor.grad];
    opt.step(lrs[s]);
  }
  assertEquals(opt.stepCount, 3);
  const wStart = [...Tensor.from(w0, [6], dtype).data], bStart = [...Tensor.from(b0, [3], dtype).data];
  assertAllClose(w.tensor.data, referenceAdamW(wStart, wGrads, lrs, b1, b2, eps, wd), atol, rtol, "weight");
  assertAllClose(b.tensor.data, referenceAdamW(bStart, bGrads, lrs, b1, b2, eps, 0), atol, rtol, "bias");
}

Deno.test("AdamW: 3 steps match a float64 reference (float64 params)", () =>
  matchesReference("float64", 1e-15, 1e-13));
Deno.test("AdamW: 3 steps match a float64 reference (float32 params)", () =>
  matchesReference("float32", 1e-7, 1e-6));

Deno.test("AdamW: the first step moves each weight by lr·sign(g)", () => {
  const p = param("w", [1, 1, 1, 1], [4], "float64");
  p.tensor.grad = new Float64Array([0.5, -2, 3, 0.25]);
  const opt = new AdamW([p], { lr: 0.01, weightDecay: 0 });
  opt.step();
  assertAllClose(p.tensor.data, [0.99, 1.01, 0.99, 0.99], 1e-9, 0);
});

Deno.test("AdamW: decay is decoupled (zero grad shrinks by 1 - lr·wd) and skips 1-D and embeddings", () => {
  const w = param("transformer.h.0.attn.c_proj.weight", [2, -4], [1, 2], "float64");
  const ln = param("transformer.ln_f.weight", [2, -4], [2], "float64");
  const wte = param("transformer.wte.weight", [2, -4], [1, 2], "float64");
  const head = { name: "lm_head.weight", tensor: wte.tensor };
  const opt = new AdamW([head, w, ln, wte], { lr: 0.1, weightDecay: 0.5 });
  assertEquals(opt.decayedNames, ["transformer.h.0.attn.c_proj.weight"]);
  for (const t of [w, ln, wte]) t.tensor.grad = new Float64Array(2);
  opt.step();
  assertAllClose(w.tensor.data, [1.9, -3.8], 1e-15, 0);
  assertAllClose(ln.tensor.data, [2, -4], 0, 0);
  assertAllClose(wte.tensor.data, [2, -4], 0, 0);
  // A custom rule replaces the default.
  const all = new AdamW([w, ln], { lr: 0.1, weightDecay: 0.5, decay: () => true });
  assertEquals(all.decayedNames, ["transformer.h.0.attn.c_proj.weight", "transformer.ln_f.weight"]);
});

Deno.test("AdamW: a tied tensor is updated once; null grads are skipped; zeroGrad clears", () => {
  const a = param("transformer.wte.weight", [1], [1, 1], "float64");
  const b = param("b", [1], [1], "float64");
  const opt = new AdamW([a, { name: "lm_head.weight", tensor: a.tensor }, b], { lr: 0.1 });
  a.tensor.grad = new Float64Array([1]);
  opt.step();
  assertAllClose(a.tensor.data, [0.9], 1e-9, 0);
  assertAllClose(b.tensor.data, [1], 0, 0);
  assertEquals(Object.keys(opt.stateDict().tensors), [
    "exp_avg.transformer.wte.weight",
    "exp_avg_sq.transformer.wte.weight",
    "exp_avg.b",
    "exp_avg_sq.b",
    "step.b",
  ]);
  // b's own first step is bias-corrected as a first step: it moves by lr·sign(g).
  b.tensor.grad = new Float64Array([-5]);
  opt.step();
  assertAllClose(b.tensor.data, [1.1], 1e-9, 0);
  opt.zeroGrad();
  assertEquals(a.tensor.grad, null);
  assertEquals(b.tensor.grad, null);
});

function makeModel(): NamedParam[] {
  const wte = param("transformer.wte.weight", [0.1, 0.2, -0.3, 0.4, 0.5, -0.6], [3, 2]);
  return [
    wte,
    param("transformer.h.0.attn.c_attn.weight", [1, -2, 3, -4], [2, 2]),
    param("transformer.h.0.attn.c_attn.bias", [0.5, -0.5], [2]),
    param("unused.weight", [7, 8], [1, 2]),
    { name: "lm_head.weight", tensor: wte.tensor },
  ];
}

function clone(ps: NamedParam[]): NamedParam[] {
  const map = new Map<Tensor, Tensor>();
  return ps.map(({ name, tensor }) => {
    let t = map.get(tensor);
    if (t === undefined) {
      t = new Tensor(tensor.data.slice(), tensor.shape, true, tensor.name);
      map.set(tensor, t);
    }
    return { name, tensor: t };
  });
}

function setGrads(ps: NamedParam[], s: number): void {
  ps.forEach(({ name, tensor }, k) => {
    if (name === "unused.weight" && s < 2) return; // no grad on the first two steps
    tensor.grad = new Float32Array(tensor.size).map((_, i) => gradAt(s, i + 3 * k, 1));
  });
}

Deno.test("AdamW: stateDict round-trip gives identical subsequent steps", () => {
  const ps = makeModel();
  const opt = new AdamW(ps, { lr: 1e-2, beta2: 0.95, weightDecay: 0.1 });
  for (let s = 0; s < 2; s++) {
    setGrads(ps, s);
    opt.step(1e-2 * (s + 1));
  }
  const sd = opt.stateDict();
  assertEquals(sd.step, 2);
  assertEquals(sd.tensors["step.unused.weight"], new Float32Array([0]));
  assertTrue(sd.tensors["exp_avg.transformer.wte.weight"] instanceof Float32Array);
  assertEquals(sd.tensors["exp_avg.lm_head.weight"], undefined);

  const ps2 = clone(ps);
  const opt2 = new AdamW(ps2, { lr: 1e-2, beta2: 0.95, weightDecay: 0.1 });
  opt2.loadStateDict(sd);
  sd.tensors["exp_avg.transformer.wte.weight"].fill(99); // the load copied
  assertEquals(opt2.stepCount, 2);
  for (let s = 2; s < 5; s++) {
    setGrads(ps, s);
    setGrads(ps2, s);
    opt.step(3e-3);
    opt2.step(3e-3);
  }
  for (let k = 0; k < ps.length; k++) assertEquals(ps2[k].tensor.data, ps[k].tensor.data, ps[k].name);
  assertEquals(opt2.stateDict(), opt.stateDict());
  // The late-starting parameter keeps its own count (3 of the 5 steps).
  assertEquals(opt.stateDict().tensors["step.unused.weight"], new Float32Array([3]));
});

Deno.test("AdamW: loadStateDict names missing, mis-sized and unknown entries and changes nothing", () => {
  const ps = makeModel();
  const opt = new AdamW(ps, { lr: 1e-2 });
  setGrads(ps, 3);
  opt.step();
  const good = opt.stateDict();

  const missing = { step: 5, tensors: { ...good.tensors } };
  delete missing.tensors["exp_avg_sq.transformer.h.0.attn.c_attn.bias"];
  assertThrows(
    () => opt.loadStateDict(missing),
    "AdamW.loadStateDict",
    `missing "exp_avg_sq.transformer.h.0.attn.c_attn.bias"`,
  );

  const sized = {
    step: 1,
    tensors: { ...good.tensors, "exp_avg.transformer.wte.weight": new Float32Array(5) },
  };
  assertThrows(() => opt.loadStateDict(sized), `"exp_avg.transformer.wte.weight" has 5 elements, expected 6`);

  const unknown = { step: 1, tensors: { ...good.tensors, "exp_avg.nope": new Float32Array(1) } };
  assertThrows(() => opt.loadStateDict(unknown), `unknown entry "exp_avg.nope"`);

  const badStep = { step: 1, tensors: { ...good.tensors, "step.unused.weight": new Float32Array([4]) } };
  assertThrows(() => opt.loadStateDict(badStep), "step.unused.weight");

  assertEquals(opt.stepCount, 1);
  assertEquals(opt.stateDict(), good);
});

Deno.test("AdamW: rejects bad options and mismatched gradients", () => {
  const p = param("w", [1, 2], [2]);
  assertThrows(() => new AdamW([p], { lr: -1 }), "lr");
  assertThrows(() => new AdamW([p], { lr: 1, beta1: 1 }), "beta1");
  assertThrows(() => new AdamW([p], { lr: 1, beta2: -0.1 }), "beta2");
  assertThrows(() => new AdamW([p], { lr: 1, weightDecay: NaN }), "weightDecay");
  const opt = new AdamW([p], { lr: 1 });
  p.tensor.grad = new Float32Array(3);
  assertThrows(() => opt.step(), `"w"`, "3 elements");
});

Deno.test("AdamW over one flat buffer (float32, wasm): same steps as the per-parameter path", () => {
  // n_embd 64: every tensor has at least 64 elements, so both paths run the same f32 kernel (smaller ones would
  // take the TypeScript loop parameter by parameter) and must agree exactly.
  const cfg = {
    vocabSize: 13,
    blockSize: 8,
    nLayer: 1,
    nHead: 2,
    nEmbd: 64,
    dropout: 0,
    bias: true,
    tieWeights: true,
  };
  const run = (perParameter: boolean) => {
    const model = new GPT(cfg, new Rng(3));
    const params = model.namedParameters(undefined, true);
    const opt = new AdamW(model.namedParameters(), { lr: 1e-2, weightDecay: 0.1 });
    const rng = new Rng(4);
    for (let s = 0; s < 3; s++) {
      opt.zeroGrad();
      for (const { tensor } of params) {
        const g = new Float32Array(tensor.size).map(() => rng.normal());
        // the autograd path writes into the flat gradient buffer; a plain array makes the optimizer go
        // parameter by parameter
        if (perParameter) tensor.grad = g;
        else accumulateGrad(tensor, g);
      }
      opt.step();
    }
    return params.map(({ name, tensor }) => ({ name, data: tensor.data.slice() }));
  };
  // the flat layout: every parameter is a view of one buffer in the kernel memory
  const model = new GPT(cfg, new Rng(3));
  new AdamW(model.namedParameters(), { lr: 1e-2 });
  const buffers = new Set(model.namedParameters().map(({ tensor }) => tensor.data.buffer));
  assertEquals(buffers.size, 1);
  assertTrue(model.namedParameters().every(({ tensor }) => residentAddress(tensor.data) >= 0));
  const flat = run(false), perParameter = run(true);
  for (let i = 0; i < flat.length; i++) {
    assertAllClose(flat[i].data, perParameter[i].data, 0, 0, flat[i].name);
  }
});
