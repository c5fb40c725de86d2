/**
 * Research script: the architecture variants against the GPT-2 baseline on the code corpus.
 *
 * Trains the quickstart model (same seed, same data order, same schedule) once per variant config in
 * `configs/variants/` (learned vs RoPE vs no positions, LayerNorm vs RMSNorm, pre vs post norm, GELU vs SwiGLU,
 * and all of LLaMA's together), prints a Markdown table of the validation losses and writes one comparison
 * report with the overlaid curves and the config diffs.
 *
 *   deno run --allow-read --allow-write=runs --allow-env experiments/arch_compare.ts [--steps 300] \
 *     [--variants rope,nopos,rmsnorm,postnorm,swiglu,llama]
 *
 * @module
 */
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";
import { writeReport } from "../mod.ts";
import { trainVariant } from "./_common.ts";

const ALL = ["rope", "nopos", "rmsnorm", "postnorm", "swiglu", "llama"];
/** The declaration of `experiments/arch_compare.ts`. */
export const ARCH_COMPARE = {
  name: "arch_compare",
  run:
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname experiments/arch_compare.ts",
  description:
    "Trains the quickstart model (same seed, same data order, same schedule) once per architecture " +
    "variant in configs/variants/ (learned vs RoPE vs no positions, LayerNorm vs RMSNorm, pre vs post" +
    " norm, GELU vs SwiGLU, and all of LLaMA's together) next to the GPT-2 baseline, prints a " +
    "Markdown table of the validation losses and writes one comparison report into runs/.",
  positionals: [],
  flags: {
    steps: { type: "integer", min: 1, default: 300, description: "training steps of each run" },
    variants: {
      type: "string",
      default: ALL.join(","),
      value: "LIST",
      description: `comma list of the variants to train next to the baseline: ${ALL.join(", ")}`,
    },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname " +
    "experiments/arch_compare.ts --steps 100 --variants rope,swiglu",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(ARCH_COMPARE, async ({ values, typed }) => {
    const steps = values.steps;
    const variants = values.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const bad = variants.find((v) => !ALL.includes(v));
    if (bad !== undefined) {
      throw new UsageError(`${typed("variants")}: unknown variant "${bad}" (known: ${ALL.join(", ")})`);
    }

    const rows: string[] = [];
    const runs: string[] = [];
    for (const name of ["baseline", ...variants]) {
      const path = name === "baseline" ? "configs/quickstart.jsonc" : `configs/variants/${name}.jsonc`;
      const { result: r, config, seconds } = await trainVariant(`arch-${name}`, path, steps, []);
      const m = config.model;
      const what = `${m.position} / ${m.norm} ${m.norm_placement} / ${m.mlp}${m.bias ? "" : " / no bias"}`;
      const params =
        (JSON.parse(await Deno.readTextFile(`${r.runDir}/manifest.json`)) as { params?: number }).params;
      rows.push(
        `| ${name} | ${what} | ${params ?? "?"} | ${r.valLoss?.toFixed(4)} | ${seconds.toFixed(0)} s |`,
      );
      console.log(`[${name}] val loss ${r.valLoss?.toFixed(4)} after ${r.step} steps: ${r.runDir}`);
      runs.push(r.runDir);
    }
    const out = `runs/arch-compare-${Date.now()}.html`;
    await writeReport(runs, out);
    console.log(
      [
        `\n${steps} steps each, quickstart model and schedule, seed ${1337}:\n`,
        "| variant | position / norm / mlp | params | val loss | wall |",
        "| --- | --- | ---: | ---: | ---: |",
        ...rows,
      ].join("\n"),
    );
    console.log(out);
  });
}
