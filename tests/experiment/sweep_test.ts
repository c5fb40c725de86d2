import { join } from "node:path";
import {
  expandSweep,
  loadSweep,
  needsRun,
  sample,
  sweepPoints,
  validateSweep,
} from "../../lib/experiment/sweep.ts";
import { pendingStatus, type SweepSpec, type TrialStatus } from "../../lib/report/sweepdir.ts";
import { prepareSweep, runSweep } from "../../lib/experiment/sweep_exec.ts";
import { runTrial } from "../../lib/experiment/sweep_trial.ts";
import { readSweep, sweepCsv, sweepSummary } from "../../lib/report/sweep.ts";
import { Rng } from "../../lib/random.ts";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { checkpointed, sweepCliArgs, sweepSpec, trialStatus, waitFor } from "./_sweep.ts";

const corpus = await makeCodeCorpus();
const canSpawn = Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

Deno.test("sweep: the shipped sweep expands to grid × seeds trials with their overrides", async () => {
  const spec = await loadSweep("configs/sweeps/norm-position.jsonc");
  const trials = expandSweep(spec, "runs/sweeps/norm-position");
  assertEquals(trials.length, 2 * 2 * 3);
  assertEquals(trials[0].point, { "model.norm": "layernorm", "model.position": "learned" });
  assertEquals(trials[11].point, { "model.norm": "rmsnorm", "model.position": "rope" });
  assertEquals(trials.map((t) => t.seed).slice(0, 4), [1, 2, 3, 1]);
  assertEquals(trials.map((t) => t.config).slice(0, 7), [0, 0, 0, 1, 1, 1, 2]);
  assertTrue(trials[4].sets.includes('model.position="rope"') && trials[4].sets.includes("train.seed=2"));
  assertEquals(new Set(trials.map((t) => t.configHash)).size, 12, "every trial is a distinct config");
});

Deno.test("sweep: every shipped configs/sweeps/*.jsonc loads and expands", async () => {
  for (const e of Deno.readDirSync("configs/sweeps")) {
    const spec = await loadSweep(join("configs", "sweeps", e.name));
    assertTrue(expandSweep(spec, join("runs", "sweeps", spec.name)).length > 0, e.name);
  }
});

Deno.test("sweep: bad sweep files name the file and the key", async () => {
  const dir = await Deno.makeTempDir();
  const file = async (extra: Record<string, unknown>) => {
    const f = join(dir, "s.jsonc");
    await Deno.writeTextFile(f, JSON.stringify(sweepSpec(corpus, extra)));
    return f;
  };
  await assertRejects(async () => await loadSweep(await file({ seeds: [] })), "s.jsonc", "seeds");
  await assertRejects(async () => await loadSweep(await file({ seeds: [1, 1] })), "seeds", "twice");
  await assertRejects(
    async () => await loadSweep(await file({ grid: { "model.norm": [] } })),
    "grid.model.norm",
  );
  await assertRejects(async () => await loadSweep(await file({ typo: 1 })), 'unknown key "typo"');
  await assertRejects(
    async () => await loadSweep(await file({ metric: "accuracy" })),
    "metric: expected one of",
  );
  await assertRejects(
    async () =>
      await loadSweep(
        await file({ random: { n: 2, params: { "train.learning_rate": { normal: [0, 1] } } } }),
      ),
    'random.params.train.learning_rate: unknown distribution "normal"',
  );
  await assertRejects(
    async () =>
      await loadSweep(
        await file({ random: { n: 2, params: { "train.learning_rate": { log_uniform: [0, 1] } } } }),
      ),
    "log_uniform: expected low > 0",
  );
  await assertRejects(
    async () =>
      await loadSweep(await file({ random: { n: 2, params: { "model.norm": { choice: ["rmsnorm"] } } } })),
    "random.params.model.norm: the key is also in grid",
  );
  await assertRejects(
    async () => await loadSweep(await file({ executor: { slurm: { partition: "a b" } } })),
    "executor.slurm.partition",
  );
  await assertRejects(
    async () =>
      await loadSweep(await file({ executor: { slurm: { extra: ["--qos=short\ntouch /tmp/x"] } } })),
    "executor.slurm.extra",
  );
  await assertRejects(
    async () => await loadSweep(await file({ name: ".." })),
    "name: expected a letter or digit",
  );
  const bad = await loadSweep(await file({ grid: { "model.norm": ["batchnorm"] } }));
  assertThrows(() => expandSweep(bad, dir), "trial 0", "model.norm");
  const big = await loadSweep(await file({ max_trials: 3 }));
  assertThrows(
    () => expandSweep(big, dir),
    "2 configurations × 2 seeds = 4 trials, more than max_trials (3)",
  );
});

Deno.test("sweep: random search is seeded, stays in its ranges, and combines with the grid", () => {
  const spec = validateSweep(
    sweepSpec(corpus, {
      random: {
        n: 50,
        seed: 7,
        params: {
          "train.learning_rate": { log_uniform: [1e-4, 1e-2] },
          "train.weight_decay": { uniform: [0, 0.2] },
          "model.n_head": { choice: [1, 2, 4] },
          "train.warmup_steps": { int: [0, 3] },
        },
      },
    }),
    "/tmp/s.jsonc",
  );
  const a = sweepPoints(spec), b = sweepPoints(spec);
  assertEquals(a, b, "same sweep file, same samples");
  assertEquals(a.length, 2 * 50, "every grid point × every sample");
  assertEquals(a[0]["model.norm"], "layernorm");
  assertEquals(a[50]["model.norm"], "rmsnorm");
  assertEquals(
    a[0]["train.learning_rate"],
    a[50]["train.learning_rate"],
    "the same samples for each grid point",
  );
  const lrs = a.map((p) => p["train.learning_rate"] as number);
  assertTrue(lrs.every((x) => x >= 1e-4 && x <= 1e-2));
  // log-uniform: about half the samples below the geometric middle (1e-3), not ~10% as uniform would give
  const below = lrs.slice(0, 50).filter((x) => x < 1e-3).length;
  assertTrue(below > 15 && below < 35, `${below} of 50 below 1e-3`);
  assertTrue(a.every((p) => [1, 2, 4].includes(p["model.n_head"] as number)));
  const warm = new Set(a.map((p) => p["train.warmup_steps"]));
  assertEquals([...warm].sort(), [0, 1, 2, 3], "int: both ends included");
  assertTrue(
    a.every((p) => (p["train.weight_decay"] as number) >= 0 && (p["train.weight_decay"] as number) <= 0.2),
  );
  const other = sweepPoints({ ...spec, random: { ...spec.random!, seed: 8 } });
  assertTrue(JSON.stringify(other) !== JSON.stringify(a), "another seed, other samples");
  assertEquals(sample({ int: [5, 5] }, new Rng(1)), 5);
});

Deno.test("sweep: a trial's hash ignores where it is written, so extending a sweep keeps every trial's identity", () => {
  const a = expandSweep(validateSweep(sweepSpec(corpus), "/tmp/s.jsonc"), "/tmp/root-a/t");
  const b = expandSweep(
    validateSweep(sweepSpec(corpus, { seeds: [1, 2, 3] }), "/tmp/s.jsonc"),
    "runs/other/t",
  );
  const key = (t: { point: Record<string, unknown>; seed: number }) => JSON.stringify([t.point, t.seed]);
  const hashB = new Map(b.map((t) => [key(t), t.configHash]));
  for (const t of a) assertEquals(hashB.get(key(t)), t.configHash, key(t));
  assertEquals(a[2].index !== b.find((t) => key(t) === key(a[2]))!.index, true, "its index did move");
});

Deno.test("sweep: a trial index outside the sweep, or a folder that is not a sweep, is an error naming it", async () => {
  const root = await Deno.makeTempDir();
  const { dir } = await prepareSweep(validateSweep(sweepSpec(corpus), join(root, "s.jsonc")), root);
  await assertRejects(() => runTrial(dir, 4), "no trial 4 (the sweep has trials 0 to 3)");
  await assertRejects(() => runTrial(root, 0), "not a sweep folder (no sweep.json)");
});

Deno.test("sweep: the status machine decides what runs again", () => {
  const spec = validateSweep(sweepSpec(corpus), "/tmp/s.jsonc");
  const [t] = expandSweep(spec, "/tmp/sw");
  const st = (status: TrialStatus["status"], hash = t.configHash): TrialStatus => ({
    ...pendingStatus(t),
    status,
    config_hash: hash,
  });
  assertEquals(needsRun(t, null, false), true, "never run");
  assertEquals(needsRun(t, st("completed"), false), false, "completed: skipped");
  assertEquals(needsRun(t, st("completed", "other"), false), true, "completed with another config: runs");
  for (const s of ["failed", "diverged"] as const) {
    assertEquals(needsRun(t, st(s), false), false, `${s}: only with --retry-failed`);
    assertEquals(needsRun(t, st(s), true), true, `${s} with --retry-failed`);
  }
  for (const s of ["pending", "running", "timeout", "cancelled"] as const) {
    assertEquals(needsRun(t, st(s), false), true, `${s}: runs (resumes)`);
  }
});

Deno.test({
  name:
    "sweep, local executor: parallel trials, a diverging trial on record with its step, resume skips finished ones",
  ignore: !canSpawn,
  async fn() {
    const root = await Deno.makeTempDir();
    const spec: SweepSpec = validateSweep(
      sweepSpec(corpus, { grid: { "model.norm": ["layernorm"], "train.learning_rate": [0.003, 1e30] } }),
      join(root, "s.jsonc"),
    );
    const lines: string[] = [];
    const first = await runSweep(spec, { root, parallel: 2, info: (l) => lines.push(l) });
    assertEquals(first.statuses.map((s) => s.status), ["completed", "completed", "diverged", "diverged"]);
    assertEquals(first.statuses[2].step, 2, "diverged at its step");
    assertEquals(first.statuses[2].exit_code, 3);
    assertTrue(first.statuses[2].error!.includes("non-finite"), first.statuses[2].error!);
    assertTrue(lines.some((l) => /trial 2 .*diverged at step 2/.test(l)), "reported as it happened");
    assertTrue(first.statuses[0].metrics.val_loss! > 0 && first.statuses[0].exit_code === 0);
    const again = await runSweep(spec, { root });
    assertEquals(
      again.statuses.map((s) => s.run_dir),
      first.statuses.map((s) => s.run_dir),
      "nothing re-ran",
    );
    const retried = await runSweep(spec, { root, retryFailed: true });
    assertEquals(
      retried.statuses.slice(0, 2).map((s) => s.run_dir),
      first.statuses.slice(0, 2).map((s) => s.run_dir),
    );
    assertTrue(
      retried.statuses[2].run_dir !== first.statuses[2].run_dir,
      "a failed trial runs again with --retry-failed",
    );
    const view = await readSweep(first.dir);
    const summary = sweepSummary(view);
    assertTrue(summary.includes("| layernorm | 0.003 | 2 |"), summary);
    assertTrue(summary.includes("| layernorm | 1e+30 | 0 | – | – | – | 2 |"), summary);
    const csv = sweepCsv(view).trim().split("\n");
    assertEquals(csv.length, 5);
    assertTrue(csv[0].startsWith("trial,config,model.norm,train.learning_rate,seed,status"), csv[0]);
    assertTrue(csv[3].includes(",diverged,") && csv[3].includes("loss is NaN"), csv[3]);
  },
});

Deno.test({
  name: "sweep, local executor: adding a seed runs only the new trials; completed ones follow their config",
  ignore: !canSpawn,
  async fn() {
    const root = await Deno.makeTempDir();
    const base = { name: "grow", seeds: [1] };
    const first = await runSweep(validateSweep(sweepSpec(corpus, base), join(root, "s.jsonc")), { root });
    assertEquals(first.statuses.map((s) => s.status), ["completed", "completed"]);
    // seeds [1, 2]: the rmsnorm seed-1 trial moves from index 1 to index 2
    const lines: string[] = [];
    const grown = await runSweep(
      validateSweep(sweepSpec(corpus, { ...base, seeds: [1, 2] }), join(root, "s.jsonc")),
      {
        root,
        info: (l) => lines.push(l),
      },
    );
    assertTrue(lines.some((l) => l.includes("4 trials, 2 done, 2 to run")), lines.join("\n"));
    assertEquals(grown.statuses.map((s) => s.status), ["completed", "completed", "completed", "completed"]);
    assertEquals(grown.statuses[0].run_dir, first.statuses[0].run_dir);
    assertEquals(grown.statuses[2].run_dir, first.statuses[1].run_dir, "moved with its config, not re-run");
    assertEquals(grown.statuses[2].metrics, first.statuses[1].metrics);
    const view = await readSweep(grown.dir);
    assertEquals(view.configs.map((c) => c.stats?.n), [2, 2], "both seeds count for each configuration");
  },
});

Deno.test({
  name: "sweep, local executor: --fail-fast stops at the first failure; a timeout ends as timeout",
  ignore: !canSpawn,
  async fn() {
    const root = await Deno.makeTempDir();
    const spec = validateSweep(
      sweepSpec(corpus, { name: "ff", grid: { "train.learning_rate": [1e30, 0.003] }, seeds: [1, 2] }),
      join(root, "s.jsonc"),
    );
    const r = await runSweep(spec, { root, failFast: true, parallel: 1 });
    assertTrue(r.stopped, "stopped");
    assertEquals(r.statuses[0].status, "diverged");
    assertEquals(
      r.statuses.slice(1).map((s) => s.status),
      ["pending", "pending", "pending"],
      "nothing else started",
    );
    const slow = validateSweep(
      sweepSpec(corpus, {
        name: "slow",
        grid: {},
        seeds: [1],
        timeout_minutes: 0.02,
        set: [
          `data.paths=["${corpus}"]`,
          "train.max_steps=100000",
          "train.sample_tokens=0",
          "train.eval_interval=100000",
        ],
      }),
      join(root, "s.jsonc"),
    );
    const t = await runSweep(slow, { root });
    assertEquals(t.statuses[0].status, "timeout");
    assertTrue(t.statuses[0].error!.includes("timeout_minutes"), t.statuses[0].error!);
  },
});

Deno.test({
  name:
    "sweep, killed midway (Ctrl-C, then kill -9): completed trials are not re-run, the rest resume and finish",
  ignore: !canSpawn,
  async fn() {
    const root = await Deno.makeTempDir();
    const extra = {
      name: "kill",
      grid: { "model.norm": ["layernorm", "rmsnorm"] },
      seeds: [1, 2],
      set: [
        `data.paths=["${corpus}"]`,
        "train.max_steps=3000",
        "train.eval_interval=500",
        "train.checkpoint_interval=50",
        "train.sample_tokens=0",
      ],
      executor: { parallel: 2 },
    };
    const file = join(root, "s.jsonc");
    await Deno.writeTextFile(file, JSON.stringify(sweepSpec(corpus, extra)));
    const sweepCli = (args: string[]) =>
      new Deno.Command("deno", {
        args: sweepCliArgs(file, root, args),
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    const dir = join(root, "kill");
    const status = (i: number) => trialStatus(dir, i);
    // 1) Ctrl-C the sweep once trial 0 completed and trial 2 has a checkpoint
    let p = sweepCli([]);
    await waitFor(async () => (await status(0))?.status === "completed" && await checkpointed(dir, 2), 120);
    p.kill("SIGINT");
    let out = await p.output();
    assertEquals(out.code, 130, new TextDecoder().decode(out.stderr));
    const done0 = (await status(0))!;
    const afterInt = await Promise.all([0, 1, 2, 3].map(status));
    assertTrue(
      afterInt.some((s) => s?.status === "cancelled"),
      JSON.stringify(afterInt.map((s) => s?.status)),
    );
    // 2) run again, then kill -9 the sweep and its running trials (a crash): their status stays "running"
    p = sweepCli([]);
    await waitFor(async () => await checkpointed(dir, 3) || (await status(3))?.status === "completed", 120);
    const pids = (await Promise.all([0, 1, 2, 3].map(status))).filter((s) => s?.status === "running").map((
      s,
    ) => s!.pid!);
    assertTrue(pids.length > 0, "some trial was running when the sweep was killed");
    p.kill("SIGKILL");
    // Deno.kill needs an unrestricted --allow-run, which `deno task test` does not grant; `deno eval` may kill
    const kill = `for (const pid of ${
      JSON.stringify(pids)
    }) try { Deno.kill(pid, "SIGKILL"); } catch { /* gone */ }`;
    await new Deno.Command("deno", { args: ["eval", kill] }).output();
    await p.output();
    // 3) run to the end: every trial completes, trial 0 was never re-run, the interrupted ones resumed
    p = sweepCli([]);
    out = await p.output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, text + new TextDecoder().decode(out.stderr));
    const final = await Promise.all([0, 1, 2, 3].map(status));
    assertEquals(final.map((s) => s!.status), ["completed", "completed", "completed", "completed"]);
    assertEquals(final[0]!.run_dir, done0.run_dir, "trial 0 not re-run");
    assertEquals(final[0]!.ended_at, done0.ended_at, "trial 0 untouched");
    // one run directory per trial, whose metrics have one final validation line per evaluation step
    for (const [i, s] of final.entries()) {
      const runs = [...Deno.readDirSync(join(dir, `trial-${i}`))].filter((e) =>
        e.isDirectory && e.name.startsWith("kill-")
      );
      assertEquals(runs.length, 1, `trial ${i}: one run directory`);
      const lines = (await Deno.readTextFile(join(s!.run_dir!, "metrics.jsonl"))).trim().split("\n").map((
        l,
      ) => JSON.parse(l));
      const vals = lines.filter((e) => e.split === "val");
      assertEquals(vals.at(-1).step, 3000);
      assertEquals(vals.at(-1).loss, s!.metrics.val_loss, `trial ${i}: status metric = last logged val loss`);
    }
    // the same sweep run straight through (another name) gives the same numbers: nothing lost or changed
    const straight = validateSweep(sweepSpec(corpus, { ...extra, name: "straight" }), file);
    const ref = await runSweep(straight, { root, parallel: 2 });
    assertEquals(ref.statuses.map((s) => s.metrics.val_loss), final.map((s) => s!.metrics.val_loss));
  },
});
