import { parseMetrics } from "../../lib/report/metrics.ts";
import { assertClose, assertEquals } from "../_helpers/assert.ts";

Deno.test("parseMetrics: splits train and val, fills ppl, ignores unknown events", () => {
  const text = [
    '{"step":10,"split":"train","loss":2.9,"lr":0.001,"grad_norm":0.8,"tokens_per_s":5400,"elapsed_s":12.3,' +
    '"rss_mb":210,"update_ratio":{"embed":0.001,"h.0":"x"},"layer_lr":{}}',
    '{"step":20,"split":"train","loss":2.7}',
    '{"step":20,"split":"val","loss":2.5,"ppl":12.2,"elapsed_s":40.1}',
    '{"step":30,"split":"val","loss":2}',
    '{"step":30,"kind":"checkpoint"}',
    '{"step":30,"split":"resume","elapsed_s":3}',
    "",
  ].join("\n");
  const m = parseMetrics(text);
  assertEquals(m.skippedLines, []);
  assertEquals(m.resumes, [30]);
  assertEquals(m.train.map((p) => p.step), [10, 20]);
  assertEquals(m.train[0], {
    step: 10,
    loss: 2.9,
    lr: 0.001,
    grad_norm: 0.8,
    tokens_per_s: 5400,
    elapsed_s: 12.3,
    rss_mb: 210,
    update_ratio: { embed: 0.001 }, // non-numbers dropped
    layer_lr: undefined, // an empty record is no record
  });
  assertEquals(m.train[1].lr, undefined);
  assertEquals(m.val[0].ppl, 12.2);
  assertClose(m.val[1].ppl!, Math.exp(2), 1e-12);
});

Deno.test("parseMetrics: a truncated last line and junk lines are skipped and reported", () => {
  const text =
    '{"step":1,"split":"train","loss":3}\nnot json\n[1,2]\n{"step":2,"split":"train","loss":2.5}\n{"step":3,"spl';
  const m = parseMetrics(text);
  assertEquals(m.train.map((p) => p.loss), [3, 2.5]);
  assertEquals(m.skippedLines, [2, 3, 5]);
});

Deno.test("parseMetrics: a re-logged step keeps its last value; output is sorted by step; null loss is absent", () => {
  const text = [
    '{"step":10,"split":"train","loss":3}',
    '{"step":20,"split":"train","loss":2}',
    '{"step":10,"split":"train","loss":2.8}',
    '{"step":30,"split":"train","loss":null,"lr":0.1}',
  ].join("\n");
  const m = parseMetrics(text);
  assertEquals(m.train.map((p) => [p.step, p.loss]), [[10, 2.8], [20, 2], [30, undefined]]);
  assertEquals(m.train[2].lr, 0.1);
});
