import { generate } from "../../lib/generate/generate.ts";
import { CausalSelfAttention } from "../../lib/nn/attention.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { causalMask, RopeTable } from "../../lib/tensor/mod.ts";
import { repeatHeads, repeatKvHeads } from "../../lib/tensor/ops/gqa.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";
import { tinyConfig } from "../_helpers/models.ts";

const BASE: GPTConfig = tinyConfig({ vocabSize: 11, blockSize: 12, nHead: 4 });

Deno.test("repeatKvHeads: query head h reads key/value head ⌊h·n_kv_head/n_head⌋; n_kv_head = n_head copies", () => {
  // B 1, T 1, H 4, Hkv 2, D 1: row [q0 q1 q2 q3 | k0 k1 | v0 v1]
  const qkv = Tensor.from([1, 2, 3, 4, 10, 20, 30, 40], [1, 1, 8], "float64");
  assertEquals([...repeatKvHeads(qkv, 4, 2).data], [1, 2, 3, 4, 10, 10, 20, 20, 30, 30, 40, 40]);
  assertEquals([...repeatKvHeads(Tensor.from([1, 2, 3], [1, 1, 3]), 1, 1).data], [1, 2, 3]);
  const full = Tensor.from([1, 2, 3, 4, 5, 6], [1, 1, 6], "float64");
  assertEquals([...repeatKvHeads(full, 2, 2).data], [...full.data]);
  assertThrows(() => repeatKvHeads(qkv, 4, 3), "repeatKvHeads", "n_head a multiple of n_kv_head");
  const kv = Tensor.from([1, 2, 3, 4], [1, 2, 1, 2]); // (B 1, Hkv 2, T 1, D 2)
  assertEquals([...repeatHeads(kv, 4).data], [1, 2, 1, 2, 3, 4, 3, 4]);
});

Deno.test("gradcheck: repeatKvHeads, repeatHeads and a grouped-query attention layer (float64, rope)", () => {
  const rng = new Rng(5);
  checkGrad((x) => repeatKvHeads(x, 4, 2), [randn64([2, 3, (4 + 2 * 2) * 3], rng)]);
  checkGrad((x) => repeatKvHeads(x, 4, 1), [randn64([1, 2, (4 + 2) * 2], rng)]);
  checkGrad((x) => repeatHeads(x, 6), [randn64([2, 3, 4, 2], rng)]); // T5's separate k, v: (B, Hkv, T, D)
  const layer = new CausalSelfAttention(8, 4, {
    rng,
    dropoutRng: new Rng(6),
    dtype: "float64",
    nKvHead: 2,
    rope: new RopeTable(8, 2),
  });
  const x = randn64([2, 5, 8], rng);
  const params = layer.namedParameters().map((p) => p.tensor);
  checkGrad((xx) => layer.forward(xx, { mask: causalMask(5) }), [x, ...params]);
});

Deno.test("gradcheck: a whole GPT with grouped-query attention (float64, rope, rmsnorm, swiglu)", () => {
  const model = new GPT(
    { ...BASE, nEmbd: 8, nKvHead: 2, position: "rope", norm: "rmsnorm", mlp: "swiglu" },
    new Rng(4),
    "float64",
  );
  const x = Int32Array.from([1, 5, 2, 7, 3, 9]), y = Int32Array.from([5, 2, 7, 3, 9, 4]);
  const params = model.namedParameters(undefined, true).map((p) => p.tensor);
  checkGrad(() => model.forward(x, 1, 6, { targets: y }).loss!, params, { maxPerInput: 6 });
});

Deno.test("GQA: n_kv_head = n_head is standard attention bit for bit (same parameters, logits, gradients)", () => {
  const ids = Int32Array.from({ length: 2 * 10 }, (_, i) => (i * 5 + 1) % 11);
  const targets = ids.map((_, i) => ids[(i + 1) % ids.length]);
  const run = (c: GPTConfig) => {
    const model = new GPT(c, new Rng(8));
    const { logits, loss } = model.forward(ids, 2, 10, { targets });
    loss!.backward();
    const params = model.namedParameters();
    return {
      shapes: params.map((p) => `${p.name} [${p.tensor.shape}]`),
      logits: [...logits.data],
      grads: params.map((p) => [...p.tensor.grad!]),
    };
  };
  assertEquals(run({ ...BASE, nKvHead: 4 }), run(BASE));
});

Deno.test("GQA equals standard attention whose key/value heads are the grouped ones repeated (float64)", () => {
  const C = 16, H = 4, Hkv = 2, D = C / H, rng = new Rng(9);
  const gqa = new CausalSelfAttention(C, H, { rng, dropoutRng: rng, dtype: "float64", nKvHead: Hkv });
  const mha = new CausalSelfAttention(C, H, { rng, dropoutRng: rng, dtype: "float64" });
  assertEquals(gqa.c_attn.weight.shape, [(H + 2 * Hkv) * D, C]);
  // mha's k and v rows of head h = gqa's rows of head ⌊h·Hkv/H⌋; q and the output projection are copied
  const gw = gqa.c_attn.weight.data, mw = mha.c_attn.weight.data, gb = gqa.c_attn.bias!.data;
  const mb = mha.c_attn.bias!.data;
  for (let r = 0; r < 3 * C; r++) {
    const part = Math.floor(r / C), h = Math.floor((r % C) / D), d = r % D;
    const src = part === 0 ? r : C + (part - 1) * Hkv * D + Math.floor((h * Hkv) / H) * D + d;
    mw.set(gw.subarray(src * C, (src + 1) * C), r * C);
    gb[src] = 0.01 * (src + 1);
    mb[r] = gb[src];
  }
  mha.c_proj.weight.data.set(gqa.c_proj.weight.data);
  const x = randn64([2, 6, C], rng);
  noGrad(() => assertEquals([...gqa.forward(x).data], [...mha.forward(x).data]));
});

for (const nKvHead of [2, 1]) {
  Deno.test(`GQA n_kv_head ${nKvHead}: the KV cache holds n_kv_head heads; cached generation = full recompute`, () => {
    const model = new GPT({ ...BASE, nKvHead, position: "rope" }, new Rng(3));
    const caches = model.newCaches(2, 7);
    assertEquals([caches[0].H, caches[0].k.length], [nKvHead, 2 * nKvHead * 7 * (16 / 4)]);
    const gen = (useCache: boolean) =>
      generate(model, Int32Array.from([1, 2, 3]), {
        maxNewTokens: 14, // past block_size: the window slides and the cache is rebuilt
        sampling: { temperature: 1 },
        rng: new Rng(0),
        useCache,
      });
    assertEquals([...gen(true)], [...gen(false)]);
  });
}

Deno.test("GQA: n_kv_head must divide n_head", () => {
  assertThrows(() => new GPT({ ...BASE, nKvHead: 3 }, new Rng(1)), "n_kv_head 3 does not divide n_head 4");
});
