/**
 * A short run's report draws without Observable Plot's "implicit z channel has high cardinality" warning (issue
 * 14, point 10): nothing on the console while it renders, and no ⚠️ marker in a figure.
 *
 * @module
 */
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { renderReport } from "../../lib/report/report.ts";
import { writeSweepReport } from "../../lib/report/sweep.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

/** What `fn` writes through console.warn and console.error while it runs (and its result). */
async function consoleOf<T>(fn: () => Promise<T>): Promise<{ lines: string[]; value: T }> {
  const lines: string[] = [];
  const { warn, error } = console;
  console.warn = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { lines, value: await fn() };
  } finally {
    Object.assign(console, { warn, error });
  }
}

const WARNING_MARK = "\u26a0\ufe0f"; // what Plot draws into a figure that warned

Deno.test("the report of a 5-step tiny run (and of two of them) renders without a Plot warning", async () => {
  const corpus = await makeCodeCorpus();
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  try {
    const config = loadConfig({
      path: "configs/tiny.jsonc",
      sets: [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.max_steps=5", "train.eval_interval=5"],
    }).config;
    // the runner writes report.html at the end, as `deno task experiment` does
    const a = await consoleOf(() => runExperiment({ config }));
    assertEquals(a.lines, []);
    const b = await runExperiment({ config, noReport: true });
    for (const dirs of [[a.value.runDir], [a.value.runDir, b.runDir]]) {
      const r = await consoleOf(() => renderReport(dirs));
      assertEquals(r.lines, [], `report of ${dirs.length} run(s)`);
      assertTrue(!r.value.includes(WARNING_MARK), `no warning mark in the report of ${dirs.length} run(s)`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(corpus, { recursive: true });
  }
});

Deno.test("a sweep of short trials (one evaluation each) reports without a Plot warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lcm-sweep-" });
  try {
    const trials = [0, 1].map((i) => ({
      index: i,
      point: { "model.norm": ["layernorm", "rmsnorm"][i] },
      config: i,
      seed: 1,
      sets: [],
      configHash: `h${i}`,
    }));
    await Deno.writeTextFile(
      join(dir, "sweep.json"),
      JSON.stringify({ name: "short", seeds: [1], metric: "val_loss", mode: "min", trials }),
    );
    for (const t of trials) {
      const trialDir = join(dir, `trial-${t.index}`), runDir = join(trialDir, "run");
      await Deno.mkdir(runDir, { recursive: true });
      await Deno.writeTextFile(
        join(runDir, "metrics.jsonl"),
        JSON.stringify({ step: 5, split: "val", loss: 4 + t.index / 10, elapsed_s: 0.1 }) + "\n",
      );
      await Deno.writeTextFile(
        join(trialDir, "status.json"),
        JSON.stringify({
          status: "completed",
          config_hash: t.configHash,
          run_dir: runDir,
          metrics: { val_loss: 4 + t.index / 10 },
          step: 5,
        }),
      );
    }
    const r = await consoleOf(() => writeSweepReport(dir));
    assertEquals(r.lines, []);
    const html = await Deno.readTextFile(join(dir, "report.html"));
    assertTrue(html.includes('id="fig-curves"'), "the curves are drawn");
    assertTrue(!html.includes(WARNING_MARK), "no warning mark");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
