/**
 * Research script: does a higher peak learning rate help a small char-level GPT on code?
 *
 * Trains the same model (same seed, same data order) at several peak learning rates and writes one comparison
 * report with overlaid loss curves and a config diff.
 *
 *   deno run --allow-read --allow-write=runs --allow-env experiments/lr_compare.ts [--steps 150] [--lrs 1e-3,3e-3,1e-2]
 *
 * @module
 */
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";
import { loadConfig, runExperiment, writeReport } from "../mod.ts";

/** The declaration of `experiments/lr_compare.ts`. */
export const LR_COMPARE = {
  name: "lr_compare",
  run: "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname experiments/lr_compare.ts",
  description:
    "Does a higher peak learning rate help a small char-level GPT on code? Trains the same model " +
    "(same seed, same data order) at several peak learning rates and writes one comparison report " +
    "into runs/ with overlaid loss curves and a config diff.",
  positionals: [],
  flags: {
    steps: { type: "integer", min: 1, default: 150, description: "training steps of each run" },
    lrs: {
      type: "string",
      default: "1e-3,3e-3,1e-2",
      value: "LIST",
      description: "comma list of peak learning rates (positive numbers)",
    },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname " +
    "experiments/lr_compare.ts --steps 100 --lrs 1e-3,1e-2",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(LR_COMPARE, async ({ values, typed }) => {
    const steps = values.steps;
    const lrs = values.lrs.split(",").map(Number);
    if (lrs.some((x) => !(x > 0))) {
      throw new UsageError(`${typed("lrs")}: expected a comma list of positive numbers, got "${values.lrs}"`);
    }

    const runs: string[] = [];
    for (const lr of lrs) {
      const { config } = loadConfig({
        path: "configs/quickstart.jsonc",
        sets: [
          "model.n_layer=2",
          "model.n_embd=64",
          "model.n_head=4",
          "model.block_size=64",
          "train.batch_size=16",
          `train.max_steps=${steps}`,
          `train.warmup_steps=${Math.min(20, steps)}`,
          `train.learning_rate=${lr}`,
          `train.min_learning_rate=${Number((lr / 10).toPrecision(6))}`,
          `train.eval_interval=${Math.max(1, Math.floor(steps / 3))}`,
          "train.eval_steps=8",
          "train.sample_tokens=0",
          `run.name=lr-${lr}`,
        ],
      });
      const r = await runExperiment({
        config,
        info: (l) => console.log(`[lr ${lr}] ${l}`),
        noReport: true,
      });
      console.log(`[lr ${lr}] val loss ${r.valLoss?.toFixed(4)} after ${r.step} steps: ${r.runDir}`);
      runs.push(r.runDir);
    }
    const out = `runs/lr-compare-${Date.now()}.html`;
    await writeReport(runs, out);
    console.log(out);
  });
}
