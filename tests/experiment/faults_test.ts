/**
 * A failed write (a full disk, a read-only one) ends the run with one line naming the file, the step, the last
 * good checkpoint and the command that resumes; no half-written file is left where a reader would trust it, and
 * the resume continues exactly. The write errors are injected through lib/io/atomic.ts's seam.
 */
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { injectWriteFault } from "../../lib/io/atomic.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { type Event, readMetrics, stableFields } from "../_helpers/runs.ts";

const corpus = await makeCodeCorpus();

async function tiny(): Promise<{ out: string; config: ReturnType<typeof loadConfig>["config"] }> {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  const sets = [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.lr_decay_steps=20"];
  return { out, config: loadConfig({ path: "configs/tiny.jsonc", sets }).config };
}

/** The one run directory under `out`. */
function runDirIn(out: string): string {
  const dirs = [...Deno.readDirSync(out)].filter((e) => e.isDirectory && e.name !== ".cache");
  assertEquals(dirs.length, 1);
  return join(out, dirs[0].name);
}

/** Every file under `dir`, relative. */
function files(dir: string, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]
  ).sort();
}

/** The events of a run that crashed and resumed from step `from`, as an uninterrupted run would have logged them. */
function continued(events: Event[]): Event[] {
  const at = events.findIndex((e) => e.split === "resume");
  const from = events[at].step as number;
  return [...events.slice(0, at).filter((e) => (e.step as number) <= from), ...events.slice(at + 1)];
}

async function failing(fault: (path: string) => string | undefined, run: () => Promise<unknown>) {
  injectWriteFault(fault);
  try {
    return await assertRejects(run);
  } finally {
    injectWriteFault(null);
  }
}

Deno.test("full disk at a checkpoint: one line, latest.json still good, the resume continues exactly", async () => {
  const { out, config } = await tiny();
  const e = await failing(
    (p) => p.includes("step-000020") && p.endsWith("model.safetensors") ? "ENOSPC" : undefined,
    () => runExperiment({ config, noReport: true }),
  );
  const dir = runDirIn(out);
  const tmp = e.message.split(": ")[0];
  assertTrue(/checkpoints\/\.tmp-step-000020-\d+\/model\.safetensors$/.test(tmp), tmp);
  assertEquals(
    e.message,
    `${tmp}: no space left on device (ENOSPC) at step 20; last good checkpoint: ` +
      `${
        join(dir, "checkpoints", "step-000010")
      } (step 10); resume with: deno task experiment --resume ${dir}`,
  );
  assertTrue(!e.message.includes("\n"));
  const latest = JSON.parse(await Deno.readTextFile(join(dir, "checkpoints", "latest.json")));
  assertEquals(latest, { step: 10, dir: "step-000010" });
  // the half-written checkpoint folder and every temporary file are gone
  assertEquals(files(join(dir, "checkpoints")), [
    "latest.json",
    "step-000010/model.safetensors",
    "step-000010/optimizer.safetensors",
    "step-000010/state.json",
  ]);
  assertTrue(files(dir).every((f) => !f.includes(".tmp")), files(dir).join(" "));
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  assertEquals(manifest.status, "failed");

  const resumed = await runExperiment({ resumeDir: dir, noReport: true });
  assertEquals([resumed.status, resumed.step], ["completed", 20]);
  const straight = await runExperiment({ config: (await tiny()).config, noReport: true });
  assertEquals(
    continued(await readMetrics(dir)).map(stableFields),
    (await readMetrics(straight.runDir)).map(stableFields),
  );
});

Deno.test("full disk while appending metrics: the step is named and no half line is left", async () => {
  const { out, config } = await tiny();
  let appends = 0;
  // events: train 5, train 10, val 10, (checkpoint 10), train 15
  const e = await failing(
    (p) => p.endsWith("metrics.jsonl") && ++appends === 4 ? "ENOSPC" : undefined,
    () => runExperiment({ config, noReport: true }),
  );
  const dir = runDirIn(out);
  assertEquals(
    e.message,
    `${join(dir, "metrics.jsonl")}: no space left on device (ENOSPC) at step 15; last good checkpoint: ` +
      `${
        join(dir, "checkpoints", "step-000010")
      } (step 10); resume with: deno task experiment --resume ${dir}`,
  );
  const text = await Deno.readTextFile(join(dir, "metrics.jsonl"));
  assertTrue(text.endsWith("\n"));
  assertEquals((await readMetrics(dir)).map((e) => e.step), [5, 10, 10]);
});

Deno.test("the token cache: its folder is printed at the start and its failure is reported as the cache's", async () => {
  const { out, config } = await tiny();
  const lines: string[] = [];
  const cache = join(out, ".cache", "tokens");
  const e = await failing(
    (p) => p.startsWith(cache) ? "ENOSPC" : undefined,
    () => runExperiment({ config, noReport: true, info: (l) => lines.push(l) }),
  );
  assertEquals(lines, [`token cache: ${cache}`]);
  const file = e.message.split(": ")[0];
  assertTrue(file.startsWith(cache) && file.endsWith(".train.tok"), file);
  assertEquals(
    e.message,
    `${file}: no space left on device (ENOSPC) writing the token cache ${cache} (the corpus's token ids) at ` +
      "step 0; no checkpoint yet: start the run again once the disk is writable",
  );
});

Deno.test("read-only, permission and I/O faults are named the same way", async () => {
  for (
    const [code, what] of [
      ["EROFS", "read-only file system"],
      ["EACCES", "permission denied"],
      ["EIO", "input/output error"],
    ]
  ) {
    const { out, config } = await tiny();
    const e = await failing(
      (p) => p.endsWith("state.json") ? code : undefined,
      () => runExperiment({ config, noReport: true }),
    );
    const dir = runDirIn(out);
    const file = join(dir, "checkpoints", `.tmp-step-000010-${Deno.pid}`, "state.json");
    assertEquals(
      e.message,
      `${file}: ${what} (${code}) at step 10; no checkpoint yet: start the run again once the disk is writable`,
    );
    assertTrue(!(await Deno.stat(join(dir, "checkpoints", "latest.json")).then(() => true, () => false)));
  }
});
