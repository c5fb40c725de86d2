/**
 * Running a `deno task` as a user does: the task's own command line from deno.json (its permissions included),
 * as a child process at the repository root, with `INIT_CWD` set to the folder the command was typed in when a
 * test says so.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { denoOnPath } from "../experiment/_sweep.ts";

/** The repository root (where `deno task` runs every task). */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The arguments after `deno` of task `name` in deno.json (e.g. `run --allow-read … lib/…/experiment.ts`). */
export function taskArgs(name: string): string[] {
  const deno = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))) as {
    tasks: Record<string, string>;
  };
  const words = deno.tasks[name]?.split(/\s+/);
  if (words === undefined || words[0] !== "deno") throw new Error(`deno.json has no "deno …" task ${name}`);
  return words.slice(1);
}

/** The experiment task's command line without its FFI permission (so the blas backend cannot load). */
export function experimentWithoutFfi(): string[] {
  return taskArgs("experiment").filter((a) => !a.startsWith("--allow-ffi"));
}

/** What a finished task printed. */
export interface TaskOutput {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/**
 * Runs `deno task <task> <args…>` (the task's command line; or the given arguments after `deno`) from the
 * repository root: stdout and stderr piped (not a terminal), no colour, stdin closed, `INIT_CWD` when given.
 */
export async function runTask(
  task: string | string[],
  args: string[],
  o: { initCwd?: string } = {},
): Promise<TaskOutput> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (o.initCwd !== undefined) env.INIT_CWD = o.initCwd;
  const out = await new Deno.Command(denoOnPath(), {
    args: [...(typeof task === "string" ? taskArgs(task) : task), ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
