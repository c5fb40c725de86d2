/**
 * A comparison report (`deno task report A B`) draws the gradient-flow and update heatmaps of every run that
 * logged detail events, each labelled with its run, not only the first run's (issue 14, point 10).
 *
 * @module
 */
import { join } from "node:path";
import { parseHTML } from "linkedom";
import { main } from "../../lib/experiment/cli/report.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

/** A run directory named `name` whose detail events cover the tensors `names` (gradient norms scaled by `g`). */
async function detailRun(dir: string, name: string, names: string[], g: number): Promise<string> {
  const run = join(dir, name);
  await Deno.mkdir(run);
  const lines: string[] = [];
  for (const step of [5, 10]) {
    lines.push(JSON.stringify({ step, split: "train", loss: 4 - step / 10, lr: 1e-3, grad_norm: g }));
    lines.push(JSON.stringify({
      step,
      split: "detail",
      params: names.map((n, i) => ({
        name: n,
        grad_norm: g * (i + 1),
        weight_norm: 1,
        update_ratio: 1e-3 * g,
      })),
      blocks: [{ mean: 0, std: 1, dead_gelu: 0 }],
    }));
  }
  await Deno.writeTextFile(join(run, "metrics.jsonl"), lines.join("\n") + "\n");
  await Deno.writeTextFile(join(run, "manifest.json"), JSON.stringify({ name, status: "completed" }));
  return run;
}

Deno.test("report A B: a gradient-flow and an update heatmap for each run, labelled with its run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report-compare-" });
  try {
    const a = await detailRun(dir, "shallow", ["wte", "h.0.w"], 1);
    const b = await detailRun(dir, "deep", ["wte", "h.0.w", "h.1.w"], 10);
    const out = join(dir, "compare.html"), said: string[] = [];
    const code = await main([a, b, "--out", out], { out: (l) => said.push(l), err: (l) => said.push(l) });
    assertEquals(code, 0, said.join("\n"));
    const { document } = parseHTML(await Deno.readTextFile(out));
    for (const kind of ["grad_flow", "update_flow"]) {
      const figs = [...document.querySelectorAll(`figure[id^="fig-${kind}"]`)];
      assertEquals(figs.length, 2, `${kind}: one figure per run`);
      const [fa, fb] = figs.map((f) => f.textContent ?? "");
      assertTrue(fa.includes("shallow") && !fa.includes("deep"), `${kind}: the first is labelled shallow`);
      assertTrue(fb.includes("deep") && !fb.includes("shallow"), `${kind}: the second is labelled deep`);
      // each draws its own run's tensors: only the deep run has a second block
      assertTrue(!fa.includes("h.1.w") && fb.includes("h.1.w"), `${kind}: each run's own rows`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
