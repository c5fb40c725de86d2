/**
 * Reading the project's Markdown for the docs test: which files are docs, their fenced command blocks (with the
 * `<!-- no-run: reason -->` marker a block may carry just above it), and the repository paths they name.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

/** A fenced shell block of a Markdown file. */
export interface CommandBlock {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The block's text, without its fences. */
  text: string;
  /** The reason of a `<!-- no-run: reason -->` marker just above the block, or null when it runs. */
  noRun: string | null;
}

/** Info strings of the fenced blocks that hold commands to run. */
const SHELL = new Set(["sh", "bash", "shell", "console"]);

/** The Markdown docs, relative to `root`: README.md, bench/README.md and docs/**.md but not docs/results/ (generated). */
export function docFiles(root: string): string[] {
  const out = ["README.md", "bench/README.md"];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory() && path !== "docs/results" && !path.endsWith("/dist")) walk(path);
      else if (e.isFile() && e.name.endsWith(".md")) out.push(path);
    }
  };
  walk("docs");
  return out.sort();
}

/** The fenced `sh`/`bash`/`shell`/`console` blocks of `markdown` (from `file`), in order. */
export function commandBlocks(file: string, markdown: string): CommandBlock[] {
  const lines = markdown.split("\n");
  const blocks: CommandBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    let end = i + 1;
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++;
    if (SHELL.has(open[3])) {
      let above = i - 1;
      while (above >= 0 && lines[above].trim() === "") above--;
      const marker = above >= 0 ? /^<!--\s*no-run:\s*(.+?)\s*-->$/.exec(lines[above].trim()) : null;
      blocks.push({
        file,
        line: i + 1,
        text: lines.slice(i + 1, end).join("\n"),
        noRun: marker ? marker[1] : null,
      });
    }
    i = end;
  }
  return blocks;
}

/** Top-level folders whose paths the docs name in backticks. */
const ROOMS = ["bench", "configs", "docs", "experiments", "lib", "scripts", "tests"];
const CODE_PATH = new RegExp(`^(?:${ROOMS.join("|")})/[\\w./@-]*$`);

/**
 * The repository paths `markdown` (the file `file`, relative to `root`) names that do not exist: every inline
 * code span that is one path under a top-level folder of the repository (`configs/tiny.jsonc`, `lib/nn/`), and
 * every relative link or image target, resolved against the file's folder. Fenced blocks are left to the
 * commands test; spans with a placeholder (`lib/<room>/mod.ts`, `configs/sweeps/*.jsonc`) or a message
 * (`configs/x.jsonc: …`) are not one path, and what `.gitignore` names is made by commands.
 */
export function missingPaths(root: string, file: string, markdown: string): string[] {
  const missing = new Set<string>();
  const ignored = gitignored(root);
  const prose = markdown.replace(/^(\s*)(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\s*\2\s*$/gm, "");
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) {
    const span = m[1].trim().replace(/[.,;:]$/, "");
    if (CODE_PATH.test(span) && !ignored.some((g) => span.startsWith(g)) && !existsSync(join(root, span))) {
      missing.add(span);
    }
  }
  for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1].split("#")[0];
    if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const path = relative(root, join(root, dirname(file), decodeURIComponent(target)));
    if (!existsSync(join(root, path))) missing.add(target);
  }
  return [...missing];
}

/** The folders `.gitignore` names (what commands and tests make: `tests/artifacts/`, `dist/`), without a leading `/`. */
function gitignored(root: string): string[] {
  return readFileSync(join(root, ".gitignore"), "utf8").split("\n").map((l) => l.trim().replace(/^\//, ""))
    .filter((l) => l.endsWith("/"));
}

/** The text of a file under `root`. */
export function readDoc(root: string, file: string): string {
  return readFileSync(join(root, file), "utf8");
}
