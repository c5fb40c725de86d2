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
