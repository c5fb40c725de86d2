/**
 * The size of the code base, in the spirit of tinygrad's `sz.py`: files, lines and lines of code per room of the
 * library (each folder under `lib/`) and per top-level folder, with a total, so that growth shows in CI output.
 * A line of code is one that is neither blank nor comment-only (`//`, `/* … *\/`; `#` in Python and shell).
 * Source files are `.ts`, `.js`, `.mjs`, `.py` and `.sh`; generated files (first line `// Generated …`) and the
 * build outputs, `node_modules/` and `runs/` are left out.
 *
 * ```sh
 * deno run --allow-read scripts/size.ts [ROOT]
 * ```
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runMain } from "../lib/experiment/cli/_command.ts";
import { SIZE } from "./_commands.ts";

/** One source file: its path relative to the root (with `/`) and its text. */
export interface SourceFile {
  /** Path relative to the root, e.g. `lib/kernels/matmul.ts`. */
  path: string;
  /** The file's text. */
  text: string;
}

/** The counts of one group of files (a room or a folder). */
export interface SizeRow {
  /** The group, e.g. `lib/kernels` or `tests`. */
  name: string;
  /** Source files. */
  files: number;
  /** All lines. */
  lines: number;
  /** Lines that are neither blank nor comment-only. */
  code: number;
}

/** What {@link readSources} returns: the files counted and the generated ones left out. */
export interface Sources {
  /** The source files counted, sorted by path. */
  files: SourceFile[];
  /** Paths of the generated files left out. */
  generated: string[];
}

const EXTENSIONS = new Set([".ts", ".js", ".mjs", ".py", ".sh"]);
/** Folders never walked (anywhere), and paths of build outputs under the root. */
const SKIP_DIRS = new Set(["node_modules", "runs", "dist", ".git"]);
const SKIP_PATHS = new Set(["docs/playground/dist"]);

/** Lines of `text` that are neither blank nor comment-only; `hash` counts `#` lines as comments (Python, shell). */
export function codeLines(text: string, hash = false): number {
  let n = 0, inBlock = false;
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (inBlock) {
      const end = line.indexOf("*/");
      if (end < 0) continue;
      inBlock = false;
      line = line.slice(end + 2).trim();
    } else if (line.startsWith("/*")) {
      const end = line.indexOf("*/", 2);
      if (end < 0) {
        inBlock = true;
        continue;
      }
      line = line.slice(end + 2).trim();
    }
    if (line === "" || line.startsWith("//") || (hash && line.startsWith("#"))) continue;
    n++;
  }
  return n;
}

/** The room of a library file (`lib/<room>` for `lib/<room>/…`, `lib/*.ts` for files directly in `lib/`), else null. */
export function roomOf(path: string): string | null {
  const parts = path.split("/");
  if (parts[0] !== "lib") return null;
  return parts.length > 2 ? `lib/${parts[1]}` : "lib/*.ts";
}

/** The top-level folder of a file, or `(top-level files)` for a file at the root. */
export function folderOf(path: string): string {
  const i = path.indexOf("/");
  return i < 0 ? "(top-level files)" : path.slice(0, i);
}

/** Counts `files` per group (files whose group is null are left out), largest code count first. */
export function sizeRows(files: readonly SourceFile[], group: (path: string) => string | null): SizeRow[] {
  const rows = new Map<string, SizeRow>();
  for (const f of files) {
    const name = group(f.path);
    if (name === null) continue;
    const row = rows.get(name) ?? { name, files: 0, lines: 0, code: 0 };
    row.files++;
    row.lines += f.text === "" ? 0 : f.text.split("\n").length - (f.text.endsWith("\n") ? 1 : 0);
    row.code += codeLines(f.text, [".py", ".sh"].includes(extname(f.path)));
    rows.set(name, row);
  }
  return [...rows.values()].sort((a, b) => b.code - a.code || a.name.localeCompare(b.name));
}

/** The sum of `rows` under `name`. */
export function totalRow(name: string, rows: readonly SizeRow[]): SizeRow {
  const t = { name, files: 0, lines: 0, code: 0 };
  for (const r of rows) {
    t.files += r.files;
    t.lines += r.lines;
    t.code += r.code;
  }
  return t;
}

/** The report: a table of the library's rooms with their total, then one of the top-level folders with the total. */
export function formatSize(sources: Sources): string {
  const rooms = sizeRows(sources.files, roomOf);
  const folders = sizeRows(sources.files, folderOf);
  const width = Math.max(24, ...[...rooms, ...folders].map((r) => r.name.length + 2));
  const cells = (r: SizeRow) => [r.files, r.lines, r.code].map((n, i) => String(n).padStart(i === 0 ? 7 : 9));
  const line = (r: SizeRow) => r.name.padEnd(width) + cells(r).join("");
  const head = (title: string) => title.padEnd(width) + "  files    lines     code";
  const rule = "-".repeat(width + 25);
  const out = [
    head("room"),
    ...rooms.map(line),
    rule,
    line(totalRow("lib", rooms)),
    "",
    head("folder"),
    ...folders.map(line),
    rule,
    line(totalRow("total", folders)),
  ];
  if (sources.generated.length > 0) out.push("", `left out (generated): ${sources.generated.join(", ")}`);
  return out.join("\n");
}

/** Reads every source file under `root` (see the module notes for what is counted and left out). */
export async function readSources(root: string): Promise<Sources> {
  const files: SourceFile[] = [], generated: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !SKIP_PATHS.has(path)) await walk(join(dir, e.name), path);
      } else if (e.isFile() && EXTENSIONS.has(extname(e.name))) {
        const text = await readFile(join(dir, e.name), "utf8");
        if (text.startsWith("// Generated")) generated.push(path);
        else files.push({ path, text });
      }
    }
  };
  await walk(root, "");
  files.sort((a, b) => a.path.localeCompare(b.path));
  generated.sort();
  return { files, generated };
}

if (import.meta.main) {
  await runMain(SIZE, async ({ positionals }) => {
    const root = positionals[0] ?? fileURLToPath(new URL("..", import.meta.url));
    const info = await Deno.stat(root).catch(() => null);
    if (!info?.isDirectory) throw new Error(`${root}: no such folder`);
    console.log(formatSize(await readSources(root)));
  });
}
