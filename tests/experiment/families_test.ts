import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { Bert } from "../../lib/nn/models/bert.ts";
import { T5 } from "../../lib/nn/models/t5.ts";
import { t5Vocab } from "../../lib/experiment/families.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { type Event, readMetrics, stableFields } from "../_helpers/runs.ts";

const corpus = await makeCodeCorpus();

async function tinyConfig(extra: string[] = []) {
  const out = await Deno.makeTempDir({ prefix: "lcm-families-" });
  const sets = [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.lr_decay_steps=20", ...extra];
  return loadConfig({ path: "configs/tiny.jsonc", sets }).config;
}

const metrics = readMetrics;
const stable = stableFields;

async function resumesExactly(extra: string[]): Promise<Event[]> {
  const cfg = await tinyConfig(extra);
  const full = await runExperiment({ config: cfg, noReport: true });
  let steps = 0;
  const part = await runExperiment({ config: cfg, noReport: true, shouldStop: () => ++steps >= 13 });
  assertEquals(part.step, 13);
  await runExperiment({ resumeDir: part.runDir, noReport: true });
  const want = (await metrics(full.runDir)).map(stable);
  const got = (await metrics(part.runDir)).filter((e) => e.split !== "resume").map(stable);
  assertEquals(got, want);
  return metrics(full.runDir);
}

Deno.test("bert: a masked-LM run trains, reports masked accuracy, fills masks, and resumes exactly", async () => {
  const ev = await resumesExactly(["model.family=bert", "train.max_steps=20"]);
  const train = ev.filter((e) => e.split === "train"), val = ev.filter((e) => e.split === "val");
  assertTrue((train.at(-1)!.loss as number) < (train[0].loss as number), "the masked-LM loss falls");
  for (const v of val) {
    const acc = v.masked_accuracy as number;
    assertTrue(acc >= 0 && acc <= 1, `masked_accuracy ${acc}`);
  }
  const cfg = await tinyConfig(["model.family=bert", "train.max_steps=10"]);
  const r = await runExperiment({ config: cfg, noReport: true });
  const samples = await Deno.readTextFile(join(r.runDir, "samples.txt"));
  assertTrue(samples.includes("fill-mask") && samples.includes("masked: ") && samples.includes("filled: "));
  const loaded = await loadRun(r.runDir);
  assertTrue(loaded.model instanceof Bert, "the loader builds the run's family");
  assertEquals(loaded.model.config.vocabSize, loaded.tokenizer.vocabSize + 1, "one extra id: [MASK]");
});

Deno.test("fp16: a run with an overflowing loss scale skips steps, logs it, and resumes exactly", async () => {
  const ev = await resumesExactly(["train.precision=fp16", "train.loss_scale=1e30"]);
  const train = ev.filter((e) => e.split === "train");
  const skipped = train.reduce((n, e) => n + (e.skipped_steps as number), 0);
  assertTrue(skipped > 0, "steps were skipped");
  assertTrue((train.at(-1)!.loss_scale as number) < 1e30, "the scale came down");
});

Deno.test("bf16: a run trains and logs no loss scale", async () => {
  const ev = await resumesExactly(["train.precision=bf16"]);
  assertTrue(ev.filter((e) => e.split === "train").every((e) => !("loss_scale" in e)));
});

Deno.test('config: position "relative" and family "t5" go together', () => {
  const load = (sets: string[]) => loadConfig({ path: "configs/tiny.jsonc", sets });
  assertThrows(() => load(["model.family=t5"]), "model.position", '"relative" for model.family "t5"');
  assertThrows(() => load(["model.position=relative"]), "model.position", 'needs model.family "t5"');
});

Deno.test("t5 on a generated task: trains, reports exact match, decodes, and resumes exactly", async () => {
  const sets = [
    "model.family=t5",
    "model.position=relative",
    "model.block_size=8",
    "data.task=reverse",
    "data.task_symbols=4",
    "data.task_min_len=2",
    "data.task_max_len=4",
    "train.max_steps=20",
  ];
  const ev = await resumesExactly(sets);
  const train = ev.filter((e) => e.split === "train"), val = ev.filter((e) => e.split === "val");
  assertTrue((train.at(-1)!.loss as number) < (train[0].loss as number), "the loss falls");
  for (const v of val) assertTrue((v.exact_match as number) >= 0 && (v.exact_match as number) <= 1);
  const r = await runExperiment({
    config: await tinyConfig([...sets, "train.max_steps=10"]),
    noReport: true,
  });
  const samples = await Deno.readTextFile(join(r.runDir, "samples.txt"));
  assertTrue(samples.includes("source: ") && samples.includes("greedy: ") && samples.includes("beam 4: "));
  const loaded = await loadRun(r.runDir);
  assertTrue(loaded.model instanceof T5, "the loader builds a T5");
  assertEquals(loaded.tokenizer.vocabSize, 4, "the tokenizer is the task's alphabet");
  assertEquals(loaded.model.config.vocabSize, 4 + 3, "alphabet, then PAD, BOS, EOS");
});

Deno.test("t5 with span corruption on the corpus: sentinels in the vocabulary, the loss falls", async () => {
  const cfg = await tinyConfig(["model.family=t5", "model.position=relative", "train.max_steps=20"]);
  const r = await runExperiment({ config: cfg, noReport: true });
  const train = (await metrics(r.runDir)).filter((e) => e.split === "train");
  assertTrue((train.at(-1)!.loss as number) < (train[0].loss as number), "the loss falls");
  const loaded = await loadRun(r.runDir);
  const vocab = t5Vocab(loaded.config, loaded.tokenizer.vocabSize);
  assertTrue(vocab.numSentinels > 0, "span corruption needs sentinels");
  assertEquals(loaded.model.config.vocabSize, loaded.tokenizer.vocabSize + vocab.numSentinels + 3);
  const samples = await Deno.readTextFile(join(r.runDir, "samples.txt"));
  assertTrue(samples.includes("span corruption") && samples.includes("\u27e80\u27e9"), "sentinels are shown");
});

Deno.test("config: invalid family combinations are refused with the key and the reason", () => {
  const load = (sets: string[]) => loadConfig({ path: "configs/tiny.jsonc", sets });
  const t5 = ["model.family=t5", "model.position=relative"];
  assertThrows(() => load(["data.task=reverse"]), "data.task", '"corpus" for model.family "gpt"');
  assertThrows(() => load(["model.causal=false"]), "model.causal", 'for model.family "gpt"');
  assertThrows(() => load([...t5, "model.causal=true"]), "model.causal", 'null for model.family "t5"');
  assertThrows(() => load([...t5, "train.layer_lr_decay=0.8"]), "train.layer_lr_decay");
  assertThrows(() => load([...t5, "model.attention=flash"]), "model.attention");
  assertThrows(() => load([...t5, "model.norm_placement=post"]), "model.norm_placement");
  assertThrows(() => load([...t5, "train.activation_checkpointing=true"]), "train.activation_checkpointing");
  assertThrows(
    () => load([...t5, "data.task=sort", "data.task_max_len=40"]),
    "data.task_max_len",
    "at most model.block_size",
  );
  assertThrows(() => load(["data.task_min_len=5", "data.task_max_len=3"]), "data.task_min_len");
  load(["model.family=bert", "model.causal=true"]); // a causal bert is allowed
});

Deno.test("bert with model.causal true: the loss falls, and a position sees nothing after it", async () => {
  const r = await runExperiment({
    config: await tinyConfig(["model.family=bert", "model.causal=true"]),
    noReport: true,
  });
  const train = (await metrics(r.runDir)).filter((e) => e.split === "train");
  assertTrue((train.at(-1)!.loss as number) < (train[0].loss as number), "the loss falls");
  const { model } = await loadRun(r.runDir);
  const bert = model as Bert;
  assertEquals(bert.config.causal, true);
  const a = new Int32Array([1, 2, 3, 4]), b = new Int32Array([1, 2, 3, 9]);
  const first = (ids: Int32Array) => Array.from(bert.forward(ids, 1, 4).logits.data.subarray(0, 8));
  assertEquals(first(a), first(b), "changing the last token leaves position 0 alone");
});

Deno.test("family and precision configs: shipped files resolve to what they name", () => {
  const cfg = (f: string) => loadConfig({ path: `configs/${f}` }).config;
  const bert = cfg("families/bert.jsonc");
  assertEquals([bert.model.family, bert.model.position, bert.model.causal], ["bert", "rope", null]);
  assertEquals(cfg("families/bert_causal.jsonc").model.causal, true);
  const t5 = cfg("families/t5.jsonc");
  assertEquals([t5.model.family, t5.model.position, t5.data.task, t5.model.norm], [
    "t5",
    "relative",
    "corpus",
    "rmsnorm",
  ]);
  assertEquals(cfg("families/t5_reverse.jsonc").data.task, "reverse");
  assertEquals(cfg("families/t5_sort.jsonc").data.task, "sort");
  assertEquals(cfg("training/bf16.jsonc").train.precision, "bf16");
  const fp16 = cfg("training/fp16.jsonc").train;
  assertEquals([fp16.precision, fp16.loss_scale, fp16.loss_scale_growth_interval], ["fp16", 65536, 200]);
});

Deno.test("fill-mask never offers [MASK] itself as a candidate, even with top-k above the vocabulary", async () => {
  const { fillMask } = await import("../../lib/generate/fill_mask.ts");
  const cfg = await tinyConfig(["model.family=bert", "train.max_steps=2"]);
  const r = await runExperiment({ config: cfg, noReport: true });
  const { model, tokenizer } = await loadRun(r.runDir);
  const maskId = tokenizer.vocabSize, ids = tokenizer.encode("let x = 1;");
  ids[3] = maskId;
  const [p] = fillMask(model as Bert, ids, { maskId, topK: maskId + 5 });
  assertEquals(p.candidates.length, maskId);
  assertTrue(p.candidates.every((c) => c.id !== maskId));
});

Deno.test("a t5 generated task needs no corpus: it runs with an uninstalled one named", async () => {
  const empty = await Deno.makeTempDir();
  Deno.env.set("LCM_DATA_DIR", empty);
  try {
    const out = await Deno.makeTempDir();
    const { config } = loadConfig({
      path: "configs/families/t5_reverse.jsonc",
      sets: ["data.corpus=kjv", "train.max_steps=2", "train.eval_interval=2", `run.out_dir=${out}`],
    });
    const r = await runExperiment({ config, noReport: true });
    assertEquals(r.status, "completed");
  } finally {
    Deno.env.delete("LCM_DATA_DIR");
  }
});
