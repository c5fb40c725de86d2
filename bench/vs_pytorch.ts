/**
 * Ours against PyTorch end to end, on the same CPU and the same tokens.
 *
 * 1. **Quickstart, wall clock.** `deno task experiment` exactly as the README runs it (the embedded default
 *    config, every default: samples, detail logs, checkpoints, report) against bench/reference/train_gpt.py, a
 *    minimal PyTorch GPT training script given the same model, schedule, steps, eval cadence, thread count and
 *    the same token ids (this bench writes the quickstart's train and validation ids to two uint16 files under
 *    runs/.vs-pytorch/ for it). PyTorch runs twice per round, with `OMP_WAIT_POLICY=PASSIVE` and with the
 *    default; ours is compared against the faster of the two. Rounds alternate the order (ours first, then
 *    PyTorch first) so that a change in machine load hits both. Each process is timed from spawn to exit.
 * 2. **GPT-2 small, one training step.** bench/train_throughput.ts (backend auto) against
 *    bench/reference/torch_gpt.py at 12 layers, 12 heads, width 768, block 256, batch 4, vocabulary 50,257:
 *    tokens/s and peak RSS (getrusage, both sides).
 *
 * ```sh
 * deno run --allow-read --allow-write=runs,bench/results --allow-env --allow-sys=hostname,loadavg \
 *   --allow-run=deno,/usr/bin/python3 bench/vs_pytorch.ts --runs 3
 * ```
 *
 * Prints a line per process, then the Markdown tables, and writes them with every raw line to
 * `bench/results/vs-pytorch-<date>.{json,md}` (`--out`). Without `import torch` in /usr/bin/python3 it says so
 * and stops.
 *
 * @module
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { type Command, runMain } from "../lib/experiment/cli/_command.ts";
import { loadConfig } from "../lib/experiment/config.ts";
import type { Config } from "../lib/experiment/config_types.ts";
import { corpusOptions, familyTokenizer } from "../lib/experiment/families.ts";
import { loadCorpus } from "../lib/data/corpus.ts";
import { openblasFfiFlag } from "../lib/kernels/backend.ts";
import { round } from "./_common.ts";
import { PYTHON, ROOT, runOnce, type RunOutput, torchStatus } from "./_spawn.ts";

const TRAIN_SCRIPT = "bench/reference/train_gpt.py";
const STEP_SCRIPT = "bench/reference/torch_gpt.py";
const DATA_DIR = join("runs", ".vs-pytorch");

/** The GPT-2 small shape: layers, heads, width, block, batch, vocabulary. */
export const GPT2_SMALL = {
  n_layer: 12,
  n_head: 12,
  n_embd: 768,
  block_size: 256,
  batch_size: 4,
  vocab_size: 50257,
};

/** One process's figures. */
interface Timed {
  /** Which side and variant. */
  who: "ours" | "torch" | "torch passive";
  /** Wall-clock seconds from spawn to exit. */
  wall_s: number;
  /** Training tokens per second (ours: median of the logged intervals; PyTorch: over its training steps). */
  tokens_per_s: number;
  /** Last training loss. */
  final_loss: number;
  /** Last validation loss (mean over the eval batches). */
  final_val_loss: number;
  /** Peak resident set, MiB. */
  peak_rss_mb: number;
  /** 1-minute load average before the process started. */
  load_before: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function load1(): number {
  return round(loadavg()[0], 2);
}

function failed(what: string, r: RunOutput): Error {
  return new Error(
    `${what} exited with ${r.code}:\n${(r.stderr || r.stdout).trim().split("\n").slice(-8).join("\n")}`,
  );
}

/** The quickstart's train and validation ids as uint16 files for the PyTorch script; returns their vocabulary. */
async function exportTokens(config: Config): Promise<number> {
  const corpus = await loadCorpus(corpusOptions(config));
  const tokenizer = await familyTokenizer(config, corpus);
  if (tokenizer.vocabSize > 65536) throw new Error(`vocabulary ${tokenizer.vocabSize} does not fit uint16`);
  await mkdir(join(ROOT, DATA_DIR), { recursive: true });
  for (const split of ["train", "val"] as const) {
    const ids = tokenizer.encode(corpus[split]);
    const out = new Uint8Array(ids.length * 2), view = new DataView(out.buffer);
    for (let i = 0; i < ids.length; i++) view.setUint16(i * 2, ids[i], true);
    await writeFile(join(ROOT, DATA_DIR, `${split}.u16`), out);
  }
  return tokenizer.vocabSize;
}

/**
 * `deno task experiment` as shipped (`steps`, when given, sets train.max_steps); figures from its metrics.jsonl
 * (the run folder is removed after).
 */
async function ours(steps: number | undefined): Promise<Timed> {
  const load_before = load1();
  const sets = steps === undefined ? [] : ["--set", `train.max_steps=${steps}`];
  const r = await runOnce(["deno", "task", "experiment", ...sets]);
  if (r.code !== 0) throw failed("deno task experiment", r);
  const runDir = join(ROOT, r.stdout.trim().split("\n").at(-1)!);
  type Event = { split: string; loss: number; tokens_per_s?: number; rss_mb?: number };
  const events = (await readFile(join(runDir, "metrics.jsonl"), "utf8")).trim().split("\n")
    .map((l) => JSON.parse(l) as Event);
  await rm(runDir, { recursive: true, force: true });
  const train = events.filter((e) => e.split === "train"), val = events.filter((e) => e.split === "val");
  return {
    who: "ours",
    wall_s: round(r.s, 1),
    tokens_per_s: Math.round(median(train.map((e) => e.tokens_per_s!))),
    final_loss: train.at(-1)!.loss,
    final_val_loss: round(val.at(-1)!.loss, 4),
    peak_rss_mb: Math.max(...train.map((e) => e.rss_mb ?? 0)),
    load_before,
  };
}

/** bench/reference/train_gpt.py with the config's model, schedule and eval cadence. */
async function torch(config: Config, vocab: number, threads: number, passive: boolean): Promise<Timed> {
  const m = config.model, t = config.train;
  const load_before = load1();
  const r = await runOnce(
    [
      PYTHON,
      TRAIN_SCRIPT,
      ...["--train", join(DATA_DIR, "train.u16"), "--val", join(DATA_DIR, "val.u16"), "--vocab", `${vocab}`],
      ...[
        "--layers",
        `${m.n_layer}`,
        "--heads",
        `${m.n_head}`,
        "--dim",
        `${m.n_embd}`,
        "--ctx",
        `${m.block_size}`,
      ],
      ...["--batch", `${t.batch_size}`, "--steps", `${t.max_steps}`, "--lr", `${t.learning_rate}`],
      ...["--min-lr", `${t.min_learning_rate}`, "--warmup", `${t.warmup_steps}`, "--beta1", `${t.beta1}`],
      ...["--beta2", `${t.beta2}`, "--weight-decay", `${t.weight_decay}`, "--grad-clip", `${t.grad_clip}`],
      ...[
        "--eval-interval",
        `${t.eval_interval}`,
        "--eval-steps",
        `${t.eval_steps}`,
        "--threads",
        `${threads}`,
      ],
    ],
    passive ? { OMP_WAIT_POLICY: "PASSIVE" } : {},
  );
  if (r.code !== 0) throw failed(TRAIN_SCRIPT, r);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, number>;
  return {
    who: passive ? "torch passive" : "torch",
    wall_s: round(r.s, 1),
    tokens_per_s: Math.round(last.tokens_per_s),
    final_loss: last.final_loss,
    final_val_loss: last.final_val_loss,
    peak_rss_mb: Math.round(last.peak_rss_mb),
    load_before,
  };
}

/** One GPT-2-small measurement: tokens/s and peak RSS of a few training steps. */
interface StepFigures {
  /** Which side. */
  who: "ours" | "torch" | "torch passive";
  /** Training tokens per second over the timed steps. */
  tokens_per_s: number;
  /** Peak resident set, MiB. */
  peak_rss_mb: number;
  /** The backend that ran (ours). */
  backend?: string;
}

async function gpt2Step(who: StepFigures["who"], steps: number, threads: number): Promise<StepFigures> {
  const s = GPT2_SMALL;
  const argv = who === "ours"
    ? [
      ...[
        "deno",
        "run",
        "--allow-read",
        "--allow-env",
        openblasFfiFlag(),
        "bench/train_throughput.ts",
      ],
      ...["--n-layer", `${s.n_layer}`, "--n-head", `${s.n_head}`, "--n-embd", `${s.n_embd}`],
      ...[
        "--block-size",
        `${s.block_size}`,
        "--batch-size",
        `${s.batch_size}`,
        "--vocab-size",
        `${s.vocab_size}`,
      ],
      ...["--steps", `${steps}`, "--warmup", "1", "--threads", `${threads}`],
    ]
    : [
      ...[PYTHON, STEP_SCRIPT, "--layers", `${s.n_layer}`, "--heads", `${s.n_head}`, "--dim", `${s.n_embd}`],
      ...["--ctx", `${s.block_size}`, "--batch", `${s.batch_size}`, "--vocab", `${s.vocab_size}`],
      ...["--steps", `${steps}`, "--warmup", "1", "--threads", `${threads}`],
    ];
  const r = await runOnce(argv, who === "torch passive" ? { OMP_WAIT_POLICY: "PASSIVE" } : {});
  if (r.code !== 0) throw failed(argv.slice(0, 4).join(" "), r);
  const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, number | string>;
  return {
    who,
    tokens_per_s: round(Number(j.tokens_per_s), 1),
    peak_rss_mb: Math.round(Number(j.peak_rss_mb)),
    ...(who === "ours" ? { backend: String(j.backend) } : {}),
  };
}

/** The declaration of `bench/vs_pytorch.ts`. */
export const VS_PYTORCH = {
  name: "vs_pytorch",
  run: "deno run --allow-read --allow-write=runs,bench/results --allow-env --allow-sys=hostname,loadavg " +
    "--allow-run=deno,/usr/bin/python3 bench/vs_pytorch.ts",
  description:
    "Ours against PyTorch on this CPU: deno task experiment as shipped against bench/reference/train_gpt.py on " +
    "the same tokens, model, schedule and eval cadence (wall clock, tokens/s, final losses; PyTorch with " +
    "OMP_WAIT_POLICY=PASSIVE and the default, the faster counts), then one GPT-2-small training step " +
    "(tokens/s, peak RSS). Writes bench/results/vs-pytorch-<date>.{json,md}.",
  positionals: [],
  flags: {
    runs: { type: "integer", min: 0, default: 3, description: "quickstart rounds (0 = skip the quickstart)" },
    steps: {
      type: "integer",
      min: 1,
      defaultText: "the quickstart's (800)",
      description: "training steps of both sides (anything else is not the README command as shipped)",
    },
    threads: { type: "integer", min: 1, default: 2, description: "PyTorch's threads (ours uses every core)" },
    "gpt2-steps": {
      type: "integer",
      min: 0,
      default: 3,
      description: "timed GPT-2-small steps per side after one warm-up (0 = skip)",
    },
    out: { type: "string", default: "bench/results", description: "folder for the .json and .md" },
  },
  examples: [
    "deno run --allow-read --allow-write=runs,bench/results --allow-env --allow-sys=hostname,loadavg " +
    "--allow-run=deno,/usr/bin/python3 bench/vs_pytorch.ts --runs 3",
  ],
} as const satisfies Command;

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? "---" : "---:"))), ...rows.map(line)].join("\n");
}

if (import.meta.main) {
  await runMain(VS_PYTORCH, async ({ values }) => {
    for (const script of [TRAIN_SCRIPT, STEP_SCRIPT]) {
      const t = await torchStatus(script);
      if (!t.ok) throw new Error(`vs_pytorch: ${t.why}`);
    }
    const config = loadConfig(values.steps === undefined ? {} : { sets: [`train.max_steps=${values.steps}`] })
      .config;
    const started = new Date();
    const quick: Timed[][] = [];
    if (values.runs > 0) {
      const vocab = await exportTokens(config);
      console.log(`tokens: ${DATA_DIR}/train.u16, val.u16 (vocab ${vocab}); ${values.runs} rounds`);
      for (let i = 0; i < values.runs; i++) {
        const order = i % 2 === 0 ? ["ours", "torch", "torch passive"] : ["torch passive", "torch", "ours"];
        const round_: Timed[] = [];
        for (const who of order) {
          const f = who === "ours"
            ? await ours(values.steps)
            : await torch(config, vocab, values.threads, who !== "torch");
          console.log(`round ${i + 1} ${JSON.stringify(f)}`);
          round_.push(f);
        }
        quick.push(round_);
      }
    }
    const steps: StepFigures[] = [];
    if (values["gpt2-steps"] > 0) {
      for (const who of ["ours", "torch", "torch passive"] as const) {
        const f = await gpt2Step(who, values["gpt2-steps"], values.threads);
        console.log(`gpt2-small ${JSON.stringify(f)}`);
        steps.push(f);
      }
    }
    const md: string[] = [];
    if (quick.length > 0) {
      const rows = quick.map((r, i) => {
        const o = r.find((f) => f.who === "ours")!;
        const t = r.filter((f) => f.who !== "ours").sort((a, b) => a.wall_s - b.wall_s)[0];
        return [
          i + 1,
          `${o.wall_s} s`,
          `${t.wall_s} s (${t.who})`,
          `${round(t.wall_s / o.wall_s, 2)}×`,
          `${o.tokens_per_s} / ${t.tokens_per_s}`,
          `${o.final_val_loss} / ${t.final_val_loss}`,
          `${o.peak_rss_mb} / ${t.peak_rss_mb} MB`,
        ];
      });
      md.push(table(
        [
          "round",
          "ours wall",
          "PyTorch wall (faster)",
          "PyTorch ÷ ours",
          "tok/s ours / PyTorch",
          "val loss",
          "RSS",
        ],
        rows,
      ));
    }
    if (steps.length > 0) {
      const o = steps[0], t = steps.slice(1).sort((a, b) => b.tokens_per_s - a.tokens_per_s)[0];
      md.push(table(
        ["GPT-2 small step", "ours", `PyTorch (${t.who})`, "ours ÷ PyTorch"],
        [
          [
            "tokens/s",
            `${o.tokens_per_s} (${o.backend})`,
            t.tokens_per_s,
            `${round(o.tokens_per_s / t.tokens_per_s, 2)}×`,
          ],
          [
            "peak RSS",
            `${o.peak_rss_mb} MB`,
            `${t.peak_rss_mb} MB`,
            `${round(o.peak_rss_mb / t.peak_rss_mb, 2)}×`,
          ],
        ],
      ));
    }
    console.log(`\n${md.join("\n\n")}`);
    const name = `vs-pytorch-${started.toISOString().slice(0, 16).replace(/[:T]/g, "-")}`;
    await mkdir(values.out, { recursive: true });
    const record = { started: started.toISOString(), cores: navigator.hardwareConcurrency, quick, steps };
    await writeFile(join(values.out, `${name}.json`), `${JSON.stringify(record, null, 1)}\n`);
    await writeFile(join(values.out, `${name}.md`), `${md.join("\n\n")}\n`);
    console.log(`wrote ${join(values.out, name)}.json and .md`);
  });
}
