import {
  collateSeq2Seq,
  noiseCounts,
  reconstructSpans,
  seq2seqVocab,
  spanCorrupt,
  SpanCorruptionBatcher,
  SymbolTaskBatcher,
  symbolTaskExamples,
  type SymbolTaskOptions,
} from "../../lib/data/seq2seq.ts";
import { beamSearch, greedyDecode } from "../../lib/generate/seq2seq.ts";
import { T5, T5Attention, type T5Config } from "../../lib/nn/models/t5.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { Rng } from "../../lib/random.ts";
import { attention, causalMask, crossEntropy, fullMask } from "../../lib/tensor/mod.ts";
import { relativePositionBucket, relativePositionBuckets } from "../../lib/kernels/relpos.ts";
import { attentionWithBias, relativePositionBias } from "../../lib/tensor/ops/relpos.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { assertAllClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";
import { SMALL_T5 } from "../_helpers/t5.ts";

Deno.test("relative position buckets: T5's formula, worked by hand (32 buckets, max distance 128)", () => {
  // rel = key − query. Bidirectional: 16 buckets a side, exact below 8; beyond, 8 + ⌊log(n/8)/log(16)·8⌋ (≤ 15),
  // +16 for keys after the query. |20| → 8 + ⌊2.64⌋ = 10; |200| → 8 + ⌊9.29⌋ = 17 → 15.
  const bi = [-200, -20, -1, 0, 1, 20, 200].map((r) => relativePositionBucket(r, true, 32, 128));
  assertEquals(bi, [15, 10, 1, 0, 17, 26, 31]);
  // Unidirectional: keys after the query → 0; n = query − key exact below 16; beyond,
  // 16 + ⌊log(n/16)/log(8)·16⌋ (≤ 31): 20 → 16 + ⌊1.72⌋ = 17; 200 → 16 + ⌊19.4⌋ = 35 → 31.
  const uni = [-200, -20, -1, 0, 1, 20, 200].map((r) => relativePositionBucket(r, false, 32, 128));
  assertEquals(uni, [31, 17, 1, 0, 0, 0, 0]);
  // the boundaries of the log part: bidirectional n = 16, 32, 64, 128 → 10, 12, 14, 15
  assertEquals([16, 32, 64, 128].map((n) => relativePositionBucket(-n, true)), [10, 12, 14, 15]);
  // the (Tq, Tk) table: query i at qOffset + i, key j at j
  const b = relativePositionBuckets(2, 4, { bidirectional: false, qOffset: 2 });
  assertEquals([...b], [2, 1, 0, 0, 3, 2, 1, 0]);
  const e = relativePositionBuckets(3, 3, { bidirectional: true, numBuckets: 8, maxDistance: 16 });
  assertEquals([...e], [0, 5, 6, 1, 0, 5, 2, 1, 0]);
  // buckets grow with the distance and stay in range
  for (const bidirectional of [true, false]) {
    let prev = 0;
    for (let n = 0; n < 300; n++) {
      const k = relativePositionBucket(-n, bidirectional);
      assertTrue(k >= prev && k < (bidirectional ? 16 : 32), `n=${n}: bucket ${k}`);
      prev = k;
    }
  }
});

Deno.test("gradcheck: relative position bias gather + attentionWithBias (float64), masks and padding", () => {
  const rng = new Rng(11);
  const [B, H, Tq, Tk, D, NB] = [2, 2, 3, 4, 3, 8];
  const buckets = relativePositionBuckets(Tq, Tk, { bidirectional: true, numBuckets: NB, maxDistance: 8 });
  const q = randn64([B, H, Tq, D], rng), k = randn64([B, H, Tk, D], rng), v = randn64([B, H, Tk, D], rng);
  const table = randn64([NB, H], rng);
  const keyLengths = Int32Array.from([4, 2]);
  checkGrad(
    (q, k, v, t) =>
      attentionWithBias(q, k, v, relativePositionBias(t, buckets, Tq, Tk), null, { keyLengths }),
    [q, k, v, table],
  );
  // causal mask for queries at the end of the keys, T5's unscaled scores, no bias
  checkGrad((q, k, v) => attentionWithBias(q, k, v, null, causalMask(Tq, Tk), { scale: 1 }), [q, k, v]);
  // a bias tensor straight in (gradient to the bias itself)
  checkGrad((b) => attentionWithBias(q, k, v, b, causalMask(Tq, Tk), { keyLengths }), [
    randn64([H, Tq, Tk], rng),
  ]);
  // the table gradient is the bias gradient summed per bucket
  checkGrad((t) => relativePositionBias(t, buckets, Tq, Tk), [table]);
});

Deno.test("attentionWithBias without a bias equals the attention op; padded keys get no probability", () => {
  const rng = new Rng(12);
  const q = randn64([2, 2, 5, 4], rng), k = randn64([2, 2, 5, 4], rng), v = randn64([2, 2, 5, 4], rng);
  noGrad(() => {
    const want = attention(q, k, v, causalMask(5)).data;
    assertAllClose(attentionWithBias(q, k, v, null, causalMask(5)).data, want, 1e-12, 1e-12);
    // key lengths: the same as dropping the padded keys
    const cut = (t: Tensor, n: number) => {
      const out = Tensor.zeros([2, 2, n, 4], "float64");
      for (let bh = 0; bh < 4; bh++) out.data.set(t.data.subarray(bh * 20, bh * 20 + n * 4), bh * n * 4);
      return out;
    };
    const padded = attentionWithBias(q, k, v, null, null, { keyLengths: Int32Array.from([3, 3]) }).data;
    assertAllClose(padded, attention(q, cut(k, 3), cut(v, 3), fullMask(5, 3)).data, 1e-12, 1e-12);
  });
  assertThrows(() => attentionWithBias(q, k, v, randn64([2, 5, 4], rng), null), "bias");
});

const BASE: T5Config = { ...SMALL_T5, blockSize: 8 };

Deno.test("gradcheck: cross-attention with padded keys (float64)", () => {
  const rng = new Rng(13);
  const attn = new T5Attention(8, 2, {
    rng,
    dropoutRng: rng.fork(),
    dtype: "float64",
    bias: true,
    dropout: 0,
    projStd: 0.3,
    relativeBias: false,
    numBuckets: 8,
  });
  for (const { tensor } of attn.namedParameters()) for (let i = 0; i < tensor.size; i++) tensor.data[i] *= 15;
  const x = randn64([2, 3, 8], rng), enc = randn64([2, 5, 8], rng);
  const ctx = { bias: null, mask: null, keyLengths: Int32Array.from([5, 2]) };
  const params = attn.namedParameters().map((p) => p.tensor);
  checkGrad((x, enc) => attn.forward(x, ctx, { kv: enc }), [x, enc, ...params], { maxPerInput: 24 });
});

Deno.test("gradcheck: a whole tiny T5 in float64 (rmsnorm + swiglu, layernorm + gelu untied, multi-query)", () => {
  const src = Int32Array.from([1, 2, 3, 4, 10, 5, 6, 10, 9, 9]); // row 1 padded after 3 tokens
  const tgtIn = Int32Array.from([8, 4, 3, 2, 8, 6, 5, 9]);
  const tgtOut = Int32Array.from([4, 3, 2, 10, 6, 5, 10, -1]);
  const opts = { targets: tgtOut, srcLengths: Int32Array.from([5, 3]) };
  for (
    const v of [
      { mlp: "swiglu" as const },
      { norm: "layernorm" as const, bias: true, tieWeights: false },
      { nHead: 4, nKvHead: 1 },
    ]
  ) {
    const model = new T5({ ...BASE, ...v }, new Rng(14), "float64");
    // larger weights than the init so every path carries a visible gradient
    for (const { tensor } of model.namedParameters(undefined, true)) {
      if (tensor.ndim === 2) { for (let i = 0; i < tensor.size; i++) tensor.data[i] *= 10; }
    }
    const params = model.namedParameters(undefined, true).map((p) => p.tensor);
    checkGrad(() => model.forward(src, 2, 5, tgtIn, 4, opts).loss!, params, { maxPerInput: 5 });
  }
});

Deno.test("T5: parameter names follow HF T5; padding content does not change the outputs", () => {
  const model = new T5(BASE, new Rng(15));
  const names = model.namedParameters().map((p) => p.name);
  for (
    const n of [
      "shared.weight",
      "encoder.block.0.layer.0.SelfAttention.q.weight",
      "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      "encoder.block.1.layer.1.DenseReluDense.wo.weight",
      "encoder.final_layer_norm.weight",
      "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      "decoder.block.0.layer.1.EncDecAttention.k.weight",
      "decoder.block.0.layer.2.layer_norm.weight",
      "decoder.final_layer_norm.weight",
      "lm_head.weight",
    ]
  ) assertTrue(names.includes(n), `missing ${n}`);
  assertTrue(!names.includes("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"));
  assertEquals(model.stateDict().get("lm_head.weight"), model.stateDict().get("shared.weight"));
  noGrad(() => {
    const lengths = Int32Array.from([3]);
    const a = model.forward(Int32Array.from([1, 2, 10, 9, 9]), 1, 5, Int32Array.from([8, 3]), 2, {
      srcLengths: lengths,
    });
    const b = model.forward(Int32Array.from([1, 2, 10, 4, 7]), 1, 5, Int32Array.from([8, 3]), 2, {
      srcLengths: lengths,
    });
    assertAllClose(a.logits.data, b.logits.data, 0, 0);
  });
});

for (const nKvHead of [undefined, 1]) {
  const name =
    `T5 decoding${nKvHead ? " (multi-query)" : ""}: cached greedy equals a full recompute; cached ` +
    "step logits equal the full decoder's";
  Deno.test(name, () => {
    const model = new T5({ ...BASE, nDecoderLayer: 2, blockSize: 10, nKvHead }, new Rng(16));
    if (nKvHead) {
      const state = model.startDecoding(Tensor.zeros([1, 3, 8]));
      assertEquals([state.selfCaches[0].H, ...state.crossK[0].shape], [1, 1, 1, 3, 4]); // n_kv_head heads cached
    }
    for (const { tensor } of model.namedParameters(undefined, true)) {
      for (let i = 0; i < tensor.size; i++) tensor.data[i] *= 20; // a random model with decisive logits
    }
    const src = Int32Array.from([1, 2, 3, 4, 10, 5, 6, 10, 9, 9]), srcLengths = Int32Array.from([5, 3]);
    const opts = { maxLen: 10, bosId: 8, eosId: 10, srcLengths };
    const cached = greedyDecode(model, src, 2, 5, opts);
    const full = greedyDecode(model, src, 2, 5, { ...opts, useCache: false });
    assertEquals(cached.map((t) => [...t]), full.map((t) => [...t]));
    noGrad(() => {
      const enc = model.encode(src, 2, 5, srcLengths);
      const tgt = Int32Array.from([8, 3, 1, 4, 8, 7, 2, 2]);
      const want = model.decode(tgt, 2, 4, enc, srcLengths).data;
      const state = model.startDecoding(enc, srcLengths);
      const first = model.decodeStep(Int32Array.from([8, 3, 8, 7]), 2, 2, state).data; // a 2-token prefill
      const third = model.decodeStep(Int32Array.from([1, 2]), 2, 1, state).data;
      const fourth = model.decodeStep(Int32Array.from([4, 2]), 2, 1, state).data;
      const V = 11;
      for (let b = 0; b < 2; b++) {
        const row = (t: number) => want.subarray((b * 4 + t) * V, (b * 4 + t + 1) * V);
        assertAllClose(first.subarray((b * 2 + 1) * V, (b * 2 + 2) * V), row(1), 1e-4, 1e-4, "prefill");
        assertAllClose(third.subarray(b * V, (b + 1) * V), row(2), 1e-4, 1e-4, "step 3");
        assertAllClose(fourth.subarray(b * V, (b + 1) * V), row(3), 1e-4, 1e-4, "step 4");
      }
    });
  });
}

for (const nKvHead of [undefined, 1]) {
  Deno.test(`beam search${nKvHead ? " (multi-query)" : ""}: beam 1 equals greedy; hypothesis log-probs match a teacher-forced rescoring`, () => {
    const model = new T5({ ...BASE, blockSize: 9, nKvHead }, new Rng(17));
    for (const { tensor } of model.namedParameters(undefined, true)) {
      for (let i = 0; i < tensor.size; i++) tensor.data[i] *= 15;
    }
    for (const src of [[1, 2, 3, 10], [4, 4, 10], [7, 6, 5, 4, 3, 10]].map((s) => Int32Array.from(s))) {
      const greedy = greedyDecode(model, src, 1, src.length, { maxLen: 9, bosId: 8, eosId: 10 })[0];
      const beam1 = beamSearch(model, src, { beamSize: 1, maxLen: 9, bosId: 8, eosId: 10 });
      assertEquals([...beam1[0].tokens], [...greedy]);
      const hyps = beamSearch(model, src, {
        beamSize: 3,
        maxLen: 9,
        bosId: 8,
        eosId: 10,
        lengthPenalty: 0.6,
      });
      assertTrue(hyps.length >= 3 && hyps.every((h, i) => i === 0 || hyps[i - 1].score >= h.score));
      for (const h of hyps.filter((h) => h.finished)) {
        const n = h.tokens.length + 1;
        const tgtIn = Int32Array.from([8, ...h.tokens]), tgtOut = Int32Array.from([...h.tokens, 10]);
        const nll = noGrad(() =>
          crossEntropy(model.eval().forward(src, 1, src.length, tgtIn, n).logits, tgtOut).item()
        );
        assertAllClose([h.logProb], [-nll * n], 1e-3, 1e-4, "rescored log-prob");
      }
    }
  });
}

Deno.test("span corruption: input + target rebuild the original, ~15% corrupted in spans of mean ~3", () => {
  const vocab = seq2seqVocab(50, 20);
  assertEquals([vocab.pad, vocab.bos, vocab.eos, vocab.size], [70, 71, 72, 73]);
  const rng = new Rng(18);
  let noise = 0, total = 0, spans = 0;
  for (let r = 0; r < 200; r++) {
    const n = 20 + rng.int(80);
    const tokens = Int32Array.from({ length: n }, () => rng.int(50));
    const c = spanCorrupt(tokens, vocab, rng);
    assertEquals([...reconstructSpans(c.input, c.target, vocab)], [...tokens]);
    const { numNoise, numSpans } = noiseCounts(n);
    assertEquals(c.noiseMask.reduce((s, x) => s + x, 0), numNoise);
    assertEquals(c.input.length, n - numNoise + numSpans);
    assertEquals(c.target.length, numNoise + numSpans);
    assertEquals(c.noiseMask[0], 0); // T5 starts with a kept segment
    const sentinels = [...c.input].filter((t) => t >= 50);
    assertEquals(sentinels, Array.from({ length: numSpans }, (_, i) => 50 + i)); // in order, once each
    noise += numNoise;
    total += n;
    spans += numSpans;
  }
  assertTrue(Math.abs(noise / total - 0.15) < 0.01, `noise fraction ${noise / total}`);
  assertTrue(Math.abs(noise / spans - 3) < 0.4, `mean span ${noise / spans}`);
  // batches: fixed shapes, PAD/BOS/EOS placement, and state()/setState() replays the stream
  const stream = Int32Array.from({ length: 500 }, (_, i) => (i * 7) % 50);
  const mk = () => new SpanCorruptionBatcher(stream, vocab, 40, 4, new Rng(19));
  const a = mk();
  a.next();
  const saved = a.state();
  const want = a.next();
  const b = mk();
  b.setState(saved);
  assertEquals(b.next(), want);
  assertEquals([want.Ts, want.Tt], [40 - 6 + 2 + 1, 6 + 2 + 1]);
  assertEquals(want.tgtIn[0], vocab.bos);
  assertEquals(want.tgtOut[want.Tt - 1], vocab.eos);
  assertEquals(want.src[want.Ts - 1], vocab.eos);
});

Deno.test("symbol task batches: reverse/sort targets, padding and -1 targets, resumable state", () => {
  const task: SymbolTaskOptions = { task: "reverse", numSymbols: 5, minLen: 2, maxLen: 4 };
  const vocab = seq2seqVocab(5);
  const batch = collateSeq2Seq(
    [{ src: Int32Array.from([1, 2]), tgt: Int32Array.from([2, 1]) }],
    vocab,
    5,
    5,
  );
  assertEquals([...batch.src], [1, 2, 7, 5, 5]);
  assertEquals([...batch.tgtIn], [6, 2, 1, 5, 5]);
  assertEquals([...batch.tgtOut], [2, 1, 7, -1, -1]);
  assertEquals([...batch.srcLengths], [3]);
  for (const p of symbolTaskExamples(20, new Rng(20), task)) assertEquals([...p.tgt], [...p.src].reverse());
  for (const p of symbolTaskExamples(20, new Rng(20), { ...task, task: "sort" })) {
    assertEquals([...p.tgt], [...p.src].sort((x, y) => x - y));
  }
  const a = new SymbolTaskBatcher(task, 3, new Rng(21));
  a.next();
  const s = a.state(), want = a.next();
  const b = new SymbolTaskBatcher(task, 3, new Rng(99));
  b.setState(s);
  assertEquals(b.next(), want);
  assertEquals(b.batches, 2);
});

Deno.test("T5 learns to reverse short sequences (lengths 3–5, 5 symbols) in a few hundred steps", () => {
  const task: SymbolTaskOptions = { task: "reverse", numSymbols: 5, minLen: 3, maxLen: 5 };
  const batcher = new SymbolTaskBatcher(task, 32, new Rng(22));
  const { vocab, Ts, Tt } = batcher;
  const model = new T5({
    vocabSize: vocab.size,
    blockSize: Math.max(Ts, Tt),
    nLayer: 1,
    nHead: 2,
    nEmbd: 32,
    dropout: 0,
    bias: false,
    tieWeights: true,
    mlpHidden: 64,
    numBuckets: 16,
    maxDistance: 16,
  }, new Rng(23));
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < 300; step++) {
    const b = batcher.next();
    const { loss } = model.forward(b.src, b.B, Ts, b.tgtIn, Tt, {
      targets: b.tgtOut,
      srcLengths: b.srcLengths,
    });
    losses.push(loss!.item());
    opt.zeroGrad();
    loss!.backward();
    opt.step();
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const first = mean(losses.slice(0, 10)), last = mean(losses.slice(-10));
  assertTrue(last < 0.3 * first, `loss ${first} → ${last}`);
  const held = symbolTaskExamples(100, new Rng(24), task);
  const eval_ = collateSeq2Seq(held, vocab, Ts, Tt);
  const out = greedyDecode(model, eval_.src, eval_.B, Ts, {
    maxLen: Tt,
    bosId: vocab.bos,
    eosId: vocab.eos,
    srcLengths: eval_.srcLengths,
  });
  const exact = held.filter((p, i) => [...out[i]].join() === [...p.tgt].join()).length / held.length;
  // chance is far below 1% (5^-4 for a length-4 sequence)
  assertTrue(exact >= 0.5, `greedy exact match ${exact}`);
  // on a trained model (sequences that end with EOS), beam 1 is greedy and beam 3 matches as often
  let beamHits = 0;
  held.slice(0, 30).forEach((p, i) => {
    const src = Int32Array.from([...p.src, vocab.eos]);
    const opts = { maxLen: Tt, bosId: vocab.bos, eosId: vocab.eos };
    assertEquals([...beamSearch(model, src, { ...opts, beamSize: 1 })[0].tokens], [...out[i]]);
    const best = beamSearch(model, src, { ...opts, beamSize: 3 })[0];
    assertTrue(best.finished);
    if ([...best.tokens].join() === [...p.tgt].join()) beamHits++;
  });
  const greedyHits = held.slice(0, 30).filter((p, i) => [...out[i]].join() === [...p.tgt].join()).length;
  assertTrue(beamHits >= greedyHits - 3, `beam ${beamHits} vs greedy ${greedyHits} of 30`);
});
