/**
 * Issue 14, point 9: every command answers `--help` with a real page, an unknown flag gets one line with a
 * suggestion, a bad value names the flag as typed, and the snake_case spelling of a flag is accepted.
 */
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { canSpawn, runTask, tinyRun } from "./_task.ts";
import { flagRows } from "./_help.ts";

const TASKS = ["experiment", "eval", "generate", "report", "analyze", "sweep", "corpus"];

Deno.test({
  name: "cli --help: each task prints what it does, every flag with its default and an example; exit 0",
  ignore: !canSpawn,
  async fn() {
    const outs = await Promise.all(TASKS.map((t) => runTask(t, ["--help"])));
    TASKS.forEach((task, i) => {
      const { code, stdout, stderr } = outs[i];
      assertEquals([code, stderr], [0, ""], task);
      const parts = stdout.split("\n\n");
      assertTrue(parts[0].startsWith(`usage: deno task ${task}`), `${task}: ${parts[0]}`);
      assertTrue(
        parts[1].length >= 60 && !parts[1].startsWith("usage"),
        `${task}: no description: ${parts[1]}`,
      );
      const rows = flagRows(stdout);
      assertTrue(rows.length >= 2, `${task}: no flags section:\n${stdout}`);
      for (const row of rows.filter((r) => !r.startsWith("-h, --help"))) {
        assertTrue(/\[default: [^\]]+\]$/.test(row), `${task}: a flag without its default: ${row}`);
      }
      assertTrue(stdout.includes(`\n\nexamples:\n  deno task ${task}`), `${task}: no example`);
    });
  },
});

Deno.test({
  name: "cli: an unknown flag gets one line, a suggestion when one is near, and a pointer to --help; exit 2",
  ignore: !canSpawn,
  async fn() {
    const bogus = await runTask("experiment", ["--bogus"]);
    assertEquals(
      [bogus.code, bogus.stderr],
      [2, "experiment: unknown flag --bogus; see deno task experiment --help\n"],
    );
    const typo = await runTask("experiment", ["--backnd", "wasm"]);
    assertEquals(
      [typo.code, typo.stderr],
      [2, "experiment: unknown flag --backnd (did you mean --backend?); see deno task experiment --help\n"],
    );
    const eval_ = await runTask("eval", ["runs/x", "--max_token", "5"]);
    assertEquals(
      eval_.stderr,
      "eval: unknown flag --max_token (did you mean --max-tokens?); see deno task eval --help\n",
    );
  },
});

Deno.test({
  name: "cli: --threads abc names --threads (not --set run.threads) in experiment, eval, generate, analyze",
  ignore: !canSpawn,
  async fn() {
    const cases = [
      ["experiment", ["--threads", "abc"]],
      ["eval", ["runs/x", "--threads", "abc"]],
      ["generate", ["runs/x", "--threads", "abc"]],
      ["analyze", ["runs/x", "attention", "--threads", "abc"]],
    ] as const;
    const outs = await Promise.all(cases.map(([t, a]) => runTask(t, [...a])));
    cases.forEach(([task], i) => {
      assertEquals(
        [outs[i].code, outs[i].stderr],
        [2, `${task}: --threads: expected an integer >= 1, got "abc"\n`],
        task,
      );
    });
  },
});

Deno.test({
  name: "cli: the snake_case spelling of a flag works (--top_k), and messages use the spelling typed",
  ignore: !canSpawn,
  async fn() {
    const run = await tinyRun(2);
    try {
      const ok = await runTask("generate", [run, "--top_k", "3", "--tokens", "5", "--prompt", "let"]);
      assertEquals([ok.code, ok.stderr], [0, ""]);
      assertTrue(ok.stdout.startsWith("let"), ok.stdout);
      const bad = await runTask("generate", [run, "--top_k", "x"]);
      assertEquals([bad.code, bad.stderr], [2, `generate: --top_k: expected an integer >= 1, got "x"\n`]);
    } finally {
      await Deno.remove(run, { recursive: true });
    }
  },
});

Deno.test({
  name: "experiments/*.ts --help prints a page (no stack trace); a bad value is one line",
  ignore: !canSpawn,
  async fn() {
    const perms = ["run", "--allow-read", "--allow-write=runs", "--allow-env", "--allow-sys=hostname"];
    const help = await runTask([...perms, "experiments/arch_compare.ts"], ["--help"]);
    assertEquals([help.code, help.stderr], [0, ""]);
    assertTrue(help.stdout.startsWith("usage: deno run"), help.stdout);
    assertTrue(flagRows(help.stdout).some((r) => r.startsWith("--steps N")), help.stdout);
    const bad = await runTask([...perms, "experiments/arch_compare.ts"], ["--steps", "abc"]);
    assertEquals([bad.code, bad.stderr], [2, `arch_compare: --steps: expected an integer >= 1, got "abc"\n`]);
  },
});
