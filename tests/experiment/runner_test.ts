import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { readMetrics, stableFields } from "../_helpers/runs.ts";

const corpus = await makeCodeCorpus();

async function tinyConfig(extra: string[] = []) {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  const sets = [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.lr_decay_steps=20", ...extra];
  return loadConfig({ path: "configs/tiny.jsonc", sets }).config;
}

const metrics = readMetrics;
const stable = stableFields;

Deno.test("a tiny run writes a complete run directory", async () => {
  const r = await runExperiment({ config: await tinyConfig(), noReport: true });
  assertEquals(r.status, "completed");
  assertEquals(r.step, 20);
  for (const f of ["config.json", "manifest.json", "metrics.jsonl", "tokenizer.json", "samples.txt"]) {
    assertTrue((await Deno.stat(join(r.runDir, f))).isFile, f);
  }
  const manifest = JSON.parse(await Deno.readTextFile(join(r.runDir, "manifest.json")));
  assertEquals(manifest.status, "completed");
  assertEquals(manifest.final.step, 20);
  assertTrue(typeof manifest.config_hash === "string" && manifest.config_hash.length === 64);
  const ev = await metrics(r.runDir);
  assertEquals(ev.filter((e) => e.split === "train").map((e) => e.step), [5, 10, 15, 20]);
  assertEquals(ev.filter((e) => e.split === "val").map((e) => e.step), [10, 20]);
  const latest = JSON.parse(await Deno.readTextFile(join(r.runDir, "checkpoints", "latest.json")));
  assertEquals(latest.step, 20);
  const saved = JSON.parse(await Deno.readTextFile(join(r.runDir, "config.json")));
  assertEquals(saved.model.n_layer, 1);
});

Deno.test("the same config and seed give the same metrics twice", async () => {
  const a = await runExperiment({ config: await tinyConfig(), noReport: true });
  const b = await runExperiment({ config: await tinyConfig(), noReport: true });
  assertEquals((await metrics(a.runDir)).map(stable), (await metrics(b.runDir)).map(stable));
  const c = await runExperiment({ config: await tinyConfig(["train.seed=7"]), noReport: true });
  assertTrue(
    JSON.stringify((await metrics(a.runDir)).map(stable)) !==
      JSON.stringify((await metrics(c.runDir)).map(stable)),
  );
});

Deno.test("an interrupted run resumes with exactly the metrics of an uninterrupted one (dropout on)", async () => {
  const cfg = await tinyConfig(["model.dropout=0.1"]);
  const full = await runExperiment({ config: cfg, noReport: true });
  let steps = 0;
  const part = await runExperiment({ config: cfg, noReport: true, shouldStop: () => ++steps >= 13 });
  assertEquals(part.status, "interrupted");
  assertEquals(part.step, 13);
  const resumed = await runExperiment({ resumeDir: part.runDir, noReport: true });
  assertEquals(resumed.status, "completed");
  const want = (await metrics(full.runDir)).map(stable);
  const got = (await metrics(part.runDir)).filter((e) => e.split !== "resume").map(stable);
  assertEquals(got, want);
});

Deno.test("resume after the last line of a crashed run: events past the checkpoint are marked by a resume event", async () => {
  const cfg = await tinyConfig();
  const part = await runExperiment({ config: cfg, noReport: true, shouldStop: () => false });
  // Simulate a crash after step 20 was logged but with the checkpoint of step 10 as the newest.
  const ck = join(part.runDir, "checkpoints");
  await Deno.writeTextFile(join(ck, "latest.json"), JSON.stringify({ step: 10, dir: "step-000010" }));
  await runExperiment({ resumeDir: part.runDir, noReport: true });
  const ev = await metrics(part.runDir);
  const resumeAt = ev.findIndex((e) => e.split === "resume");
  assertEquals(ev[resumeAt].step, 10);
  const before = ev.slice(0, resumeAt).filter((e) => (e.step as number) > 10).map(stable);
  const after = ev.slice(resumeAt + 1).map(stable);
  assertEquals(after, before);
});

Deno.test("NaN/Inf stops the run, names the step and the tensor, and keeps the last good checkpoint", async () => {
  const cfg = await tinyConfig([
    "train.learning_rate=1e30",
    "train.warmup_steps=0",
    "train.checkpoint_interval=1",
    "train.grad_clip=0",
  ]);
  const err = await assertRejects(
    () => runExperiment({ config: cfg, noReport: true }),
    "first non-finite tensor",
    "step ",
  );
  const runDir = err.message.split(":")[0];
  const manifest = JSON.parse(await Deno.readTextFile(join(runDir, "manifest.json")));
  assertEquals(manifest.status, "failed");
  const failedStep = Number(err.message.match(/step (\d+)/)![1]);
  const latest = JSON.parse(await Deno.readTextFile(join(runDir, "checkpoints", "latest.json")));
  assertTrue(latest.step < failedStep, `checkpoint ${latest.step} is before the failing step ${failedStep}`);
});

Deno.test("a missing, truncated or corrupted checkpoint gives a clear error", async () => {
  const r = await runExperiment({ config: await tinyConfig(), noReport: true });
  const ck = join(r.runDir, "checkpoints", "step-000020");
  const model = join(ck, "model.safetensors");
  const bytes = await Deno.readFile(model);
  await Deno.writeFile(model, bytes.subarray(0, bytes.length - 100));
  await assertRejects(() => runExperiment({ resumeDir: r.runDir, noReport: true }), "model.safetensors");
  await Deno.writeTextFile(join(ck, "state.json"), "{not json");
  await Deno.writeFile(model, bytes);
  await assertRejects(
    () => runExperiment({ resumeDir: r.runDir, noReport: true }),
    "state.json",
    "corrupted",
  );
  await Deno.remove(join(ck, "optimizer.safetensors"));
  await assertRejects(
    () => runExperiment({ resumeDir: r.runDir, noReport: true }),
    "optimizer.safetensors",
    "missing",
  );
  await assertRejects(() => runExperiment({ resumeDir: corpus, noReport: true }), "not a run directory");
});
