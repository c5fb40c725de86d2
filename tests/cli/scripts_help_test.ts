/**
 * Issue 14, point 9, for the scripts/ entry points (every `scripts/*.ts` but the `_` modules): `--help` prints a
 * page (what the script does, each flag with its default, an example) and exits 0 without doing its job; an
 * unknown flag is one line and exit 2; neither writes a file, and no script prints a stack trace.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { canSpawn, ROOT, runTask } from "./_task.ts";
import { flagRows } from "./_help.ts";

/** Each entry point: the permissions it is run with (its deno.json task, else its documented line) and what it writes. */
const SCRIPTS: Record<string, { perms: string[]; writes: string[] }> = {
  build_npm: { perms: ["--allow-read", "--allow-write=dist", "--allow-env"], writes: ["dist/package.json"] },
  build_playground: {
    perms: [
      "--allow-read",
      "--allow-write=docs/playground/dist",
      "--allow-env",
      "--allow-run",
      "--allow-net=127.0.0.1",
    ],
    writes: ["docs/playground/dist/app.js", "docs/playground/dist/worker.js"],
  },
  build_wasm: {
    perms: [
      "--allow-read",
      "--allow-write=lib/kernels/wasm",
      "--allow-run",
      "--allow-env",
      "--allow-net=registry.npmjs.org",
    ],
    writes: ["lib/kernels/wasm/kernels_wasm.ts", "lib/kernels/wasm/.build.wasm"],
  },
  cli_docs: { perms: ["--allow-read", "--allow-write=docs"], writes: ["docs/cli.md"] },
  config_docs: {
    perms: ["--allow-read", "--allow-write"],
    writes: ["docs/config.md", "lib/experiment/config_types.ts"],
  },
  size: { perms: ["--allow-read"], writes: [] },
};

/** A stack frame line of V8, or Deno's uncaught-error banner. */
const STACK = /^\s+at .+:\d+:\d+\)?$|Uncaught/m;

/** The modification time of each path (null where it does not exist). */
function mtimes(paths: readonly string[]): (number | null)[] {
  return paths.map((p) => {
    try {
      return statSync(join(ROOT, p)).mtimeMs;
    } catch {
      return null;
    }
  });
}

Deno.test("scripts: every entry point of scripts/ is declared here", () => {
  const entries = readdirSync(join(ROOT, "scripts"))
    .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
    .map((f) => f.slice(0, -3)).sort();
  assertEquals(entries, Object.keys(SCRIPTS).sort());
});

for (const [name, { perms, writes }] of Object.entries(SCRIPTS)) {
  const script = `scripts/${name}.ts`;
  Deno.test({
    name: `${script} --help prints its page and writes nothing; --bogus is one line, exit 2`,
    ignore: !canSpawn,
    async fn() {
      const before = mtimes(writes);
      const help = await runTask(["run", ...perms, script], ["--help"]);
      assertEquals([help.code, help.stderr], [0, ""], `${script} --help:\n${help.stderr}`);
      const parts = help.stdout.split("\n\n");
      assertTrue(/^usage: (deno run|deno task) /.test(parts[0]), `${script}: no usage line:\n${help.stdout}`);
      assertTrue(parts[1]?.length >= 60, `${script}: no description:\n${help.stdout}`);
      const rows = flagRows(help.stdout);
      assertTrue(
        rows.some((r) => r.startsWith("-h, --help")),
        `${script}: no flags section:\n${help.stdout}`,
      );
      for (const row of rows.filter((r) => !r.startsWith("-h, --help"))) {
        assertTrue(/\[default: [^\]]+\]$/.test(row), `${script}: a flag without its default: ${row}`);
      }
      assertTrue(help.stdout.includes("\n\nexamples:\n  "), `${script}: no example:\n${help.stdout}`);

      const bogus = await runTask(["run", ...perms, script], ["--bogus"]);
      assertEquals(bogus.code, 2, `${script} --bogus: exit ${bogus.code}\n${bogus.stderr}`);
      assertTrue(!STACK.test(bogus.stderr), `${script} --bogus: a stack trace:\n${bogus.stderr}`);
      assertTrue(
        new RegExp(`^${name}: unknown flag --bogus; see .+ --help\\n$`).test(bogus.stderr),
        `${script} --bogus:\n${bogus.stderr}`,
      );
      assertEquals(mtimes(writes), before, `${script}: --help or --bogus wrote ${writes.join(", ")}`);
    },
  });
}

Deno.test({
  name: "scripts/size.ts on a folder that does not exist: one line naming it, exit 1",
  ignore: !canSpawn,
  async fn() {
    const r = await runTask(["run", "--allow-read", "scripts/size.ts"], ["no-such-folder"]);
    assertEquals(r.code, 1, r.stderr);
    assertTrue(!STACK.test(r.stderr) && r.stderr.split("\n").length === 2, r.stderr);
    assertTrue(r.stderr.startsWith("size: ") && r.stderr.includes("no-such-folder"), r.stderr);
  },
});
