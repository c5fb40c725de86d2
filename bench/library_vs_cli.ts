/**
 * The library against the CLI at the quickstart shape (4 layers, 4 heads, width 128, block 128, batch 16,
 * vocabulary 106): `deno task experiment` (configs/quickstart.jsonc, `--steps` steps, its own defaults for
 * everything else) and the README's "Use it as a library" loop (forward, backward, AdamW step, zero grad) on one
 * fixed batch of seeded random tokens, written as a user writes it: nothing set up but the imports from mod.ts;
 * then the same loop with the step scope the trainer uses (`withStep`). Each runs in its own process; each
 * reports the median tokens/s over intervals of 10 steps (the CLI's `tokens_per_s` lines, training time only)
 * and the largest RSS sampled at those intervals (the CLI's `rss_mb`).
 *
 * ```sh
 * deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname --allow-run=deno \
 *   bench/library_vs_cli.ts --steps 100
 * ```
 *
 * Prints one line per case, then one JSON line with all three.
 *
 * @module
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { AdamW, createGPT, Rng, uniqueParams, withStep } from "../mod.ts";
import { openblasFfiFlag } from "../lib/kernels/backend.ts";
import { round } from "./_common.ts";
import { type Command, runMain } from "../lib/experiment/cli/_command.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const B = 16, T = 128, V = 106, INTERVAL = 10;

/** One case's figures. */
interface Figures {
  /** Median tokens per second over intervals of {@link INTERVAL} steps. */
  tokens_per_s: number;
  /** Largest resident set size seen at the interval ends, MiB. */
  rss_mb: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The README's loop at the quickstart shape; `scoped` wraps forward and backward in `withStep`. */
function libraryLoop(steps: number, scoped: boolean): Figures {
  const model = createGPT(
    { vocabSize: V, blockSize: T, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: true, tieWeights: true },
    1,
  );
  const opt = new AdamW(uniqueParams(model.namedParameters()), { lr: 3e-3 });
  const rng = new Rng(0);
  const data = Int32Array.from({ length: B * (T + 1) }, () => rng.int(V));
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    x.set(data.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    y.set(data.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  const rates: number[] = [];
  let rss = 0, t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    if (scoped) withStep(() => model.forward(x, B, T, { targets: y }).loss!.backward());
    else {
      const { loss } = model.forward(x, B, T, { targets: y });
      loss!.backward();
    }
    opt.step();
    opt.zeroGrad();
    if (i % INTERVAL === 0) {
      const t = performance.now();
      rates.push((B * T * INTERVAL) / ((t - t0) / 1000));
      rss = Math.max(rss, process.memoryUsage().rss / 2 ** 20);
      t0 = t;
    }
  }
  return { tokens_per_s: Math.round(median(rates)), rss_mb: Math.round(rss) };
}

/** `deno task experiment` with the quickstart config for `steps` steps; figures from its metrics.jsonl. */
async function cli(steps: number): Promise<Figures> {
  const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as {
    tasks: Record<string, string>;
  };
  const args = deno.tasks.experiment.split(/\s+/).slice(1);
  await mkdir(join(ROOT, "runs"), { recursive: true });
  const out = await Deno.makeTempDir({ dir: join(ROOT, "runs"), prefix: ".bench-library-vs-cli-" });
  try {
    const r = await new Deno.Command("deno", {
      args: [...args, "--set", `train.max_steps=${steps}`, "--set", `run.out_dir=${out}`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    if (r.code !== 0) throw new Error(`deno task experiment exited with ${r.code}:\n${stdout}`);
    const runDir = stdout.trim().split("\n").at(-1)!;
    const events = (await readFile(join(runDir, "metrics.jsonl"), "utf8")).trim().split("\n")
      .map((l) => JSON.parse(l) as { split: string; tokens_per_s?: number; rss_mb?: number });
    const train = events.filter((e) => e.split === "train");
    return {
      tokens_per_s: Math.round(median(train.map((e) => e.tokens_per_s!))),
      rss_mb: Math.max(...train.map((e) => e.rss_mb!)),
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Runs this file again as `--case <name>` (a fresh process) and parses its JSON line. */
async function child(name: string, steps: number): Promise<Figures> {
  const r = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      openblasFfiFlag(), // as the experiment task: the library's default backend is then the CLI's (blas)
      fileURLToPath(import.meta.url),
      "--case",
      name,
      "--steps",
      `${steps}`,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (r.code !== 0) throw new Error(`case ${name} exited with ${r.code}`);
  return JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!);
}

/** The declaration of `bench/library_vs_cli.ts`. */
export const LIBRARY_VS_CLI = {
  name: "library_vs_cli",
  run: "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname --allow-run=deno " +
    "bench/library_vs_cli.ts",
  description:
    "The README's library loop against deno task experiment at the quickstart shape: median tokens/s and peak " +
    "RSS of each (the loop as written, and with withStep), each in its own process. One line per case, then " +
    "one JSON line.",
  positionals: [],
  flags: {
    steps: { type: "integer", min: INTERVAL, default: 100, description: "training steps of each case" },
    case: {
      type: "string",
      choices: ["library", "library-with-step"],
      defaultText: "every case",
      description: "run one library case in this process (what the bench itself runs in a child)",
    },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname --allow-run=deno " +
    "bench/library_vs_cli.ts --steps 100",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(LIBRARY_VS_CLI, async ({ values }) => {
    const steps = values.steps;
    if (values.case !== undefined) {
      console.log(JSON.stringify(libraryLoop(steps, values.case === "library-with-step")));
      return;
    }
    const results: Record<string, Figures> = {};
    for (const name of ["cli", "library", "library-with-step"]) {
      results[name] = name === "cli" ? await cli(steps) : await child(name, steps);
      const f = results[name], share = round((100 * f.tokens_per_s) / results.cli.tokens_per_s, 1);
      console.log(`${name.padEnd(18)} ${f.tokens_per_s} tok/s (${share}% of the CLI), RSS ${f.rss_mb} MB`);
    }
    console.log(JSON.stringify({ steps, cores: navigator.hardwareConcurrency, ...results }));
  });
}
