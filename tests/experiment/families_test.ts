import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { Bert } from "../../lib/nn/models/bert.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

const corpus = await makeCodeCorpus();

async function tinyConfig(extra: string[] = []) {
  const out = await Deno.makeTempDir({ prefix: "lcm-families-" });
  const sets = [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.lr_decay_steps=20", ...extra];
  return loadConfig({ path: "configs/tiny.jsonc", sets }).config;
}

type Event = Record<string, number | string | null>;
async function metrics(dir: string): Promise<Event[]> {
  return (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
}
// the fields that do not depend on wall-clock time
const stable = (e: Event) => ({
  step: e.step,
  split: e.split,
  loss: e.loss,
  lr: e.lr,
  grad_norm: e.grad_norm,
  masked_accuracy: e.masked_accuracy,
  loss_scale: e.loss_scale,
  skipped_steps: e.skipped_steps,
});

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
