/**
 * A run reading token shards, killed with SIGKILL and resumed, continues bit-identically: its metrics equal an
 * uninterrupted run's (the batches are read from the shards by position, and the batcher's state is only its
 * generator's).
 */
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { readMetrics, stableFields } from "../_helpers/runs.ts";
import { denoOnPath, waitFor } from "../experiment/_sweep.ts";

const canSpawn = Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

Deno.test({
  name: "token shards: kill -9 during training and resume gives the uninterrupted run's metrics",
  ignore: !canSpawn || Deno.build.os !== "linux",
  async fn() {
    const corpus = await makeCodeCorpus(8, 3000, 3);
    const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
    try {
      const sets = [
        `data.paths=["${corpus}"]`,
        `run.out_dir=${out}`,
        "train.sample_tokens=0",
        "train.lr_decay_steps=30",
        "train.checkpoint_interval=5",
        "model.dropout=0.1",
      ];
      const config = (max: number) =>
        loadConfig({ path: "configs/tiny.jsonc", sets: [...sets, `train.max_steps=${max}`] }).config;
      let n = 0;
      const part = await runExperiment({
        config: config(100000),
        noReport: true,
        shouldStop: () => ++n >= 3,
      });
      // a child process resumes it (reading the shards the first runs wrote) and is killed past step 10
      const child = new Deno.Command(denoOnPath(), {
        args: ["run", "-A", "lib/experiment/cli/experiment.ts", "--resume", part.runDir],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const latest = join(part.runDir, "checkpoints", "latest.json");
      await waitFor(
        async () => ((JSON.parse(await Deno.readTextFile(latest).catch(() => "{}")).step ?? 0) >= 10),
        120,
      );
      child.kill("SIGKILL");
      await child.status;
      // a tiny step takes about a millisecond: the child may be far past step 10 when the kill lands, so the run
      // ends 10 steps after its newest checkpoint (at 40 at the earliest); the schedule does not depend on it
      const killedAt = JSON.parse(await Deno.readTextFile(latest)).step as number;
      const end = Math.max(40, killedAt + 10);
      const resumed = await runExperiment({
        resumeDir: part.runDir,
        sets: [`train.max_steps=${end}`],
        noReport: true,
      });
      assertEquals([resumed.status, resumed.step], ["completed", end]);
      const full = await runExperiment({ config: config(end), noReport: true, quiet: true });
      // events logged after the newest checkpoint by the killed process are repeated after the last resume
      const ev = await readMetrics(part.runDir);
      const last = ev.findLastIndex((e) => e.split === "resume");
      const from = ev[last].step as number;
      assertTrue(from >= 10, `resumed at ${from}`);
      const got = [
        ...ev.slice(0, last).filter((e) => e.split !== "resume" && (e.step as number) <= from),
        ...ev.slice(last + 1),
      ].map(stableFields);
      assertEquals(got, (await readMetrics(full.runDir)).map(stableFields));
    } finally {
      await Deno.remove(out, { recursive: true });
      await Deno.remove(corpus, { recursive: true });
    }
  },
});
