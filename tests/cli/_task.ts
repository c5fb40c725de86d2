/**
 * Running a command as `deno task <name>` does: `deno run` with the permissions deno.json gives the task, from
 * the repository root, with `INIT_CWD` set to the folder the command was typed in.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { denoOnPath } from "../experiment/_sweep.ts";

/** The repository root (where `deno task` runs every task). */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** Whether this test process may start `deno`. */
export const canSpawn: boolean =
  Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

/** What a finished command printed. */
export interface Output {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** `deno run <the task's permissions> <its script>`: the task's command line from deno.json, split. */
export function taskCommand(task: string): string[] {
  const tasks =
    (JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { tasks: Record<string, string> })
      .tasks;
  const words = tasks[task].split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run") {
    throw new Error(`task ${task} is not a deno run: ${tasks[task]}`);
  }
  return words.slice(1);
}

/** Runs `deno run … <script> args` with the permissions of `task` (or the given `deno run` args) from ROOT. */
export async function runTask(
  task: string | string[],
  args: string[],
  o: { initCwd?: string } = {},
): Promise<Output> {
  const cmd = typeof task === "string" ? taskCommand(task) : task;
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (o.initCwd !== undefined) env.INIT_CWD = o.initCwd;
  const out = await new Deno.Command(denoOnPath(), {
    args: [...cmd, ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

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
