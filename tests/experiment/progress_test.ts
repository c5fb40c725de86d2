/**
 * Progress and the last line of `deno task experiment` when its output is not a terminal: one progress line per
 * `train.log_interval` steps (as docs/troubleshooting.md says), and a resume of a finished run reports the run's
 * final validation loss.
 *
 * @module
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { ROOT, runTask } from "../_helpers/task.ts";

/** A temp folder under runs/ (where the task may write) and a corpus; both removed after `fn`. */
async function inRuns(fn: (out: string, corpus: string) => Promise<void>): Promise<void> {
  await mkdir(join(ROOT, "runs"), { recursive: true });
  const out = await Deno.makeTempDir({ dir: join(ROOT, "runs"), prefix: ".test-progress-" });
  const corpus = await makeCodeCorpus();
  try {
    await fn(out, corpus);
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(corpus, { recursive: true, force: true });
  }
}

Deno.test("not a terminal: deno task experiment prints a progress line every log interval", async () => {
  await inRuns(async (out, corpus) => {
    const r = await runTask("experiment", [
      "configs/tiny.jsonc",
      "--set",
      `data.paths=["${corpus}"]`,
      "--set",
      `run.out_dir=${out}`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const steps = r.stdout.split("\n").filter((l) => l.startsWith("step ")).map((l) => l.split(" ")[1]);
    assertEquals(steps, ["5/20", "10/20", "15/20", "20/20"], r.stdout);
  });
});

Deno.test("--resume on a finished run reports the run's final val loss (not n/a) and keeps it in the manifest", async () => {
  await inRuns(async (out, corpus) => {
    const sets = ["--set", `data.paths=["${corpus}"]`, "--set", `run.out_dir=${out}`];
    const first = await runTask("experiment", ["configs/tiny.jsonc", ...sets]);
    assertEquals(first.code, 0, first.stderr);
    const runDir = first.stdout.trim().split("\n").at(-1)!;
    const before = JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8")).final;
    const again = await runTask("experiment", ["--resume", runDir]);
    assertEquals(again.code, 0, again.stderr);
    const done = again.stdout.split("\n").find((l) => l.startsWith("done: "));
    assertEquals(
      done,
      `done: step 20, val loss ${before.val_loss.toFixed(4)} nats/token, report ${runDir}/report.html`,
    );
    const after = JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8")).final;
    assertEquals(after, before);
    assertTrue(typeof after.train_loss === "number", "the final train loss is kept too");
  });
});
