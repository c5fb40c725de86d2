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
import { parseArgs } from "node:util";
import { loadConfig, runExperiment, writeReport } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { steps: { type: "string", default: "150" }, lrs: { type: "string", default: "1e-3,3e-3,1e-2" } },
});
const steps = Number(values.steps);
const lrs = values.lrs.split(",").map(Number);
if (!Number.isInteger(steps) || steps < 1 || lrs.some((x) => !(x > 0))) {
  console.error(
    "lr_compare: --steps must be a positive integer and --lrs a comma-separated list of positive numbers",
  );
  Deno.exit(2);
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
