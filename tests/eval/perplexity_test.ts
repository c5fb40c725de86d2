import {
  bitsPerByte,
  bitsPerToken,
  LossAccumulator,
  perplexity,
  perplexityFromMeanNats,
  summarizeLoss,
  utf8ByteLength,
} from "../../lib/eval/perplexity.ts";
import { assertClose, assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("perplexity: exp of the mean loss in nats", () => {
  // A uniform model over V symbols has loss ln V per token and perplexity V.
  assertClose(perplexity(10 * Math.log(50), 10), 50, 1e-9);
  assertClose(perplexityFromMeanNats(Math.log(7)), 7, 1e-12);
  assertEquals(perplexity(0, 3), 1);
  // 2 tokens with losses 1 and 3 nats: exp(2).
  assertClose(perplexity(4, 2), Math.exp(2), 1e-12);
});

Deno.test("bits per token / byte: L / (count · ln 2)", () => {
  // Uniform over 256 byte values: 8 bits per byte.
  assertClose(bitsPerByte(100 * Math.log(256), 100), 8, 1e-12);
  assertClose(bitsPerToken(3 * Math.LN2, 3), 1, 1e-15);
  // Same text, two tokenizations: a char model (12 tokens) and a BPE model (4 tokens) that assign the text the
  // same total probability have the same bpb although their perplexities differ.
  const L = 12 * Math.log(4); // 24 bits over 12 one-byte chars → 2 bpb
  assertClose(bitsPerByte(L, 12), 2, 1e-12);
  assertClose(perplexity(L, 12), 4, 1e-12);
  assertClose(perplexity(L, 4), 64, 1e-9);
  const s = summarizeLoss({ totalNats: L, tokenCount: 4, byteCount: 12 });
  assertClose(s.bitsPerByte ?? NaN, 2, 1e-12);
  assertClose(s.bitsPerToken, 6, 1e-12);
  assertClose(s.meanNats, 3 * Math.log(4), 1e-12);
  assertEquals(s.bytesPerToken, 3);
  assertEquals(summarizeLoss({ totalNats: 1, tokenCount: 1 }).bitsPerByte, null);
});

Deno.test("utf8ByteLength agrees with TextEncoder", () => {
  const cases = [
    "",
    "abc",
    "é",
    "日本語",
    "😀",
    "a😀b€",
    "\u{10FFFF}",
    "\ud800",
    "x\udc00y",
    "\ud83d",
    "\u07ff\u0800",
  ];
  const enc = new TextEncoder();
  for (const s of cases) assertEquals(utf8ByteLength(s), enc.encode(s).length, JSON.stringify(s));
  assertEquals(utf8ByteLength("let 猫 = '😀';"), 4 + 3 + 4 + 4 + 2);
});

Deno.test("LossAccumulator sums batches; errors are clear", () => {
  const acc = new LossAccumulator();
  acc.add(2, 1, 3);
  acc.add(4, 2, 5);
  assertEquals(acc.totals, { totalNats: 6, tokenCount: 3, byteCount: 8 });
  assertClose(acc.summary().perplexity, Math.exp(2), 1e-12);
  assertClose(acc.summary().bitsPerByte ?? NaN, 6 / (8 * Math.LN2), 1e-15);
  assertThrows(() => new LossAccumulator().summary(), "tokenCount must be a positive");
  assertThrows(() => perplexity(1, 0), "tokenCount");
  assertThrows(() => bitsPerByte(1, 0), "byteCount");
  assertThrows(() => perplexity(-1, 2), "totalNats");
  assertThrows(() => acc.add(1, -1), "non-negative");
});
