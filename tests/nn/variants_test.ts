import { tinyConfig } from "../_helpers/models.ts";
import { generate } from "../../lib/generate/generate.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { gptConfigOf } from "../../lib/experiment/runner.ts";
import { swigluHidden } from "../../lib/nn/layers.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { Rng } from "../../lib/random.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { rmsNorm, rope, RopeTable, swiglu } from "../../lib/tensor/mod.ts";
import { assertAllClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";

Deno.test("gradcheck: rmsNorm, swiglu and rope (float64)", () => {
  const rng = new Rng(1);
  checkGrad((x, w) => rmsNorm(x, w), [randn64([3, 5, 7], rng), randn64([7], rng)]);
  checkGrad((g, u) => swiglu(g, u), [randn64([4, 9], rng, 3), randn64([4, 9], rng)]);
  const table = new RopeTable(12, 4);
  checkGrad((qkv) => rope(qkv, 2, 0, table), [randn64([2, 5, 3 * 8], rng)]);
  checkGrad((qkv) => rope(qkv, 2, 7, table), [randn64([1, 5, 3 * 8], rng)]); // positions 7…11 (a KV cache)
});

Deno.test("rmsNorm equals x / rms(x) · w computed directly", () => {
  const x = Tensor.from([1, -2, 3, 0.5, 4, -1, 2, 2], [2, 4], "float64");
  const w = Tensor.from([1, 2, 0.5, -1], [4], "float64");
  const y = rmsNorm(x, w, 1e-5);
  for (let r = 0; r < 2; r++) {
    const row = [...x.data.subarray(4 * r, 4 * r + 4)];
    const rms = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / 4 + 1e-5);
    assertAllClose(y.data.subarray(4 * r, 4 * r + 4), row.map((v, j) => (v / rms) * w.data[j]), 1e-14, 1e-12);
  }
});

Deno.test("rope: position 0 is the identity, norms are kept, and q·k depends only on the distance", () => {
  const rng = new Rng(2);
  const D = 8, H = 1, C = H * D, table = new RopeTable(32, D);
  const q = Array.from({ length: D }, () => rng.normal()), k = Array.from({ length: D }, () => rng.normal());
  // one row qkv = [q | k | v] at position p
  const rotated = (p: number) => {
    const t = Tensor.from([...q, ...k, ...q], [1, 1, 3 * C], "float64");
    const out = rope(t, H, p, table).data;
    return { q: [...out.subarray(0, C)], k: [...out.subarray(C, 2 * C)], v: [...out.subarray(2 * C)] };
  };
  const at0 = rotated(0);
  assertAllClose(at0.q, q, 0, 0, "position 0, q");
  assertAllClose(at0.k, k, 0, 0, "position 0, k");
  const norm = (v: number[]) => Math.hypot(...v);
  const at5 = rotated(5);
  assertAllClose([norm(at5.q)], [norm(q)], 1e-12, 0, "norm");
  assertAllClose(at5.v, q, 0, 0, "v passes through");
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  // ⟨R_m q, R_n k⟩ = ⟨R_{m−n} q, k⟩: pairs (m, n) with the same distance give the same score
  const score = (m: number, n: number) => dot(rotated(m).q, rotated(n).k);
  assertAllClose(
    [score(7, 3), score(10, 6), score(4, 0)],
    [score(4, 0), score(4, 0), dot(rotated(4).q, k)],
    1e-12,
    0,
  );
  assertTrue(Math.abs(score(7, 3) - score(7, 4)) > 1e-6, "a different distance gives a different score");
});

Deno.test("swiglu hidden size follows LLaMA's rounding of 8/3 · C to a multiple of 8", () => {
  // LLaMA-7B: n_embd 4096, multiple_of 256 → 11008
  assertEquals([swigluHidden(128), swigluHidden(256), swigluHidden(4096, 256)], [344, 688, 11008]);
});

const BASE: GPTConfig = tinyConfig({ vocabSize: 11, blockSize: 12 });

const VARIANTS: Record<string, Partial<GPTConfig>> = {
  rope: { position: "rope" },
  none: { position: "none" },
  rmsnorm: { norm: "rmsnorm" },
  post: { normPlacement: "post" },
  swiglu: { mlp: "swiglu" },
  llama: { position: "rope", norm: "rmsnorm", mlp: "swiglu", bias: false },
  gqa: { nHead: 4, nKvHead: 2 },
  "multi-query": { nHead: 4, nKvHead: 1, position: "rope" },
};

for (const [name, v] of Object.entries(VARIANTS)) {
  Deno.test(`variant ${name}: the loss falls, and KV-cache generation equals a full recompute`, () => {
    const model = new GPT({ ...BASE, ...v }, new Rng(3));
    const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
    const x = Int32Array.from({ length: 2 * 12 }, (_, i) => (i * 7 + 3) % 11);
    const y = x.map((_, i) => x[(i + 1) % x.length]);
    const losses: number[] = [];
    for (let s = 0; s < 15; s++) {
      const { loss } = model.forward(x, 2, 12, { targets: y });
      losses.push(loss!.item());
      opt.zeroGrad();
      loss!.backward();
      opt.step();
    }
    assertTrue(losses[14] < 0.7 * losses[0], `${name}: loss ${losses[0]} → ${losses[14]}`);
    // past block_size the window slides and the cache is rebuilt: both paths must still agree
    const gen = (useCache: boolean) =>
      generate(model, Int32Array.from([1, 2, 3]), {
        maxNewTokens: 14,
        sampling: { greedy: true },
        rng: new Rng(0),
        useCache,
      });
    assertEquals([...gen(true)], [...gen(false)], `${name}: cache vs recompute`);
    // and the cache path's logits equal the full window's (float32 tolerance)
    noGrad(() => {
      const ids = Int32Array.from([4, 5, 6, 7, 8]);
      const full = model.forward(ids, 1, 5).logits.data;
      const caches = model.newCaches(1);
      model.forward(ids.subarray(0, 4), 1, 4, { caches });
      const last = model.forward(ids.subarray(4), 1, 1, { caches }).logits.data;
      assertAllClose(last, full.subarray(4 * 11), 1e-5, 1e-4, `${name}: last-token logits`);
    });
  });
}

Deno.test("gradcheck: a whole llama-variant GPT in float64 (rope, rmsnorm, swiglu, post-norm on top)", () => {
  const model = new GPT(
    { ...BASE, ...VARIANTS.llama, normPlacement: "post", nEmbd: 8 },
    new Rng(4),
    "float64",
  );
  const x = Int32Array.from([1, 5, 2, 7, 3, 9]), y = Int32Array.from([5, 2, 7, 3, 9, 4]);
  const params = model.namedParameters(undefined, true).map((p) => p.tensor);
  checkGrad(() => model.forward(x, 1, 6, { targets: y }).loss!, params, { maxPerInput: 6 });
});

Deno.test("variant configs: shipped files resolve to the model they name; rope needs an even head size", () => {
  const m = gptConfigOf(loadConfig({ path: "configs/variants/llama.jsonc" }).config, 100);
  assertEquals([m.position, m.norm, m.mlp, m.bias, m.normPlacement], [
    "rope",
    "rmsnorm",
    "swiglu",
    false,
    "pre",
  ]);
  assertThrows(
    () => loadConfig({ path: "configs/variants/rope.jsonc", sets: ["model.n_embd=12", "model.n_head=4"] }),
    "head size (model.n_embd / model.n_head = 3) that is even",
  );
  assertThrows(() => new RopeTable(8, 5), "must be even");
});
