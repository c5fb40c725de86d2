/**
 * Issue 14, point 7: `deno task report A B` without `--out` writes inside runs/ (never ./compare.html, never over
 * an existing file) and says where; output paths are checked before any work starts (report, eval).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { writeSyntheticRun } from "../report/_synth.ts";
import { canSpawn, ROOT, runTask, tinyRun } from "./_task.ts";

Deno.test({
  name: "report A B without --out writes runs/compare-<stamp>.html, a new file each time, and prints it",
  ignore: !canSpawn,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "lcm-report-out-" });
    const written: string[] = [];
    const rootCompare = join(ROOT, "compare.html");
    const before = existsSync(rootCompare) ? Deno.statSync(rootCompare).mtime?.getTime() : undefined;
    try {
      const a = await writeSyntheticRun(join(tmp, "a"), { trainPoints: 20, evalEvery: 10 });
      const b = await writeSyntheticRun(join(tmp, "b"), { trainPoints: 20, evalEvery: 10, seed: 2 });
      for (let i = 0; i < 2; i++) {
        const r = await runTask("report", [a, b]);
        assertEquals(r.code, 0, r.stderr);
        const out = r.stdout.trim().split("\n").at(-1)!;
        assertTrue(/^runs\/compare-\d{8}-\d{6}(-\d+)?\.html$/.test(out), out);
        assertTrue(existsSync(join(ROOT, out)), out);
        written.push(out);
      }
      assertTrue(written[0] !== written[1], `the second report overwrote the first: ${written}`);
      const after = existsSync(rootCompare) ? Deno.statSync(rootCompare).mtime?.getTime() : undefined;
      assertEquals(after, before, "compare.html at the repository root was written");
    } finally {
      for (const f of written) await Deno.remove(join(ROOT, f)).catch(() => {});
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "report --out under a file (no folder to write in) fails before any work, writing nothing",
  ignore: !canSpawn,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "lcm-report-out-" });
    try {
      const a = await writeSyntheticRun(join(tmp, "a"), { trainPoints: 20, evalEvery: 10 });
      const file = join(tmp, "plain.txt");
      await Deno.writeTextFile(file, "x");
      const r = await runTask("report", [a, "--out", join(file, "r.html")]);
      assertEquals([r.code, r.stderr], [
        2,
        `report: --out ${join(file, "r.html")}: ${file} is not a folder\n`,
      ]);
      assertEquals(existsSync(join(a, "report.html")), false);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "eval of a run outside runs/ fails at once: the task may write only under runs/",
  ignore: !canSpawn,
  async fn() {
    const run = await tinyRun(2);
    try {
      const r = await runTask("eval", [run]);
      assertEquals(r.code, 2);
      assertEquals(
        r.stderr,
        `eval: ${
          join(run, "eval.json")
        }: deno task eval may write only under runs/; evaluate a run there, or ` +
          `run deno run --allow-read --allow-write=runs,${run} --allow-env --allow-sys=hostname ` +
          `lib/experiment/cli/eval.ts ${run}\n`,
      );
    } finally {
      await Deno.remove(run, { recursive: true });
    }
  },
});
