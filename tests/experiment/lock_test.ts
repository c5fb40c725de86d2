/**
 * One writer per run: a resume while another process writes the run is refused at once, naming the holder; a
 * lock left by a killed process is taken over with one warning.
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { validateSweep } from "../../lib/experiment/sweep.ts";
import { prepareSweep, runningElsewhere } from "../../lib/experiment/sweep_exec.ts";
import { runTrial } from "../../lib/experiment/sweep_trial.ts";
import { LockedError, lockRun, RUN_LOCK } from "../../lib/io/lock.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { readMetrics } from "../_helpers/runs.ts";
import { denoOnPath, sweepSpec, trialStatus, waitFor } from "./_sweep.ts";

const corpus = await makeCodeCorpus();
const canSpawn = Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

/** A tiny run stopped after `steps` steps (checkpointed there), to be resumed. */
async function stoppedRun(steps: number, sets: string[] = []): Promise<string> {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  const config = loadConfig({
    path: "configs/tiny.jsonc",
    sets: [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.sample_tokens=0", ...sets],
  }).config;
  let n = 0;
  const r = await runExperiment({ config, noReport: true, shouldStop: () => ++n >= steps });
  assertEquals(r.status, "interrupted");
  return r.runDir;
}

/** `deno task experiment --resume dir` as a child process. */
function resumeProcess(dir: string, sets: string[] = []): Deno.ChildProcess {
  const args = ["run", "-A", "lib/experiment/cli/experiment.ts", "--resume", dir];
  for (const s of sets) args.push("--set", s);
  return new Deno.Command(denoOnPath(), { args, stdout: "piped", stderr: "piped" }).spawn();
}

/** Every (split, step) of a run's metrics appears once (resume markers aside). */
async function assertNoDuplicateSteps(dir: string): Promise<void> {
  const keys = (await readMetrics(dir)).filter((e) => e.split !== "resume").map((e) =>
    `${e.split}@${e.step}`
  );
  assertEquals(keys.length, new Set(keys).size, `duplicated steps: ${keys.join(" ")}`);
}

Deno.test({
  name: "run lock: two resumes of one run at once: one trains, the other exits non-zero naming the holder",
  ignore: !canSpawn,
  async fn() {
    const dir = await stoppedRun(5);
    let second: Deno.CommandOutput | undefined;
    // the second resume starts while this one holds the run (onRunDir runs once the lock is taken)
    const r = await runExperiment({
      resumeDir: dir,
      noReport: true,
      onRunDir: async () => {
        second = await resumeProcess(dir).output();
      },
    });
    assertEquals([r.status, r.step], ["completed", 20]);
    const err = new TextDecoder().decode(second!.stderr);
    assertEquals(second!.code, 1, err);
    assertTrue(
      err.startsWith(
        `experiment: ${join(dir, RUN_LOCK)}: another process is writing this run: pid ${Deno.pid} on ` +
          `${hostname()} since `,
      ),
      err,
    );
    assertTrue(err.includes(`wait for it to end or stop it (kill ${Deno.pid})`), err);
    assertTrue(
      !new TextDecoder().decode(second!.stdout).includes("resuming"),
      "the second one never trained",
    );
    assertEquals((await readMetrics(dir)).filter((e) => e.split === "resume").length, 1);
    await assertNoDuplicateSteps(dir);
    assertTrue(!(await Deno.stat(join(dir, RUN_LOCK)).then(() => true, () => false)), "the lock is released");
  },
});

Deno.test({
  name: "run lock: two resume processes started together: exactly one trains",
  ignore: !canSpawn,
  async fn() {
    const dir = await stoppedRun(5, ["train.max_steps=500", "train.eval_interval=100"]);
    const [a, b] = await Promise.all([resumeProcess(dir).output(), resumeProcess(dir).output()]);
    const dec = (o: Deno.CommandOutput) =>
      new TextDecoder().decode(o.stderr) + new TextDecoder().decode(o.stdout);
    const codes = [a.code, b.code].sort();
    assertEquals(codes, [0, 1], dec(a) + dec(b));
    const loser = a.code === 1 ? a : b;
    assertTrue(dec(loser).includes("another process is writing this run: pid "), dec(loser));
    assertEquals((await readMetrics(dir)).filter((e) => e.split === "resume").length, 1);
    await assertNoDuplicateSteps(dir);
  },
});

Deno.test({
  name: "run lock: a lock left by a killed process is taken over with one warning",
  ignore: !canSpawn || Deno.build.os !== "linux",
  async fn() {
    const dir = await stoppedRun(5, ["train.max_steps=100000"]);
    const child = resumeProcess(dir);
    const lock = join(dir, RUN_LOCK);
    await waitFor(
      async () => (await Deno.readTextFile(lock).catch(() => "")).includes(`"pid":${child.pid}`),
      60,
    );
    child.kill("SIGKILL");
    await child.output();
    const warnings: string[] = [];
    const r = await runExperiment({
      resumeDir: dir,
      sets: ["train.max_steps=20"],
      noReport: true,
      warn: (l) => warnings.push(l),
    });
    assertEquals(r.status, "completed");
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assertTrue(
      warnings[0].startsWith(`warning: took over ${lock} from pid ${child.pid} on ${hostname()}`) &&
        warnings[0].endsWith("that process is gone"),
      warnings[0],
    );
  },
});

Deno.test({
  name: "run lock: eval writes into the run, so it is refused while another process holds it",
  ignore: !canSpawn,
  async fn() {
    const dir = await stoppedRun(10);
    const lock = await lockRun(dir);
    try {
      const out = await new Deno.Command(denoOnPath(), {
        args: ["run", "-A", "lib/experiment/cli/eval.ts", dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 2, err);
      assertTrue(
        err.startsWith(`eval: ${join(dir, RUN_LOCK)}: another process is writing this run: pid ${Deno.pid}`),
      );
      assertTrue(!(await Deno.stat(join(dir, "eval.json")).then(() => true, () => false)), "no eval.json");
    } finally {
      await lock.release();
    }
  },
});

Deno.test("run lock: a sweep trial whose run another process writes is refused and its status kept", async () => {
  const root = await Deno.makeTempDir();
  const { dir } = await prepareSweep(validateSweep(sweepSpec(corpus), join(root, "s.jsonc")), root);
  let n = 0;
  const first = await runTrial(dir, 0, { shouldStop: () => ++n >= 3 });
  assertEquals(first.status, "cancelled");
  const lock = await lockRun(first.run_dir!);
  try {
    assertTrue(await runningElsewhere({ ...first, status: "running" }), "a locked run is running elsewhere");
    const e = await assertRejects(() => runTrial(dir, 0), "another process is writing this run");
    assertTrue(e instanceof LockedError);
    assertEquals(await trialStatus(dir, 0), first);
  } finally {
    await lock.release();
  }
  assertTrue(!(await runningElsewhere({ ...first, status: "running" })), "released: not running");
  assertEquals((await runTrial(dir, 0)).status, "completed");
});
