/**
 * Research script: fp32 against emulated bf16 and fp16 on the code corpus.
 *
 * Trains the quickstart model three times with the same seed and data order, once per `train.precision`, then
 * prints the validation losses, each 16-bit run's largest gap to the fp32 validation curve (the band it stays
 * in), the steps fp16 skipped on overflow and its final loss scale, and writes one comparison report.
 *
 *   deno run --allow-read --allow-write=runs --allow-env experiments/precision_compare.ts [--steps 300]
 *
 * @module
 */
import { type Command, runMain } from "../lib/experiment/cli/_command.ts";
import { writeReport } from "../mod.ts";
import { readMetricLines, trainVariant } from "./_common.ts";

/** The declaration of `experiments/precision_compare.ts`. */
export const PRECISION_COMPARE = {
  name: "precision_compare",
  run: "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname " +
    "experiments/precision_compare.ts",
  description:
    "fp32 against emulated bf16 and fp16 on the code corpus: trains the quickstart model three times " +
    "with the same seed and data order, once per train.precision, then prints the validation losses, " +
    "each 16-bit run's largest gap to the fp32 validation curve, the steps fp16 skipped on overflow " +
    "and its final loss scale, and writes one comparison report into runs/.",
  positionals: [],
  flags: {
    steps: { type: "integer", min: 1, default: 300, description: "training steps of each run" },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname " +
    "experiments/precision_compare.ts --steps 100",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(PRECISION_COMPARE, async ({ values }) => {
    const steps = values.steps;

    interface Curves {
      val: Map<number, number>;
      skipped: number;
      scale: number | null;
    }

    async function readCurves(runDir: string): Promise<Curves> {
      const c: Curves = { val: new Map(), skipped: 0, scale: null };
      for (const e of await readMetricLines(runDir)) {
        if (e.split === "val") c.val.set(e.step, e.loss);
        if (e.split === "train") {
          c.skipped += e.skipped_steps ?? 0;
          c.scale = e.loss_scale ?? c.scale;
        }
      }
      return c;
    }

    const runs: string[] = [];
    const results: { precision: string; val: number | null; seconds: number; curves: Curves }[] = [];
    for (const precision of ["fp32", "bf16", "fp16"]) {
      const name = `precision-${precision}`;
      const { result: r, seconds } = await trainVariant(name, "configs/quickstart.jsonc", steps, [
        `train.precision=${precision}`,
      ], 6);
      runs.push(r.runDir);
      results.push({
        precision,
        val: r.valLoss,
        seconds,
        curves: await readCurves(r.runDir),
      });
    }

    const ref = results[0].curves.val;
    const rows = results.map(({ precision, val, seconds, curves }) => {
      let gap = 0, rel = 0;
      for (const [step, loss] of curves.val) {
        const base = ref.get(step);
        if (base === undefined) continue;
        gap = Math.max(gap, Math.abs(loss - base));
        rel = Math.max(rel, Math.abs(loss - base) / base);
      }
      const scaling = curves.scale === null ? "–" : `${curves.skipped} skipped, final scale ${curves.scale}`;
      return `| ${precision} | ${val?.toFixed(4)} | ${gap.toFixed(4)} (${
        (100 * rel).toFixed(2)
      }%) | ${scaling} | ${seconds.toFixed(0)} s |`;
    });
    const out = `runs/precision-compare-${Date.now()}.html`;
    await writeReport(runs, out);
    console.log(
      [
        `\n${steps} steps, quickstart model, data order and schedule; validation every ${
          Math.max(1, Math.floor(steps / 6))
        } steps:\n`,
        "| precision | final val loss | largest gap to fp32's val curve | loss scaling | wall |",
        "| --- | ---: | ---: | --- | ---: |",
        ...rows,
      ].join("\n"),
    );
    console.log(out);
  });
}
