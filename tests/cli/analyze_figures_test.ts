/**
 * Issue 14, point 3: docs/analysis.md's `deno task analyze runs/… attention --figures figs/ --format png` exited 2
 * with a Deno permission error after writing the page. Now a `--figures` folder the task may not write fails at
 * once, writing nothing, with one line that says where the task may write and the supported way.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { canSpawn, ROOT, runTask, tinyRun } from "./_task.ts";

Deno.test({
  name: "analyze --figures figs/ (outside runs/) fails before any work; --figures under the run works",
  ignore: !canSpawn,
  async fn() {
    const out = join(ROOT, `runs/.test-analyze-${Date.now()}`);
    try {
      const run = await tinyRun(2, out);
      const args = [run, "attention", "--figures", "figs/", "--format", "png", "--windows", "4"];
      const r = await runTask("analyze", args);
      assertEquals(r.code, 2);
      assertEquals(
        r.stderr,
        `analyze: --figures figs/: deno task analyze may write only under runs/; give a folder there (e.g. ` +
          `--figures ${run}/figures), or run deno run --allow-read --allow-write=runs,figs --allow-env ` +
          `--allow-ffi --allow-sys=cpus,networkInterfaces,hostname lib/experiment/cli/analyze.ts ` +
          `${args.join(" ")}\n`,
      );
      assertEquals(existsSync(join(run, "analysis-attention.html")), false, "the page was written");
      assertEquals(existsSync(join(ROOT, "figs")), false);

      const ok = await runTask("analyze", [
        run,
        "attention",
        "--figures",
        `${run}/figures`,
        "--windows",
        "4",
      ]);
      assertEquals(ok.code, 0, ok.stderr);
      assertTrue(existsSync(join(run, "analysis-attention.html")));
      assertTrue(Array.from(Deno.readDirSync(join(run, "figures"))).some((e) => e.name.endsWith(".svg")));
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
