/**
 * Paths a user types. `deno task` runs every task at the repository root and sets `INIT_CWD` to the folder the
 * command was typed in; the paths typed (a config file, run directories, `--out`, `--figures`, `--corpus`) are
 * taken from that folder, so `cd configs && deno task experiment tiny.jsonc` works. What a run writes by itself
 * (`run.out_dir`, `runs/` by default) stays relative to the repository root.
 *
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";

/** The folder the command was typed in: `INIT_CWD` when set (and readable), else the current folder. */
export function typedIn(): string {
  const env = Deno.permissions.querySync({ name: "env", variable: "INIT_CWD" }).state === "granted";
  return (env ? Deno.env.get("INIT_CWD") : undefined) || Deno.cwd();
}

/**
 * `path` as typed: an absolute path as it is; a relative one taken from {@link typedIn}, then written relative
 * to the current folder when it lies inside it (so that messages and records read as before at the repository
 * root), else absolute.
 */
export function userPath(path: string): string {
  if (isAbsolute(path)) return path;
  const abs = resolve(typedIn(), path);
  const rel = relative(Deno.cwd(), abs);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? abs : rel;
}

/**
 * {@link userPath} of a path that must exist; when it does not, `fail`s with what was looked for (and, under
 * `deno task` from a subfolder, where paths are taken from).
 */
export function existingPath(path: string, fail: (msg: string) => never): string {
  const p = userPath(path);
  if (existsSync(p)) return p;
  const from = typedIn(), root = Deno.cwd();
  const note = from === root
    ? ""
    : `: paths are taken from the folder the command was typed in, ${from}; deno task itself runs at the ` +
      `repository root, ${root}`;
  fail(`${path}: not found (looked for ${resolve(from, path)}${note})`);
}

/**
 * What {@link checkWritable} says when a narrow task (deno.json gives it `--allow-write=runs`) may not write
 * `dir`: where it may write, `instead` (a path there), or the `deno run` form that may write `dir` too (with the
 * task's other `permissions` and the command's `args`).
 */
export function onlyUnderRuns(
  task: string,
  permissions: string,
  dir: string,
  instead: string,
  args: readonly string[],
): string {
  const shown = args.map((a) => /^[\w@%+=:,./…-]+$/.test(a) ? a : JSON.stringify(a)).join(" ");
  return `deno task ${task} may write only under runs/; ${instead}, or run deno run --allow-read ` +
    `--allow-write=runs,${dir} ${permissions} lib/experiment/cli/${task}.ts ${shown}`;
}

/**
 * Checks, before any work, that this process may write `path` (a file, or a folder it creates): its nearest
 * existing ancestor is a folder, and Deno's permissions cover `path`. `fail`s with
 * `<label>: <why>`; `denied` says what to do when only Deno's permissions are missing.
 */
export function checkWritable(
  label: string,
  path: string,
  fail: (msg: string) => never,
  denied: string,
): void {
  const abs = resolve(path);
  let at = dirname(abs);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  if (!statSync(at).isDirectory()) fail(`${label}: ${at} is not a folder`);
  if (Deno.permissions.querySync({ name: "write", path: abs }).state !== "granted") {
    fail(`${label}: ${denied}`);
  }
}
