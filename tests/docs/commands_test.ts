/**
 * The docs, kept true: every fenced shell command of README.md, bench/README.md and docs/ runs with small
 * settings (see `_commands.ts`) and exits 0 without a stack trace, unless its block carries a
 * `<!-- no-run: reason -->` marker just above it; and every repository path the docs name exists.
 *
 * Commands run as documented, through `deno task` (so with the tasks' own permissions) at the repository root
 * with `INIT_CWD` set, two blocks at a time; the commands of one block run in order. Run directories the docs
 * leave to the reader (`runs/quickstart-…`, `runs/a`) are copies of one tiny run made first.
 *
 * @module
 */
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { blockCommands, smallCommand, TINY_SETS } from "./_commands.ts";
import { type CommandBlock, commandBlocks, docFiles, missingPaths, readDoc } from "./_markdown.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Every run of this test lives here (the tasks may write only under runs/). */
const DIR = `runs/.docs-test-${Deno.pid}`;
const TMP = await Deno.makeTempDir({ prefix: "lcm-docs-" });
globalThis.addEventListener("unload", () => {
  rmSync(join(ROOT, DIR), { recursive: true, force: true });
  rmSync(TMP, { recursive: true, force: true });
});

/** A stack frame line of V8, or Deno's uncaught-error banner: what no user should see. */
const STACK = /^\s+at .+:\d+:\d+\)?$|^error: Uncaught/m;
/** A command that runs the test suite (this test among it): skipped, and listed with the skipped ones. */
const SUITE = /\btask test\b|\bdeno test\b/;
/** Why a suite command is not run. */
const SUITE_REASON = "the test suite itself, which is running this test";
/** Longest a single small command may take before it counts as hanging. */
const COMMAND_TIMEOUT_MS = 180_000;

interface Outcome {
  where: string;
  command: string;
  ok: boolean;
  seconds: number;
  detail: string;
  /** Not run: why. */
  skipped?: string;
}

/** Removes the new entries of runs/ that a research script printed (what it made there). */
function removePrintedRuns(stdout: string, before: Set<string>): void {
  for (const m of stdout.matchAll(/(?:^|\s)runs\/([^\s/:]+)/g)) {
    if (!before.has(m[1]) && m[1] !== ".cache") {
      rmSync(join(ROOT, "runs", m[1]), { recursive: true, force: true });
    }
  }
}

/** Runs `script` with bash at the repository root, as a user types it there. */
async function sh(script: string) {
  const out = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", script],
    cwd: ROOT,
    env: { INIT_CWD: ROOT, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs the commands of one block in order; the run-directory placeholders become copies of `base`. */
async function runBlock(block: CommandBlock, index: number, base: string): Promise<Outcome[]> {
  const scratch = { dir: `${DIR}/b${index}`, tmp: join(TMP, `b${index}`) };
  mkdirSync(join(ROOT, scratch.dir), { recursive: true });
  mkdirSync(scratch.tmp, { recursive: true });
  const outcomes: Outcome[] = [];
  const where = `${block.file}:${block.line}`;
  for (const cmd of blockCommands(block.text)) {
    if (SUITE.test(cmd.command)) {
      outcomes.push({
        where,
        command: cmd.command,
        ok: true,
        seconds: 0,
        detail: "",
        skipped: SUITE_REASON,
      });
      continue;
    }
    const small = smallCommand(cmd, scratch);
    for (const p of small.placeholders) {
      cpSync(join(ROOT, base), join(ROOT, p), { recursive: true, force: false });
    }
    const before = new Set(readdirSync(join(ROOT, "runs")));
    const t0 = performance.now();
    const r = await sh(small.script);
    const seconds = (performance.now() - t0) / 1000;
    if (small.writesRuns) removePrintedRuns(r.stdout, before);
    const trace = STACK.test(r.stderr);
    outcomes.push({
      where,
      command: cmd.command,
      ok: r.code === 0 && !trace,
      seconds,
      detail: `exit ${r.code}${trace ? ", stack trace on stderr" : ""}\n    ran: ${
        small.script.replaceAll("\n", "; ")
      }\n    ${r.stderr.trim().split("\n").slice(-6).join("\n    ")}`,
    });
  }
  return outcomes;
}

/** Runs `jobs` at most `n` at a time, results in order. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return results;
}

const blocks = docFiles(ROOT).flatMap((f) => commandBlocks(f, readDoc(ROOT, f)));

Deno.test("docs: every fenced shell command runs with small settings, or its block is marked no-run with a reason", async () => {
  const skipped = blocks.filter((b) => b.noRun !== null);
  const runnable = blocks.filter((b) => b.noRun === null);
  assertTrue(runnable.length > 0, "no runnable blocks found");
  // one tiny run, copied wherever the docs say runs/quickstart-…, runs/a, …
  // (4 layers × 4 heads like the quickstart, so a command may name layer 2 or head 3)
  const made = await sh(
    `deno task experiment configs/tiny.jsonc ${TINY_SETS.map((s) => `--set ${s}`).join(" ")} ` +
      `--set model.n_layer=4 --set model.n_head=4 --set run.out_dir=${DIR}/base`,
  );
  assertEquals(made.code, 0, `the base run failed:\n${made.stderr}`);
  const base = made.stdout.trim().split("\n").at(-1)!;

  // the blocks with the most commands first, so that the pool's two lanes end together
  const order = runnable.map((b, i) => ({ b, i, n: blockCommands(b.text).length })).sort((x, y) => y.n - x.n);
  const all = (await pool(order.map(({ b, i }) => () => runBlock(b, i, base)), 2)).flat();
  const outcomes = all.filter((o) => o.skipped === undefined), suite = all.filter((o) => o.skipped);
  const failed = outcomes.filter((o) => !o.ok);
  const skippedCommands = skipped.flatMap((b) => blockCommands(b.text).map((c) => ({ b, c })));
  console.log(
    `docs commands: ${outcomes.length} ran (${runnable.length} blocks), ${failed.length} failed; ` +
      `${skippedCommands.length + suite.length} skipped (${skipped.length} blocks marked no-run, ` +
      `${suite.length} suite commands):`,
  );
  const slowest = [...outcomes].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
  console.log(
    `  slowest: ${slowest.map((o) => `${o.seconds.toFixed(1)} s ${o.command.slice(0, 60)}`).join("; ")}`,
  );
  for (const o of suite) console.log(`  ${o.where} (${o.skipped}):\n    ${o.command}`);
  for (const b of skipped) {
    console.log(`  ${b.file}:${b.line} (${b.noRun}):`);
    for (const c of blockCommands(b.text)) console.log(`    ${c.command}`);
  }
  assertTrue(
    failed.length === 0,
    `documented commands that fail:\n${
      failed.map((o) => `  ${o.where}: ${o.command}\n    ${o.detail}`).join("\n")
    }`,
  );
});

Deno.test("docs: every repository path the docs name exists", () => {
  const missing = docFiles(ROOT).flatMap((f) =>
    missingPaths(ROOT, f, readDoc(ROOT, f)).map((p) => `${f}: ${p}`)
  );
  assertTrue(missing.length === 0, `paths named in the docs that do not exist:\n  ${missing.join("\n  ")}`);
});
