/**
 * Where a run comes from: the library that trained it (name and version from its deno.json, or the npm
 * package's package.json, and its commit when its own files are a git checkout: found from this file's location,
 * not the working directory), the calling project's commit (the working directory's checkout), and the
 * runtime's versions. Git is read from its files (no `git` process); versions from `node:process`.
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The library that trained a run; null where not known (e.g. loaded over https, or not a git checkout). */
export interface LibraryInfo {
  /** Package name, e.g. `@lcm/core`. */
  name: string | null;
  /** Package version. */
  version: string | null;
  /** Commit of the library's files, when they are a git checkout. */
  commit: string | null;
}

/** The library's root: the folder above `lib/` (the repository, or the npm package's root). */
const LIBRARY_ROOT = new URL("../../", import.meta.url);

/** The library's name, version and commit. */
export async function libraryInfo(): Promise<LibraryInfo> {
  if (LIBRARY_ROOT.protocol !== "file:") return { name: null, version: null, commit: null };
  const root = fileURLToPath(LIBRARY_ROOT);
  let meta: { name?: unknown; version?: unknown } = {};
  for (const file of ["deno.json", "package.json"]) {
    try {
      meta = JSON.parse(await readFile(join(root, file), "utf8"));
      break;
    } catch {
      // not this one: the sources have deno.json, the npm package package.json
    }
  }
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  // only the library's own root: an npm install sits inside the user's checkout, whose commit is not ours
  return { name: str(meta.name), version: str(meta.version), commit: await gitCommit(root, false) };
}

/** The JavaScript runtime's versions: `{deno, v8, typescript}` under Deno, `{node, v8}` under Node. */
export function runtimeVersions(): Record<string, string> {
  const v = process.versions as Record<string, string | undefined>;
  const keys = v.deno !== undefined ? ["deno", "v8", "typescript"] : ["node", "v8"];
  return Object.fromEntries(keys.flatMap((k) => (v[k] === undefined ? [] : [[k, v[k]]])));
}

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/**
 * The commit checked out in the git checkout holding `dir` (looking in its parents too unless `up` is false),
 * or null outside one. Reads `.git` itself: HEAD, loose and packed refs, and a worktree's `.git` file and
 * `commondir`.
 */
export async function gitCommit(dir = ".", up = true): Promise<string | null> {
  for (let d = resolve(dir);;) {
    const dotGit = join(d, ".git");
    const found = await stat(dotGit).then(() => true, () => false);
    if (found) return await headCommit(dotGit).catch(() => null);
    if (!up || dirname(d) === d) return null;
    d = dirname(d);
  }
}

async function headCommit(dotGit: string): Promise<string | null> {
  // a worktree or submodule: .git is a file naming the git dir; branches live in its common dir
  let gitDir = dotGit;
  if (await isFile(dotGit)) {
    const named = (await readFile(dotGit, "utf8")).match(/^gitdir: (.+)$/m)?.[1];
    if (named === undefined) return null;
    gitDir = resolve(dirname(dotGit), named.trim());
  }
  const common = await readFile(join(gitDir, "commondir"), "utf8").then(
    (c) => resolve(gitDir, c.trim()),
    () => gitDir,
  );
  const head = (await readFile(join(gitDir, "HEAD"), "utf8")).trim();
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = head.match(/^ref: (.+)$/)?.[1];
  if (ref === undefined) return null;
  for (const base of [gitDir, common]) {
    if (await isFile(join(base, ref))) return (await readFile(join(base, ref), "utf8")).trim();
  }
  const packed = await readFile(join(common, "packed-refs"), "utf8").catch(() => "");
  for (const line of packed.split("\n")) {
    const [sha, name] = line.split(" ");
    if (name === ref) return sha;
  }
  return null;
}
