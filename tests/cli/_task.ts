/**
 * What the CLI tests share: the task runner of tests/_helpers/task.ts, and a tiny run to point commands at.
 *
 * @module
 */
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

import { ROOT } from "../_helpers/task.ts";

export { ROOT, runTask } from "../_helpers/task.ts";

/** Whether this test process may start `deno`. */
export const canSpawn: boolean =
  Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

/** A tiny gpt run of `steps` steps on a small synthetic corpus, in `outDir` (a temporary folder by default). */
export async function tinyRun(steps = 4, outDir?: string): Promise<string> {
  const corpus = await makeCodeCorpus(3, 2000);
  const out = outDir ?? await Deno.makeTempDir({ prefix: "lcm-cli-" });
  const { config } = loadConfig({
    path: join(ROOT, "configs/tiny.jsonc"),
    sets: [
      `data.paths=["${corpus}"]`,
      `run.out_dir=${out}`,
      `train.max_steps=${steps}`,
      `train.eval_interval=${steps}`,
      `train.checkpoint_interval=${steps}`,
      "train.sample_tokens=0",
    ],
  });
  return (await runExperiment({ config, noReport: true })).runDir;
}
