import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultOut, main } from "../../lib/experiment/cli/report.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { writeSyntheticRun } from "./_synth.ts";

function capture() {
  const out: string[] = [], err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

Deno.test("cli: default output paths", () => {
  assertEquals(defaultOut(["runs/a"]), join("runs/a", "report.html"));
  // several runs: a new file in runs/ (never ./compare.html)
  const at = new Date(2026, 0, 2, 3, 4, 5);
  assertEquals(defaultOut(["runs/a", "runs/b"], at), join("runs", "compare-20260102-030405.html"));
});

Deno.test("cli: writes <run>/report.html and prints its path last", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "report-cli-" });
  try {
    const run = await writeSyntheticRun(join(tmp, "run"), { trainPoints: 30, evalEvery: 10 });
    const c = capture();
    assertEquals(await main([run], c.io), 0);
    assertEquals(c.err, []);
    assertEquals(c.out.at(-1), join(run, "report.html"));
    assertTrue((await readdir(run)).includes("report.html"));

    const out = join(tmp, "cmp.html"), svg = join(tmp, "loss.svg");
    const c2 = capture();
    assertEquals(await main([run, run, "--out", out, "--svg", svg, "--title", "T"], c2.io), 0);
    assertEquals(c2.out, [svg, out]);
    assertTrue((await Deno.readTextFile(out)).includes("<title>T</title>"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("cli: a path that is not a run directory → one line on stderr, exit 2", async () => {
  const c = capture();
  assertEquals(await main(["runs/definitely-missing-run", "--out", "/nonexistent/x.html"], c.io), 2);
  assertEquals(c.err, [
    `report: runs/definitely-missing-run: not found (looked for ${
      join(Deno.cwd(), "runs/definitely-missing-run")
    })`,
  ]);
  assertEquals(c.out, []);
  const noMetrics = fileURLToPath(new URL("../fixtures/runs/no-metrics", import.meta.url));
  const c2 = capture();
  assertEquals(await main([noMetrics, "--out", "/nonexistent/x.html"], c2.io), 2);
  assertEquals(c2.err, [`report: ${noMetrics}: not a run directory (no metrics.jsonl)`]);
});

Deno.test("cli: bad usage → message and usage on stderr, exit 2", async () => {
  const c = capture();
  assertEquals(await main([], c.io), 2);
  assertEquals(c.err, ["report: missing RUN_DIR; see deno task report --help"]);
  const c2 = capture();
  assertEquals(await main(["--bogus"], c2.io), 2);
  assertEquals(c2.err, ["report: unknown flag --bogus; see deno task report --help"]);
});
