/**
 * The tutorials' code runs: every fenced ```ts block of the files in {@link TUTORIALS} (`docs/tutorials/`) is
 * written to a file of its own, with its relative imports (`../../mod.ts`) rewritten to absolute `file://`
 * URLs of this checkout, and imported, so it runs top to bottom; a block fails the test by throwing (the
 * blocks assert their key claims with `node:assert/strict`). With `--allow-run=deno` the blocks are also
 * type-checked and linted (`deno check`, `deno lint`: one call each for all of them). The images the
 * tutorials show must exist and stay small.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

/** The tutorials whose code blocks run, in `docs/tutorials/`. */
const TUTORIALS = ["attention.md", "backprop.md", "training-dynamics.md"] as const;

const repoRoot = new URL("../../", import.meta.url);
const tutorialsDir = new URL("docs/tutorials/", repoRoot);

/** Largest image a tutorial may show (bytes). */
const MAX_IMAGE_BYTES = 150 * 1024;

/** One fenced ```ts block of a tutorial. */
interface CodeBlock {
  /** The tutorial's file name. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** 1-based position among the file's ts blocks. */
  index: number;
  /** The block's source (between the fences). */
  code: string;
}

/** The fenced ```ts (or ```typescript) blocks of a markdown text, in order. */
function tsBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split("\n"), out: CodeBlock[] = [];
  let open: { line: number; fence: string; ts: boolean } | null = null, body: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (open === null) {
      if (m) {
        open = { line: i + 1, fence: m[1], ts: m[2] === "ts" || m[2] === "typescript" };
        body = [];
      }
    } else if (m && m[1][0] === open.fence[0] && m[1].length >= open.fence.length && m[2] === "") {
      if (open.ts) out.push({ file, line: open.line, index: out.length + 1, code: body.join("\n") + "\n" });
      open = null;
    } else {
      body.push(lines[i]);
    }
  }
  if (open !== null) throw new Error(`${file}:${open.line}: code fence is never closed`);
  return out;
}

/** Rewrites relative module specifiers (`"../../mod.ts"`) to absolute URLs resolved against `base`. */
function absoluteImports(code: string, base: URL): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]+)\2/g,
    (_all, lead: string, quote: string, spec: string) => `${lead}${quote}${new URL(spec, base).href}${quote}`,
  );
}

/** The blocks of every tutorial. */
async function allBlocks(): Promise<CodeBlock[]> {
  const blocks: CodeBlock[] = [];
  for (const file of TUTORIALS) {
    blocks.push(...tsBlocks(await readFile(new URL(file, tutorialsDir), "utf8"), file));
  }
  return blocks;
}

/**
 * Writes each block to `<tmp>/lcm-tutorials-<hash>/<tutorial>-<n>.ts` and returns the paths in block order.
 * The folder is named by the hash of every block's rewritten source, so an unchanged set of blocks reuses the
 * same files (and `deno check`'s cache).
 */
async function writeBlocks(blocks: readonly CodeBlock[]): Promise<string[]> {
  const sources = blocks.map((b) => absoluteImports(b.code, tutorialsDir));
  const hash = createHash("sha256");
  for (const s of sources) hash.update(s).update("\0");
  const dir = join(tmpdir(), `lcm-tutorials-${hash.digest("hex").slice(0, 16)}`);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [i, b] of blocks.entries()) {
    const path = join(dir, `${b.file.replace(/\.md$/, "")}-${String(b.index).padStart(2, "0")}.ts`);
    await writeFile(path, `// ${b.file}:${b.line}\n${sources[i]}`);
    paths.push(path);
  }
  return paths;
}

Deno.test("tsBlocks finds ts fences only and absoluteImports resolves relative specifiers", () => {
  const md = [
    "text",
    "```ts",
    'import { Tensor } from "../../mod.ts";',
    "```",
    "```sh",
    "deno task test",
    "```",
    "````ts",
    "const s = `",
    "```",
    "`;",
    "````",
  ].join("\n");
  const blocks = tsBlocks(md, "x.md");
  assert.deepEqual(blocks.map((b) => [b.line, b.index]), [[2, 1], [8, 2]]);
  assert.equal(blocks[1].code, "const s = `\n```\n`;\n");
  const base = new URL("file:///repo/docs/tutorials/");
  assert.equal(
    absoluteImports(blocks[0].code, base),
    'import { Tensor } from "file:///repo/mod.ts";\n',
  );
  assert.equal(
    absoluteImports('await import("./a.ts");', base),
    'await import("file:///repo/docs/tutorials/a.ts");',
  );
  assert.equal(absoluteImports('import "node:fs";', base), 'import "node:fs";');
});

Deno.test("tutorials: every ts block runs", async (t) => {
  const blocks = await allBlocks();
  const paths = await writeBlocks(blocks);
  for (const file of TUTORIALS) {
    assert.ok(blocks.some((b) => b.file === file), `${file} has no ts blocks`);
  }
  for (const [i, b] of blocks.entries()) {
    await t.step(`${b.file} block ${b.index} (line ${b.line})`, async () => {
      try {
        await import(new URL(`file://${paths[i]}`).href);
      } catch (e) {
        throw new Error(
          `${b.file}:${b.line} (block ${b.index}, ${paths[i]}) threw: ${(e as Error).stack ?? e}`,
        );
      }
    });
  }
});

const canCheck = Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

Deno.test({
  name: "tutorials: every ts block type-checks and lints",
  ignore: !canCheck,
  async fn() {
    const paths = await writeBlocks(await allBlocks());
    const config = fileURLToPath(new URL("deno.json", repoRoot));
    for (const command of ["check", "lint"]) {
      const out = await new Deno.Command("deno", {
        args: [command, "--quiet", "--config", config, ...paths],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `deno ${command} failed:\n${text}`);
    }
  },
});

Deno.test("tutorials: images exist and are small, links to the repository resolve", async () => {
  for (const file of TUTORIALS) {
    const md = await readFile(new URL(file, tutorialsDir), "utf8");
    for (const m of md.matchAll(/!?\[[^\]]*\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue; // an absolute URL
      const url = new URL(target, tutorialsDir);
      const info = await stat(url).catch(() => null);
      assert.ok(info !== null, `${file}: ${target} does not exist`);
      if (m[0].startsWith("!")) {
        assert.ok(
          info.size <= MAX_IMAGE_BYTES,
          `${file}: ${target} is ${info.size} bytes (> ${MAX_IMAGE_BYTES})`,
        );
      }
    }
  }
});
