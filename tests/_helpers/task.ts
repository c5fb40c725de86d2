/**
 * Running a `deno task` as a user does: the task's own command line from deno.json (its permissions included),
 * as a child process at the repository root.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
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

/** What a finished task printed. */
export interface TaskOutput {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs `deno task <name> <args…>` (the task's command line, stdout and stderr piped: not a terminal). */
export async function runTask(name: string, args: string[]): Promise<TaskOutput> {
  const out = await new Deno.Command("deno", {
    args: [...taskArgs(name), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
