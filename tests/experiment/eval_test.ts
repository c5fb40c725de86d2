import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { evaluateText, languageModelScores, textScores } from "../../lib/experiment/evaluate.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import type { GPT } from "../../lib/nn/models/gpt.ts";
import { renderReport } from "../../lib/report/report.ts";
import { assertClose, assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

const corpus = await makeCodeCorpus();
const out = await Deno.makeTempDir({ prefix: "lcm-eval-" });
const sets = (extra: string[]) => [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, ...extra];

Deno.test("eval (gpt, char): ppl = exp(loss), bits per byte = loss / ln 2 on ASCII text, BLEU/ROUGE in [0, 1]", async () => {
  const { config } = loadConfig({ path: "configs/tiny.jsonc", sets: sets([]) });
  const r = await runExperiment({ config, noReport: true });
  const { model, tokenizer } = await loadRun(r.runDir);
  const text = "export function add(a: number, b: number): number {\n  return a + b;\n}\n".repeat(8);
  const ids = tokenizer.encode(text);
  const e = await evaluateText(config, model, tokenizer, ids, { prompts: 4 });
  assertClose(e.ppl!, Math.exp(e.loss!), 1e-9);
  assertEquals(e.bytes, e.tokens, "ASCII: one byte per character");
  assertClose(e.bpb!, e.loss! / Math.LN2, 1e-9);
  for (const k of ["bleu", "rouge1", "rouge2", "rougeL"] as const) {
    assertTrue(e[k]! >= 0 && e[k]! <= 1, `${k} ${e[k]}`);
  }
  assertEquals(e.generation?.prompts, 4);
  // the loss is the model's mean over the same windows
  const s = await languageModelScores(model as GPT, tokenizer, ids, 1e9);
  assertEquals(s.tokens, Math.floor((ids.length - 1) / config.model.block_size) * config.model.block_size);
});

Deno.test("eval (bert, t5): masked accuracy, and exact match with BLEU/ROUGE on decodings", async () => {
  const bert = loadConfig({ path: "configs/tiny.jsonc", sets: sets(["model.family=bert"]) }).config;
  const b = await loadRun((await runExperiment({ config: bert, noReport: true })).runDir);
  const eb = await evaluateText(bert, b.model, b.tokenizer, b.tokenizer.encode("let x = 1;\n".repeat(60)));
  assertTrue(eb.masked_accuracy! >= 0 && eb.masked_accuracy! <= 1 && eb.tokens! > 0);
  assertClose(eb.ppl!, Math.exp(eb.loss!), 1e-9);
  const t5 = loadConfig({
    path: "configs/tiny.jsonc",
    sets: sets(["model.family=t5", "model.position=relative", "data.task=reverse", "model.block_size=16"]),
  }).config;
  const t = await loadRun((await runExperiment({ config: t5, noReport: true })).runDir);
  const et = await evaluateText(t5, t.model, t.tokenizer, new Int32Array(0));
  assertTrue(et.exact_match! >= 0 && et.exact_match! <= 1 && et.bleu! >= 0 && et.rougeL! <= 1);
});

Deno.test("textScores: identical texts score 1, disjoint ones 0", () => {
  const same = textScores(["the cat sat on the mat"], ["the cat sat on the mat"]);
  assertEquals([same.bleu, same.rouge1, same.rouge2, same.rougeL].map((v) => Math.round(v * 1e9) / 1e9), [
    1,
    1,
    1,
    1,
  ]);
  const none = textScores(["the cat sat on the mat"], ["dogs run fast"]);
  assertEquals([none.rouge1, none.rouge2, none.rougeL], [0, 0, 0]);
});

Deno.test("the report shows eval.json as an evaluation table", async () => {
  const { config } = loadConfig({ path: "configs/tiny.jsonc", sets: sets(["train.max_steps=5"]) });
  const r = await runExperiment({ config, noReport: true });
  await Deno.writeTextFile(
    join(r.runDir, "eval.json"),
    JSON.stringify({ "brown/all": { ppl: 12.5, bpb: 1.234, bleu: 0.01, checkpoint_step: 5 } }),
  );
  const html = await renderReport([r.runDir]);
  assertTrue(
    html.includes("<h2>Evaluation</h2>") && html.includes("brown/all (step 5)") && html.includes("1.234"),
  );
});
