/**
 * Issue 14, point 4: `deno task eval` shows progress (plain lines when stdout is not a terminal) and refreshes the
 * run's report.html after writing eval.json, printing where.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { canSpawn, ROOT, runTask, tinyRun } from "./_task.ts";

Deno.test({
  name: "eval prints progress lines for scoring and generating, then refreshes the run's report.html",
  ignore: !canSpawn,
  async fn() {
    const out = join(ROOT, `runs/.test-eval-${Date.now()}`);
    try {
      const run = await tinyRun(2, out);
      assertEquals(existsSync(join(run, "report.html")), false);
      const r = await runTask("eval", [run, "--prompts", "3", "--max-tokens", "400"]);
      assertEquals(r.code, 0, r.stderr);
      assertTrue(/^eval: scoring \d+\/\d+ windows/m.test(r.stdout), r.stdout);
      assertTrue(/^eval: generating 3\/3 continuations/m.test(r.stdout), r.stdout);
      const lines = r.stdout.trim().split("\n");
      assertEquals(lines.slice(-2), [join(run, "eval.json"), `report ${join(run, "report.html")}`]);
      assertTrue((await Deno.readTextFile(join(run, "report.html"))).includes("<html"));
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
