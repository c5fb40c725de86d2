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
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";
import { writeReport } from "../mod.ts";
import { readMetricLines, trainVariant } from "./_common.ts";

/** The declaration of `experiments/accum_compare.ts`. */
export const ACCUM_COMPARE = {
  name: "accum_compare",
  run:
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname experiments/accum_compare.ts",
  description:
    "Gradient accumulation against one large batch on the code corpus: trains the quickstart model " +
    "twice with the same seed and data order, one batch of --batch sequences per step and --k " +
    "micro-batches of batch / k accumulated per step, then prints the validation losses, the largest " +
    "gap between the two train-loss curves, and writes one comparison report into runs/.",
  positionals: [],
  flags: {
    steps: { type: "integer", min: 1, default: 300, description: "training steps of each run" },
    batch: { type: "integer", min: 1, default: 16, description: "sequences per optimizer step" },
    k: {
      type: "integer",
      min: 1,
      default: 4,
      description: "micro-batches accumulated per step (divides --batch)",
    },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname " +
    "experiments/accum_compare.ts --steps 100 --batch 16 --k 4",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(ACCUM_COMPARE, async ({ values, typed }) => {
    const { steps, batch, k } = values;
    if (batch % k !== 0) {
      throw new UsageError(`${typed("k")} ${k} does not divide ${typed("batch")} ${batch}`);
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
  });
}
