/**
 * Paths a user types. `deno task` runs every task at the repository root and sets `INIT_CWD` to the folder the
 * command was typed in; the paths typed (a config file, run directories, `--out`, `--figures`, `--corpus`) are
 * taken from that folder, so `cd configs && deno task experiment tiny.jsonc` works. What a run writes by itself
 * (`run.out_dir`, `runs/` by default) stays relative to the repository root.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";

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
