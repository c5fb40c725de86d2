import { join } from "node:path";
import { expandSweep, loadSweep, runSweep, sweepSummary } from "../../lib/experiment/sweep.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

const corpus = await makeCodeCorpus();

async function sweepFile(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(dir, "s.jsonc");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      name: "t",
      base: join(Deno.cwd(), "configs", "tiny.jsonc"),
      set: [
        `data.paths=["${corpus}"]`,
        "train.max_steps=10",
        "train.eval_interval=10",
        "train.sample_tokens=0",
      ],
      grid: { "model.norm": ["layernorm", "rmsnorm"] },
      seeds: [1, 2],
      ...extra,
    }),
  );
  return file;
}

Deno.test("sweep: the shipped sweep expands to grid × seeds trials with their overrides", async () => {
  const spec = await loadSweep("configs/sweeps/norm-position.jsonc");
  const trials = expandSweep(spec, "runs/sweeps/norm-position");
  assertEquals(trials.length, 2 * 2 * 3);
  assertEquals(trials[0].point, { "model.norm": "layernorm", "model.position": "learned" });
  assertEquals(trials[11].point, { "model.norm": "rmsnorm", "model.position": "rope" });
  assertEquals(trials.map((t) => t.seed).slice(0, 4), [1, 2, 3, 1]);
  assertTrue(trials[4].sets.includes('model.position="rope"') && trials[4].sets.includes("train.seed=2"));
  assertEquals(new Set(trials.map((t) => t.configHash)).size, 12, "every trial is a distinct config");
});

Deno.test("sweep: every shipped configs/sweeps/*.jsonc loads and expands", async () => {
  for (const e of Deno.readDirSync("configs/sweeps")) {
    const spec = await loadSweep(join("configs", "sweeps", e.name));
    assertTrue(expandSweep(spec, join("runs", "sweeps", spec.name)).length > 0, e.name);
  }
});

Deno.test("sweep: bad sweep files name the key", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(async () => await loadSweep(await sweepFile(dir, { seeds: [] })), "s.jsonc", "seeds");
  await assertRejects(
    async () => await loadSweep(await sweepFile(dir, { grid: { "model.norm": [] } })),
    "grid.model.norm",
  );
  await assertRejects(async () => await loadSweep(await sweepFile(dir, { typo: 1 })), 'unknown key "typo"');
  await assertRejects(
    async () =>
      expandSweep(await loadSweep(await sweepFile(dir, { grid: { "model.norm": ["batchnorm"] } })), dir),
    "model.norm",
  );
});

Deno.test("sweep: runs every trial, resumes without re-running completed ones, and a diverging trial goes on record", async () => {
  const dir = await Deno.makeTempDir();
  const spec = await loadSweep(
    await sweepFile(dir, {
      grid: { "model.norm": ["layernorm"], "train.learning_rate": [0.003, 1e30] },
      set: [
        `data.paths=["${corpus}"]`,
        "train.max_steps=10",
        "train.eval_interval=10",
        "train.sample_tokens=0",
      ],
    }),
  );
  const first = await runSweep(spec, { root: dir });
  assertEquals(first.statuses.map((s) => s.status), ["completed", "completed", "diverged", "diverged"]);
  assertTrue(first.statuses[2].error!.includes("non-finite"), first.statuses[2].error!);
  const runsBefore = [...Deno.readDirSync(join(dir, "t", "trial-0"))].length;
  const again = await runSweep(spec, { root: dir });
  assertEquals(again.statuses.map((s) => s.run_dir), first.statuses.map((s) => s.run_dir), "nothing re-ran");
  assertEquals([...Deno.readDirSync(join(dir, "t", "trial-0"))].length, runsBefore);
  const summary = sweepSummary(spec, again.trials, again.statuses);
  assertTrue(summary.includes('| "layernorm" | 0.003 | 2 |'), summary);
  assertTrue(summary.includes('| "layernorm" | 1e+30 | 0 | – | – | 2 |'), summary);
});
