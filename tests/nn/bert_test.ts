import { tinyConfig } from "../_helpers/models.ts";
import { Batcher, evalWindows } from "../../lib/data/batcher.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { maskedAccuracy, maskEvalBatches, maskRows, maskTokens, MlmBatcher } from "../../lib/data/mlm.ts";
import { fillMask } from "../../lib/generate/fill_mask.ts";
import { Bert, type BertConfig, paddingMask } from "../../lib/nn/models/bert.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { Rng } from "../../lib/random.ts";
import { crossEntropy, fullMask } from "../../lib/tensor/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import {
  assertAllClose,
  assertEquals,
  assertNotEquals,
  assertThrows,
  assertTrue,
} from "../_helpers/assert.ts";
import { checkGrad } from "../_helpers/gradcheck.ts";

const BASE: BertConfig = tinyConfig({ vocabSize: 9, blockSize: 8 });

const logitsOf = (
  m: Bert,
  ids: Int32Array,
  B: number,
  T: number,
  o: { lengths?: number[]; padId?: number } = {},
) => noGrad(() => m.forward(ids, B, T, o).logits.data.slice());

Deno.test("Bert: parameter names follow GPT's layout; the head is tied to wte", () => {
  const m = new Bert(BASE, new Rng(1));
  const names = m.namedParameters().map((p) => p.name);
  for (
    const n of [
      "transformer.wte.weight",
      "transformer.wpe.weight",
      "transformer.h.0.ln_1.weight",
      "transformer.h.1.attn.c_attn.weight",
      "transformer.h.1.mlp.c_proj.bias",
      "transformer.ln_f.weight",
      "lm_head.weight",
    ]
  ) assertTrue(names.includes(n), n);
  assertTrue(m.lm_head.weight === m.wte.weight, "tied");
  // the same config and seed give GPT's initial weights, name for name
  const g = new GPT(BASE, new Rng(1)).stateDict();
  for (const [name, t] of m.stateDict()) assertEquals([...t.data], [...g.get(name)!.data], name);
});

Deno.test("gradcheck: a whole Bert in float64 (learned and rope/post-norm/swiglu, padded rows of two lengths)", () => {
  const x = Int32Array.from([1, 5, 2, 7, 3, 0, 4, 8, 6, 0, 0, 0]);
  const y = Int32Array.from([-1, 2, -1, -1, 3, -1, 4, -1, 6, -1, -1, -1]);
  for (
    const v of [{}, { position: "rope", normPlacement: "post", mlp: "swiglu", norm: "rmsnorm" }] as Partial<
      BertConfig
    >[]
  ) {
    const model = new Bert({ ...BASE, ...v, nEmbd: 8 }, new Rng(4), "float64");
    const params = model.namedParameters(undefined, true).map((p) => p.tensor);
    checkGrad(() => model.forward(x, 2, 6, { targets: y, lengths: [5, 3] }).loss!, params, {
      maxPerInput: 6,
    });
    checkGrad(() => model.forward(x, 2, 6).logits, params, { maxPerInput: 4 });
  }
});

Deno.test("maskTokens: ~15% chosen, 80/10/10 split, deterministic, special ids never touched", () => {
  const n = 100_000, V = 50, maskId = V, special = [0, 1];
  const gen = new Rng(1);
  const ids = Int32Array.from({ length: n }, () => gen.int(V));
  const run = (seed: number) => maskTokens(ids, { maskId, vocabSize: V, rng: new Rng(seed), special });
  const { input, targets } = run(7);
  let eligible = 0, chosen = 0, masked = 0, random = 0, kept = 0;
  for (let i = 0; i < n; i++) {
    if (special.includes(ids[i])) {
      assertEquals([input[i], targets[i]], [ids[i], -1], `special at ${i}`);
      continue;
    }
    eligible++;
    if (targets[i] === -1) {
      assertEquals(input[i], ids[i], `unchosen position ${i} is unchanged`);
      continue;
    }
    assertEquals(targets[i], ids[i]);
    chosen++;
    if (input[i] === maskId) masked++;
    else if (input[i] === ids[i]) kept++;
    else {
      random++;
      assertTrue(input[i] >= 0 && input[i] < V && !special.includes(input[i]), `replacement ${input[i]}`);
    }
  }
  const f = chosen / eligible;
  assertTrue(Math.abs(f - 0.15) < 0.005, `chosen fraction ${f}`);
  assertTrue(Math.abs(masked / chosen - 0.8) < 0.015, `mask ${masked / chosen}`);
  // a random replacement equals the original 1 time in 47 (48 ordinary ids): count it as kept
  assertTrue(Math.abs(random / chosen - 0.1 * 47 / 48) < 0.01, `random ${random / chosen}`);
  assertTrue(Math.abs(kept / chosen - (0.1 + 0.1 / 48)) < 0.01, `kept ${kept / chosen}`);
  // deterministic for a seed, different for another
  const again = run(7), other = run(8);
  assertEquals([...again.input], [...input]);
  assertEquals([...again.targets], [...targets]);
  assertNotEquals([...other.targets], [...targets]);
});

Deno.test("maskTokens: at least one position per sequence (per row in maskRows), none when all are special", () => {
  const ids = Int32Array.from([3, 4, 5]);
  for (let s = 0; s < 200; s++) {
    const { targets } = maskTokens(ids, { maskId: 9, vocabSize: 9, rng: new Rng(s) });
    assertTrue(targets.some((t) => t !== -1), `seed ${s}`);
  }
  const rows = Int32Array.from({ length: 40 * 4 }, (_, i) => 2 + (i % 5));
  const { targets } = maskRows(rows, 4, { maskId: 9, vocabSize: 9, rng: new Rng(3) });
  for (let r = 0; r < 40; r++) {
    assertTrue(targets.subarray(4 * r, 4 * r + 4).some((t) => t !== -1), `row ${r}`);
  }
  const allSpecial = maskTokens(Int32Array.from([0, 0, 0]), {
    maskId: 9,
    vocabSize: 9,
    rng: new Rng(1),
    special: [0],
  });
  assertEquals([...allSpecial.targets], [-1, -1, -1]);
  assertThrows(
    () => maskTokens(ids, { maskId: 9, vocabSize: 9, rng: new Rng(1), probability: 0 }),
    "probability",
  );
  assertThrows(() => maskRows(ids, 2, { maskId: 9, vocabSize: 9, rng: new Rng(1) }), "rows of 2");
});

Deno.test("masked-LM loss: unmasked positions get zero logit gradient and do not affect the loss", () => {
  const model = new Bert(BASE, new Rng(2));
  const ids = Int32Array.from({ length: 2 * 8 }, (_, i) => (i * 5 + 1) % 8);
  const { input, targets } = maskRows(ids, 8, { maskId: 8, vocabSize: 8, rng: new Rng(5), probability: 0.3 });
  const unmasked = [...targets.keys()].filter((i) => targets[i] === -1);
  assertTrue(unmasked.length > 0 && unmasked.length < 16, "some positions masked, some not");
  const { logits, loss } = noGrad(() => model.forward(input, 2, 8, { targets }));
  // the model's loss is cross-entropy (ignore -1) on its logits; differentiate it w.r.t. the logits as a leaf
  const leaf = new Tensor(logits.data.slice(), logits.shape, true);
  const ce = crossEntropy(leaf, targets, -1);
  assertAllClose([ce.item()], [loss!.item()], 0, 0);
  ce.backward();
  const V = BASE.vocabSize;
  for (const i of unmasked) {
    assertTrue(leaf.grad!.subarray(i * V, (i + 1) * V).every((g) => g === 0), `row ${i}`);
  }
  assertTrue(leaf.grad!.some((g) => g !== 0), "masked rows have a gradient");
  // changing the logits at unmasked positions leaves the loss exactly as it was
  const perturbed = new Tensor(logits.data.slice(), logits.shape);
  const r = new Rng(1);
  for (const i of unmasked) for (let v = 0; v < V; v++) perturbed.data[i * V + v] += 3 * r.normal();
  assertEquals(crossEntropy(perturbed, targets, -1).item(), ce.item());
});

Deno.test("Bert is bidirectional: position 0 depends on the last token (GPT's does not)", () => {
  const a = Int32Array.from([1, 2, 3, 4, 5, 6]), b = Int32Array.from([1, 2, 3, 4, 5, 7]);
  const V = BASE.vocabSize;
  const bert = new Bert(BASE, new Rng(3)), gpt = new GPT(BASE, new Rng(3));
  const first = (l: Float32Array | Float64Array) => [...l.subarray(0, V)];
  assertNotEquals(first(logitsOf(bert, a, 1, 6)), first(logitsOf(bert, b, 1, 6)));
  const g = (ids: Int32Array) => first(noGrad(() => gpt.forward(ids, 1, 6).logits.data));
  assertEquals(g(a), g(b));
  // the default mask is fullMask; an explicit causal-free mask gives the same result
  assertEquals(
    [...logitsOf(bert, a, 1, 6)],
    [...noGrad(() => bert.forward(a, 1, 6, { mask: fullMask(6) }).logits.data)],
  );
});

Deno.test("Bert padding: padded tokens never change real positions; rows match running alone; padId = lengths", () => {
  const V = BASE.vocabSize, T = 6;
  for (const attention of ["standard", "flash"] as const) {
    const m = new Bert({ ...BASE, attention }, new Rng(4), "float64");
    const x = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 6, 5, 0, 0, 0]);
    const x2 = x.slice();
    x2[9] = 3;
    x2[11] = 8; // change row 1's padding
    const l1 = logitsOf(m, x, 2, T, { lengths: [6, 3] }), l2 = logitsOf(m, x2, 2, T, { lengths: [6, 3] });
    assertEquals(
      [...l1.subarray(0, (T + 3) * V)],
      [...l2.subarray(0, (T + 3) * V)],
      `${attention}: real positions`,
    );
    // each row as if alone (row 1 cut to its 3 real tokens)
    assertAllClose(l1.subarray(0, T * V), logitsOf(m, x.subarray(0, 6), 1, T), 1e-12, 1e-12, "row 0");
    assertAllClose(
      l1.subarray(T * V, (T + 3) * V),
      logitsOf(m, x.subarray(6, 9), 1, 3),
      1e-12,
      1e-12,
      "row 1",
    );
    // padding marked by id 0 gives the same mask as lengths
    assertAllClose(logitsOf(m, x, 2, T, { padId: 0 }), l1, 0, 0, "padId");
  }
  const mask = paddingMask([1, 1, 0]);
  assertEquals([...mask.data], [1, 1, 0, 1, 1, 0, 1, 1, 0]);
  const m = new Bert(BASE, new Rng(4));
  assertThrows(() => m.forward(Int32Array.from([0, 0]), 1, 2, { padId: 0 }), "all padding");
  assertThrows(() => m.forward(Int32Array.from([1, 2]), 1, 2, { lengths: [3] }), "lengths[0]");
  assertThrows(() => new Bert({ ...BASE, attention: "flash", dropout: 0.1 }, new Rng(1)), "dropout");
});

Deno.test("Bert: flash attention and activation checkpointing give the standard gradients", () => {
  const x = Int32Array.from([1, 5, 2, 7, 3, 0, 4, 8, 6, 0, 0, 0]);
  const y = Int32Array.from([-1, 2, -1, -1, 3, -1, 4, -1, 6, -1, -1, -1]);
  const grads = (v: Partial<BertConfig>) => {
    const m = new Bert({ ...BASE, ...v }, new Rng(6), "float64");
    const { loss } = m.forward(x, 2, 6, { targets: y, lengths: [5, 3] });
    loss!.backward();
    return m.namedParameters(undefined, true).flatMap((p) => [...p.tensor.grad!]);
  };
  const ref = grads({});
  assertAllClose(grads({ attention: "flash" }), ref, 1e-12, 1e-9, "flash");
  assertAllClose(grads({ activationCheckpointing: true }), ref, 1e-12, 1e-9, "checkpointing");
});

Deno.test("MlmBatcher: masked windows of the stream; a resumed batcher replays the same batches", () => {
  const tokens = Int32Array.from({ length: 500 }, (_, i) => i % 7);
  const make = () =>
    new MlmBatcher(new Batcher(tokens, 16, 4, new Rng(1)), { maskId: 7, vocabSize: 7, rng: new Rng(2) });
  const a = make();
  for (let k = 0; k < 3; k++) a.next();
  const saved = JSON.parse(JSON.stringify(a.state()));
  const next = a.next();
  assertEquals([next.x.length, next.y.length, a.batches], [64, 64, 4]);
  for (let i = 0; i < 64; i++) {
    if (next.y[i] === -1) assertTrue(next.x[i] !== 7, "unmasked positions are raw tokens");
  }
  const b = make();
  b.setState(saved);
  const again = b.next();
  assertEquals([...again.x], [...next.x]);
  assertEquals([...again.y], [...next.y]);
  const windows = evalWindows(tokens, 16, 4, 2);
  const e1 = maskEvalBatches(windows, 16, { maskId: 7, vocabSize: 7, seed: 3 });
  const e2 = maskEvalBatches(windows, 16, { maskId: 7, vocabSize: 7, seed: 3 });
  assertEquals(e1.map((b) => [...b.y]), e2.map((b) => [...b.y]));
});

Deno.test("Bert trains with masked-LM: the loss falls, masked accuracy beats chance, fill-mask finds the token", () => {
  // a small repetitive stream: each character is fixed by its neighbours, which only attention can see
  const text = "abcdefg".repeat(600);
  const tok = CharTokenizer.fromText(text);
  const V = tok.vocabSize, maskId = V; // [MASK] is the id after the vocabulary: the model has V + 1 rows
  const tokens = tok.encode(text);
  const config: BertConfig = { ...BASE, vocabSize: V + 1, blockSize: 24, nEmbd: 32, nHead: 4 };
  const model = new Bert(config, new Rng(7));
  const opts = { maskId, vocabSize: V };
  const batcher = new MlmBatcher(new Batcher(tokens, 24, 8, new Rng(8)), { ...opts, rng: new Rng(9) });
  const evalSet = maskEvalBatches(evalWindows(tokens, 24, 8, 2), 24, { ...opts, seed: 10 });
  const evaluate = () => {
    model.eval();
    let loss = 0, acc = 0;
    for (const b of evalSet) {
      const out = noGrad(() => model.forward(b.x, 8, 24, { targets: b.y }));
      loss += out.loss!.item() / evalSet.length;
      acc += maskedAccuracy(out.logits, b.y) / evalSet.length;
    }
    model.train();
    return { loss, acc };
  };
  const before = evaluate();
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0 });
  for (let step = 0; step < 200; step++) {
    const { x, y } = batcher.next();
    const { loss } = model.forward(x, 8, 24, { targets: y });
    opt.zeroGrad();
    loss!.backward();
    opt.step();
  }
  const after = evaluate();
  const chance = 1 / V;
  assertTrue(after.loss < 0.3 * before.loss, `loss ${before.loss} → ${after.loss}`);
  assertTrue(after.acc > 0.8, `masked accuracy ${after.acc} (chance ${chance})`);
  // fill the mask: "abcd?fgab" → "e"
  const ids = tok.encode("abcdefgab");
  ids[4] = maskId;
  const preds = fillMask(model, ids, { maskId, topK: 3 });
  assertTrue(model.training, "training flag restored");
  assertEquals(preds.length, 1);
  assertEquals([preds[0].row, preds[0].position, preds[0].candidates.length], [0, 4, 3]);
  const probs = preds[0].candidates.map((c) => c.prob);
  assertTrue(probs[0] >= probs[1] && probs[1] >= probs[2] && probs[0] + probs[1] + probs[2] <= 1 + 1e-9);
  assertEquals(tok.decode([preds[0].candidates[0].id]), "e");
  // two rows, one mask each ("abcdef?a", "bc?efgab")
  const two = tok.encode("abcdefgabcdefgab");
  two[6] = maskId;
  two[8 + 2] = maskId;
  const p2 = fillMask(model, two, { maskId, batch: 2, topK: 1 });
  assertEquals(p2.map((p) => [p.row, p.position]), [[0, 6], [1, 2]]);
  assertEquals(tok.decode(p2.map((p) => p.candidates[0].id)), "gd");
});
