import { CausalSelfAttention, KVCache } from "../../lib/nn/attention.ts";
import { Block } from "../../lib/nn/block.ts";
import { Embedding, LayerNorm, Linear, MLP } from "../../lib/nn/layers.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { noGrad, sum, type Tensor } from "../../lib/tensor/mod.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";

// Gradient checks of layers: the layer's parameters and the input are all checked.
function checkLayer(params: Tensor[], input: Tensor | null, fwd: (x: Tensor | null) => Tensor) {
  const inputs = input ? [input, ...params] : params;
  checkGrad((...xs) => fwd(input ? xs[0] : null), inputs);
}

Deno.test("gradcheck: Linear, Embedding, LayerNorm layers (float64)", () => {
  const rng = new Rng(1);
  const lin = new Linear(6, 5, { rng, dtype: "float64" });
  checkLayer([lin.weight, lin.bias!], randn64([2, 3, 6], rng), (x) => lin.forward(x!));
  const emb = new Embedding(7, 4, { rng, dtype: "float64" });
  checkLayer([emb.weight], null, () => emb.forward(new Int32Array([1, 6, 1, 0]), [2, 2]));
  const ln = new LayerNorm(6, { dtype: "float64" });
  for (let i = 0; i < 6; i++) {
    ln.weight.data[i] = 1 + 0.1 * i;
    ln.bias!.data[i] = -0.05 * i;
  }
  checkLayer([ln.weight, ln.bias!], randn64([3, 6], rng), (x) => ln.forward(x!));
});

Deno.test("gradcheck: MLP, CausalSelfAttention, Block (float64, with dropout)", () => {
  const rng = new Rng(2);
  const dropoutRng = new Rng(3);
  const opts = { rng, dropoutRng, dtype: "float64" as const, std: 0.5, projStd: 0.5 };
  const mlp = new MLP(4, { ...opts, dropout: 0.1 });
  // re-seed the dropout stream before every evaluation so the mask is the same in each finite difference
  const fixed = (f: () => Tensor) => {
    dropoutRng.setState(new Rng(9).state());
    return f();
  };
  const x = randn64([2, 3, 4], rng);
  checkGrad((xx) => fixed(() => mlp.forward(xx)), [x, ...mlp.namedParameters().map((p) => p.tensor)]);
  const att = new CausalSelfAttention(8, 2, { ...opts, dropout: 0.1 });
  for (const p of att.namedParameters()) {
    for (let i = 0; i < p.tensor.size; i++) p.tensor.data[i] = rng.normal() * 0.5;
  }
  const xa = randn64([2, 5, 8], rng);
  checkGrad((xx) => fixed(() => att.forward(xx)), [xa, ...att.namedParameters().map((p) => p.tensor)]);
  const block = new Block({
    nEmbd: 8,
    nHead: 2,
    nLayer: 2,
    dropout: 0,
    bias: true,
    rng,
    dropoutRng,
    dtype: "float64",
  });
  for (const p of block.namedParameters()) {
    for (let i = 0; i < p.tensor.size; i++) p.tensor.data[i] += rng.normal() * 0.3;
  }
  checkGrad((xx) => block.forward(xx), [xa, ...block.namedParameters().map((p) => p.tensor)]);
});

const tiny: GPTConfig = {
  vocabSize: 11,
  blockSize: 8,
  nLayer: 2,
  nHead: 2,
  nEmbd: 8,
  dropout: 0,
  bias: true,
  tieWeights: true,
};

Deno.test("gradcheck: whole GPT loss w.r.t. every parameter (float64, tied weights)", () => {
  const model = new GPT(tiny, new Rng(4), "float64");
  const rng = new Rng(5);
  for (const p of model.namedParameters("", true)) {
    for (let i = 0; i < p.tensor.size; i++) p.tensor.data[i] += rng.normal() * 0.2;
  }
  const idx = new Int32Array([1, 2, 3, 4, 5, 6, 7, 0, 10, 9]);
  const targets = new Int32Array([2, 3, 4, 5, -1, 7, 0, 10, 9, 8]);
  const params = model.namedParameters("", true).map((p) => p.tensor);
  checkGrad(() => model.forward(idx, 2, 5, { targets }).loss!, params, { maxPerInput: 20 });
});

Deno.test("GPT parameter names and shapes are nanoGPT's", () => {
  const model = new GPT({ ...tiny, tieWeights: false, nLayer: 1 }, new Rng(0));
  const names = model.namedParameters().map((p) => `${p.name} [${p.tensor.shape}]`);
  assertEquals(names, [
    "transformer.wte.weight [11,8]",
    "transformer.wpe.weight [8,8]",
    "transformer.h.0.ln_1.weight [8]",
    "transformer.h.0.ln_1.bias [8]",
    "transformer.h.0.attn.c_attn.weight [24,8]",
    "transformer.h.0.attn.c_attn.bias [24]",
    "transformer.h.0.attn.c_proj.weight [8,8]",
    "transformer.h.0.attn.c_proj.bias [8]",
    "transformer.h.0.ln_2.weight [8]",
    "transformer.h.0.ln_2.bias [8]",
    "transformer.h.0.mlp.c_fc.weight [32,8]",
    "transformer.h.0.mlp.c_fc.bias [32]",
    "transformer.h.0.mlp.c_proj.weight [8,32]",
    "transformer.h.0.mlp.c_proj.bias [8]",
    "transformer.ln_f.weight [8]",
    "transformer.ln_f.bias [8]",
    "lm_head.weight [11,8]",
  ]);
  const tied = new GPT(tiny, new Rng(0));
  const sd = tied.stateDict();
  assertEquals(sd.get("lm_head.weight") === sd.get("transformer.wte.weight"), true);
  assertEquals(tied.numParameters(), tied.namedParameters("", true).reduce((s, p) => s + p.tensor.size, 0));
  const noBias = new GPT({ ...tiny, bias: false, nLayer: 1 }, new Rng(0));
  assertEquals(noBias.namedParameters().some((p) => p.name.endsWith(".bias")), false);
});

Deno.test("GPT init is nanoGPT's: N(0, 0.02), residual projections scaled by 1/sqrt(2·n_layer)", () => {
  const model = new GPT(
    { ...tiny, nEmbd: 64, nHead: 4, vocabSize: 200, blockSize: 64, tieWeights: false },
    new Rng(0),
  );
  const std = (t: Tensor) => Math.sqrt(Array.from(t.data).reduce((s, v) => s + v * v, 0) / t.size);
  const sd = model.stateDict();
  assertClose(std(sd.get("transformer.h.0.mlp.c_fc.weight")!), 0.02, 0.001);
  assertClose(std(sd.get("transformer.h.0.mlp.c_proj.weight")!), 0.02 / Math.sqrt(4), 0.001);
  assertClose(std(sd.get("transformer.h.1.attn.c_proj.weight")!), 0.02 / Math.sqrt(4), 0.001);
  assertEquals(Array.from(sd.get("transformer.h.0.attn.c_attn.bias")!.data).every((v) => v === 0), true);
  assertEquals(Array.from(sd.get("transformer.ln_f.weight")!.data).every((v) => v === 1), true);
});

Deno.test("GPT is causal: a later token never changes earlier logits", () => {
  const model = new GPT(tiny, new Rng(6));
  const a = new Int32Array([1, 2, 3, 4, 5]);
  const b = new Int32Array([1, 2, 3, 9, 0]);
  const la = noGrad(() => model.forward(a, 1, 5).logits), lb = noGrad(() => model.forward(b, 1, 5).logits);
  assertAllClose(la.data.slice(0, 3 * 11), lb.data.slice(0, 3 * 11), 0, 0);
});

Deno.test("KV cache: incremental forward equals the full forward, position by position", () => {
  const model = new GPT(tiny, new Rng(7), "float64").eval();
  const idx = new Int32Array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]); // B = 2, T = 6
  const full = noGrad(() => model.forward(idx, 2, 6).logits);
  const caches = model.newCaches(2);
  // prefill 2 positions, then 1 at a time
  const step = (t0: number, n: number) => {
    const ids = new Int32Array(2 * n);
    for (let b = 0; b < 2; b++) for (let t = 0; t < n; t++) ids[b * n + t] = idx[b * 6 + t0 + t];
    return noGrad(() => model.forward(ids, 2, n, { caches }).logits);
  };
  const parts = [step(0, 2), step(2, 1), step(3, 1), step(4, 2)];
  let t0 = 0;
  for (const p of parts) {
    const n = p.shape[1];
    for (let b = 0; b < 2; b++) {
      const got = p.data.slice(b * n * 11, (b + 1) * n * 11);
      const want = full.data.slice((b * 6 + t0) * 11, (b * 6 + t0 + n) * 11);
      assertAllClose(got, want, 1e-12, 1e-12);
    }
    t0 += n;
  }
  assertEquals(caches[0].length, 6);
  assertThrows(() => step(0, 3), "exceed block_size");
});

Deno.test("KV cache refuses to overflow", () => {
  const c = new KVCache(1, 1, 2, 2, "float32");
  const model = new GPT(tiny, new Rng(0));
  void model;
  const t = randn64([1, 1, 3, 2], new Rng(0));
  assertThrows(() => c.append(t, t), "KV cache full");
});

Deno.test("loss of an untrained GPT is about ln(vocab)", () => {
  const model = new GPT({ ...tiny, vocabSize: 50 }, new Rng(8));
  const idx = new Int32Array(16).map((_, i) => (i * 7) % 50);
  const tg = new Int32Array(16).map((_, i) => (i * 7 + 3) % 50);
  const loss = model.forward(idx, 2, 8, { targets: tg }).loss!;
  assertClose(loss.item(), Math.log(50), 0.05);
  loss.backward();
  assertEquals(model.wte.weight.grad !== null, true);
  void sum;
});
