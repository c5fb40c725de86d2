/**
 * Research script: gradient accumulation against one large batch on the code corpus.
 *
 * Trains the quickstart model twice with the same seed and data order: one batch of `batch` sequences per step,
 * and `k` micro-batches of `batch / k` accumulated per step (the batcher draws the same windows in the same
 * order), then prints the validation losses, the largest gap between the two train-loss curves, and writes one
 * comparison report.
 *
 *   deno run --allow-read --allow-write=runs --allow-env experiments/accum_compare.ts [--steps 300] [--batch 16] [--k 4]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeReport } from "../mod.ts";
import { readMetricLines, trainVariant } from "./_common.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "300" },
    batch: { type: "string", default: "16" },
    k: { type: "string", default: "4" },
  },
});
const steps = Number(values.steps), batch = Number(values.batch), k = Number(values.k);
if (![steps, batch, k].every((v) => Number.isInteger(v) && v > 0) || batch % k !== 0) {
  console.error(
    "accum_compare: --steps, --batch and --k must be positive integers, with --k dividing --batch",
  );
  Deno.exit(2);
}

const curves: Map<number, number>[] = [];
const runs: string[] = [];
const rows: string[] = [];
for (const [micro, accum] of [[batch, 1], [batch / k, k]]) {
  const name = `accum-${micro}x${accum}`;
  const { result: r, seconds } = await trainVariant(name, "configs/quickstart.jsonc", steps, [
    `train.batch_size=${micro}`,
    `train.grad_accum_steps=${accum}`,
  ]);
  const curve = new Map<number, number>();
  for (const e of await readMetricLines(r.runDir)) if (e.split === "train") curve.set(e.step, e.loss);
  curves.push(curve);
  runs.push(r.runDir);
  rows.push(`| ${micro} × ${accum} | ${r.valLoss?.toFixed(4)} | ${seconds.toFixed(0)} s |`);
}
let gap = 0;
for (const [step, loss] of curves[0]) gap = Math.max(gap, Math.abs(loss - (curves[1].get(step) ?? NaN)));
const out = `runs/accum-compare-${Date.now()}.html`;
await writeReport(runs, out);
console.log(
  [
    `\n${steps} steps, quickstart model and schedule, ${batch} sequences per step:\n`,
    "| micro-batch × steps accumulated | val loss | wall |",
    "| --- | ---: | ---: |",
    ...rows,
    `\nlargest gap between the train-loss curves (logged every 10 steps): ${gap.toExponential(2)}`,
  ].join("\n"),
);
console.log(out);
