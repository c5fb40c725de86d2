/**
 * Ours against PyTorch, in one go on one machine: training throughput on shapes A, B, C (`train_throughput.ts`
 * against `torch_gpt.py`, both single-threaded) and generation on shape B (`generate_throughput.ts` against
 * `torch_gpt.py --gen`). Each training shape also gets the extra runs of `--extras`: ours with `--threads 2`
 * (same backend; our own 2-thread speed-up) and ours on `--backend blas --threads 1` (OpenBLAS gemm through FFI,
 * against torch). Per shape the order is ours 1 thread, ours 2 threads, ours blas, torch, so a change in machine
 * load hits all of them alike; `--rounds N` repeats that sequence N times and tabulates each run's median.
 *
 * ```sh
 * deno run -A bench/compare.ts [--shapes A,B,C] [--steps 5] [--gen 200] [--repeats 3] [--backend wasm] \
 *   [--extras threads2,blas] [--rounds 1] [--out bench/results]
 * ```
 *
 * Writes `<out>/compare-<YYYY-MM-DD-HHMM>.json` (every run: command line, load average, raw JSON line or error),
 * `.md` (the table) and `.svg` (torch ÷ ours per shape, an Observable Plot bar chart drawn into a linkedom
 * document), and prints the table. Where torch cannot be imported it records ours only and says so.
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, relative } from "node:path";
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { round } from "./_common.ts";
import { PYTHON, runOnce, torchStatus } from "./_spawn.ts";
import { type Command, type Parsed, runMain, UsageError } from "../lib/experiment/cli/_command.ts";

/** n_layer / n_head / n_embd / block / batch / vocab. */
export type ShapeName = "A" | "B" | "C";

/** A model and batch shape. */
export interface Shape {
  n_layer: number;
  n_head: number;
  n_embd: number;
  block_size: number;
  batch_size: number;
  vocab_size: number;
}

/** The three shapes of the README's figures. */
export const SHAPES: Record<ShapeName, Shape> = {
  A: { n_layer: 2, n_head: 4, n_embd: 128, block_size: 64, batch_size: 16, vocab_size: 96 },
  B: { n_layer: 4, n_head: 4, n_embd: 256, block_size: 128, batch_size: 8, vocab_size: 512 },
  C: { n_layer: 6, n_head: 6, n_embd: 384, block_size: 256, batch_size: 8, vocab_size: 4096 },
};

/** The shape as `2 / 4 / 128 / 64 / 16 / 96`. */
export function shapeText(s: Shape): string {
  return [s.n_layer, s.n_head, s.n_embd, s.block_size, s.batch_size, s.vocab_size].join(" / ");
}

/** The path of torch_gpt.py as passed to python, relative to the repository root. */
export const TORCH_SCRIPT = "bench/reference/torch_gpt.py";

/** An extra training run per shape: ours with `--threads 2`, or ours on `--backend blas --threads 1`. */
export type ExtraRun = "threads2" | "blas";

/** The extra runs `--extras` accepts, in the order they run. */
export const EXTRA_RUNS: readonly ExtraRun[] = ["threads2", "blas"];

/** Parsed command line. */
export interface CompareArgs {
  shapes: ShapeName[];
  /** Timed training steps for A and B; C gets ceil(steps / 2). */
  steps: number;
  /** Generated tokens for the shape-B generation bench; 0 skips it. */
  gen: number;
  /** Timed generation runs per mode (ours; torch_gpt.py always does 3). */
  repeats: number;
  /** Our kernel backend. */
  backend: string;
  /** Extra training runs per shape (empty for `--extras none`), in {@link EXTRA_RUNS} order. */
  extras: ExtraRun[];
  /** Rounds of the training runs per shape; the table shows each run's median round. */
  rounds: number;
  /** Output folder. */
  out: string;
}

/** The declaration of `bench/compare.ts`. */
export const COMPARE = {
  name: "compare",
  run: "deno run -A bench/compare.ts",
  description: "Ours against PyTorch, in one go on one machine: training throughput on shapes A, B, C " +
    "(train_throughput.ts against torch_gpt.py, both single-threaded) and generation on shape B " +
    "(generate_throughput.ts against torch_gpt.py --gen), each training shape with the extra runs of --extras. " +
    "Writes <out>/compare-<YYYY-MM-DD-HHMM>.json, .md and .svg and prints the table. Where torch cannot be " +
    "imported it records ours only and says so.",
  positionals: [],
  flags: {
    shapes: { type: "string", default: "A,B,C", value: "LIST", description: "training shapes to compare" },
    steps: {
      type: "integer",
      min: 1,
      default: 5,
      description: "timed training steps for A and B (C gets ceil(N/2), warm-up 1)",
    },
    gen: {
      type: "integer",
      min: 0,
      default: 200,
      description: "tokens for the shape-B generation bench, 0 to skip",
    },
    repeats: {
      type: "integer",
      min: 1,
      default: 3,
      description: "timed generation runs per mode, ours (torch_gpt.py always does 3)",
    },
    rounds: {
      type: "integer",
      min: 1,
      default: 1,
      description: "rounds of every training run per shape, interleaved; the table shows medians",
    },
    backend: {
      type: "string",
      choices: ["auto", "js", "wasm", "blas"],
      default: "wasm",
      value: "NAME",
      description: "our kernel backend",
    },
    extras: {
      type: "string",
      default: "threads2,blas",
      value: "LIST",
      description:
        "extra training runs per shape: comma list of threads2 (ours, --threads 2) and blas (ours, " +
        "--backend blas --threads 1), or none",
    },
    out: { type: "string", default: "bench/results", value: "DIR", description: "output folder" },
  },
  examples: [
    "deno run -A bench/compare.ts",
    "deno run -A bench/compare.ts --shapes B --rounds 3 --extras none",
  ],
} as const satisfies Command;

/**
 * Parses the value of `--extras`: a comma list of {@link EXTRA_RUNS} names, or `none` alone. Returns them in
 * run order; throws a UsageError naming `--extras` on an unknown or repeated name, an empty list, or `none` mixed
 * with names.
 */
export function parseExtras(raw: string): ExtraRun[] {
  const names = raw.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (names.length === 0) throw new UsageError(`--extras is empty; give ${EXTRA_RUNS.join(", ")} or none`);
  if (names.includes("none")) {
    if (names.length > 1) {
      throw new UsageError(`--extras: "none" cannot be combined with other runs, got "${raw}"`);
    }
    return [];
  }
  for (const n of names) {
    if (!(EXTRA_RUNS as readonly string[]).includes(n)) {
      throw new UsageError(`--extras: unknown run "${n}" (known: ${EXTRA_RUNS.join(", ")}, none)`);
    }
  }
  if (new Set(names).size !== names.length) throw new UsageError(`--extras lists a run twice: "${raw}"`);
  return EXTRA_RUNS.filter((e) => names.includes(e));
}

/** The bench's arguments from its parsed command line; throws a UsageError naming a bad flag. */
export function compareArgs({ values, typed }: Parsed<typeof COMPARE>): CompareArgs {
  const shapes = values.shapes.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "");
  for (const s of shapes) {
    if (!(s in SHAPES)) {
      throw new UsageError(
        `${typed("shapes")}: unknown shape "${s}" (known: ${Object.keys(SHAPES).join(", ")})`,
      );
    }
  }
  if (new Set(shapes).size !== shapes.length) {
    throw new UsageError(`${typed("shapes")} lists a shape twice: "${values.shapes}"`);
  }
  return {
    shapes: shapes as ShapeName[],
    extras: parseExtras(values.extras),
    steps: values.steps,
    gen: values.gen,
    repeats: values.repeats,
    rounds: values.rounds,
    backend: values.backend,
    out: values.out,
  };
}

/** One subprocess and what came of it. */
export interface RunRecord {
  /** `ours` or `torch`. */
  impl: "ours" | "torch";
  /** `train A`, `train A, 2 threads`, `train A, blas`, `generate B`, … */
  what: string;
  /** Which extra run of `--extras` this is; absent for the base runs (ours 1 thread, torch, generation). */
  variant?: ExtraRun;
  /** Program and arguments, run from the repository root. */
  argv: string[];
  /** Flags our script rejected (unknown option) and that were dropped before a retry. */
  dropped_flags?: string[];
  /** 1-minute load average before and after the run. */
  loadavg_before: number;
  loadavg_after: number;
  /** Wall time of the subprocess. */
  wall_s: number;
  /** The parsed JSON line the bench printed, when it succeeded. */
  result?: Record<string, unknown>;
  /** The end of stderr of a run that succeeded but printed there (e.g. the blas fallback warning). */
  stderr_tail?: string;
  /** Why it failed: exit status and the end of stderr. */
  error?: string;
}

function load1(): number {
  return round(loadavg()[0], 2);
}

function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n").filter((l) => l.trim() !== "");
  const last = lines.at(-1);
  if (last === undefined) throw new Error("printed nothing on stdout");
  return JSON.parse(last) as Record<string, unknown>;
}

/**
 * Runs `base` plus the `optional` flag pairs; when the script rejects one of them as an unknown option (an older
 * version of the script), drops it and runs again.
 */
async function runBench(
  impl: RunRecord["impl"],
  what: string,
  base: string[],
  optional: [string, string][] = [],
  variant?: ExtraRun,
): Promise<RunRecord> {
  const flags = [...optional];
  const dropped: string[] = [];
  for (;;) {
    const argv = [...base, ...flags.flat()];
    console.error(`[compare] ${impl} ${what}: ${argv.join(" ")}`);
    const before = load1();
    const r = await runOnce(argv);
    const rec: RunRecord = {
      impl,
      what,
      ...(variant !== undefined ? { variant } : {}),
      argv,
      ...(dropped.length > 0 ? { dropped_flags: dropped } : {}),
      loadavg_before: before,
      loadavg_after: load1(),
      wall_s: round(r.s, 1),
    };
    if (r.code === 0) {
      const err = r.stderr.trim();
      if (err !== "") rec.stderr_tail = err.split("\n").slice(-6).join("\n");
      try {
        rec.result = lastJsonLine(r.stdout);
        console.error(`[compare]   done in ${rec.wall_s} s`);
        return rec;
      } catch (e) {
        rec.error = `exit 0 but no JSON line: ${e instanceof Error ? e.message : String(e)}`;
        return rec;
      }
    }
    // an older tree's scripts (node:util parseArgs) or ours: an optional flag the script does not know
    const unknown = /(?:Unknown option '|unknown flag )(--[\w-]+)/.exec(r.stderr)?.[1];
    const i = flags.findIndex(([f]) => f === unknown);
    if (i >= 0) {
      console.error(`[compare]   ${unknown} not accepted: retrying without it`);
      dropped.push(flags[i].join(" "));
      flags.splice(i, 1);
      continue;
    }
    rec.error = `exit ${r.code}: ${r.stderr.trim().split("\n").slice(-6).join("\n")}`;
    console.error(`[compare]   FAILED (${rec.error})`);
    return rec;
  }
}

function trainSteps(name: ShapeName, steps: number): { steps: number; warmup: number } {
  return name === "C" ? { steps: Math.ceil(steps / 2), warmup: 1 } : { steps, warmup: 2 };
}

/** `deno run` with the permissions of our benches (blas loads OpenBLAS through FFI). */
function denoRun(backend: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--allow-read",
    "--allow-env",
    ...(backend === "blas" ? ["--allow-ffi"] : []),
  ];
}

function oursTrainArgv(s: Shape, steps: number, warmup: number, backend: string): string[] {
  return [
    ...denoRun(backend),
    "bench/train_throughput.ts",
    ...["--n_layer", s.n_layer, "--n_head", s.n_head, "--n_embd", s.n_embd, "--block_size", s.block_size]
      .map(String),
    ...["--batch_size", s.batch_size, "--vocab_size", s.vocab_size, "--steps", steps, "--warmup", warmup]
      .map(String),
  ];
}

function torchArgv(s: Shape, extra: (string | number)[]): string[] {
  return [
    PYTHON,
    TORCH_SCRIPT,
    ...["--layers", s.n_layer, "--heads", s.n_head, "--dim", s.n_embd, "--ctx", s.block_size, "--batch"]
      .map(String),
    ...[s.batch_size, "--vocab", s.vocab_size, "--threads", 1, ...extra].map(String),
  ];
}

function oursGenArgv(s: Shape, tokens: number, repeats: number, backend: string): string[] {
  return [
    ...denoRun(backend),
    "bench/generate_throughput.ts",
    ...["--n_layer", s.n_layer, "--n_head", s.n_head, "--n_embd", s.n_embd, "--block_size", s.block_size]
      .map(String),
    ...["--vocab_size", s.vocab_size, "--tokens", tokens, "--prompt", 1, "--repeats", repeats, "--threads", 1]
      .map(
        String,
      ),
  ];
}

/** What one run measured. */
export interface Side {
  tokens_per_s: number;
  peak_rss_mb: number;
  params?: number;
}

/** One line of the table. */
export interface Row {
  /** `A`, `B gen, KV cache`, … */
  label: string;
  kind: "train" | "generate";
  /** The shape, `2 / 4 / 128 / 64 / 16 / 96`. */
  config: string;
  /** Ours, one thread, `--backend` of the compare. */
  ours?: Side;
  torch?: Side;
  /** torch ÷ ours tokens/s, when both ran. */
  ratio?: number;
  /** Training only, `--extras threads2`: ours with `--threads 2`, when it ran on 2 threads. */
  ours_2t?: Side;
  /** Ours 2 threads ÷ ours 1 thread tokens/s (our own speed-up), when both ran. */
  speedup_2t?: number;
  /** Training only, `--extras blas`: ours on `--backend blas --threads 1`, when it ran on blas (no fallback). */
  ours_blas?: Side;
  /** torch ÷ ours-on-blas tokens/s, when both ran. */
  ratio_blas?: number;
  /** Set when a run failed or the two implementations disagree on something that should match. */
  note?: string;
}

function num(o: Record<string, unknown> | undefined, ...path: string[]): number | undefined {
  let v: unknown = o;
  for (const k of path) {
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  }
  return typeof v === "number" ? v : undefined;
}

function side(rec: RunRecord | undefined, tpsPath: string[]): Side | undefined {
  const tps = num(rec?.result, ...tpsPath), rss = num(rec?.result, "peak_rss_mb");
  if (tps === undefined || rss === undefined) return undefined;
  return { tokens_per_s: tps, peak_rss_mb: rss, params: num(rec?.result, "params") };
}

/** The base and extra runs of one training shape (or the generation runs, which have no extras). */
export interface ShapeRuns {
  ours?: RunRecord;
  torch?: RunRecord;
  /** Ours with `--threads 2`. */
  threads2?: RunRecord;
  /** Ours on `--backend blas --threads 1`. */
  blas?: RunRecord;
}

/** The run of median tokens/s among rounds of the same run (failed ones count as slowest); undefined if none ran. */
export function medianRun(runs: (RunRecord | undefined)[]): RunRecord | undefined {
  const ran = runs.filter((r): r is RunRecord => r !== undefined);
  const tps = (r: RunRecord) => num(r.result, "tokens_per_s") ?? -Infinity;
  const sorted = [...ran].sort((x, y) => tps(x) - tps(y));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Fills the 2-thread and blas fields of a training row from its extra runs; returns the notes they give. */
function addExtras(row: Row, runs: ShapeRuns, tpsPath: string[]): string[] {
  const notes: string[] = [];
  const t2 = runs.threads2;
  if (t2?.error !== undefined) notes.push("ours 2T failed");
  const t2Side = side(t2, tpsPath);
  if (t2Side !== undefined) {
    const threads = t2?.result?.threads;
    if (threads !== 2) {
      notes.push(`2T run reported ${threads === undefined ? "no thread count" : `${threads} thread(s)`}`);
    } else {
      row.ours_2t = t2Side;
      if (row.ours) row.speedup_2t = round(t2Side.tokens_per_s / row.ours.tokens_per_s, 2);
    }
  }
  const bl = runs.blas;
  if (bl?.error !== undefined) notes.push("ours blas failed");
  const blSide = side(bl, tpsPath);
  if (blSide !== undefined) {
    const backend = bl?.result?.backend;
    if (backend !== "blas") {
      const why = /backend blas: (.*); using/.exec(bl?.stderr_tail ?? "")?.[1];
      notes.push(`blas unavailable${why !== undefined ? ` (${why})` : ""}: ran on ${String(backend ?? "?")}`);
    } else {
      row.ours_blas = blSide;
      if (row.torch) row.ratio_blas = round(row.torch.tokens_per_s / blSide.tokens_per_s, 2);
    }
  }
  return notes;
}

function makeRow(
  label: string,
  kind: Row["kind"],
  shape: Shape,
  runs: ShapeRuns,
  tpsPath: string[],
): Row {
  const { ours, torch } = runs;
  const row: Row = {
    label,
    kind,
    config: shapeText(shape),
    ours: side(ours, tpsPath),
    torch: side(torch, tpsPath),
  };
  const notes: string[] = [];
  if (ours?.error !== undefined) notes.push("ours failed");
  if (torch?.error !== undefined) notes.push("torch failed");
  if (row.ours && row.torch) {
    row.ratio = round(row.torch.tokens_per_s / row.ours.tokens_per_s, 2);
    if (
      row.ours.params !== undefined && row.torch.params !== undefined && row.ours.params !== row.torch.params
    ) {
      notes.push(`params differ: ours ${row.ours.params}, torch ${row.torch.params}`);
    }
  }
  if (kind === "train") notes.push(...addExtras(row, runs, tpsPath));
  if (kind === "generate") {
    for (const [who, rec] of [["ours", ours], ["torch", torch]] as const) {
      if (rec?.result !== undefined && rec.result.same_tokens !== true) {
        notes.push(`${who}: cache changed tokens`);
      }
    }
  }
  if (notes.length > 0) row.note = notes.join("; ");
  return row;
}

/**
 * Table rows from the run records (training shapes in order, then the generation rows). A training shape's
 * extra runs fill `ours_2t` / `speedup_2t` and `ours_blas` / `ratio_blas`; a 2-thread run that did not report 2
 * threads, or a blas run that reported another backend (OpenBLAS missing: it fell back), leaves them empty and
 * adds a note.
 */
export function buildRows(
  train: ({ name: ShapeName } & ShapeRuns)[],
  gen?: { ours?: RunRecord; torch?: RunRecord },
): Row[] {
  const rows = train.map((t) => makeRow(t.name, "train", SHAPES[t.name], t, ["tokens_per_s"]));
  if (gen) {
    const b1 = { ...SHAPES.B, batch_size: 1 };
    const g = { ours: gen.ours, torch: gen.torch };
    rows.push(
      makeRow("B gen, KV cache", "generate", b1, g, ["kv_cache", "tokens_per_s"]),
      makeRow("B gen, no cache", "generate", b1, g, ["no_cache", "tokens_per_s"]),
    );
  }
  return rows;
}

function fmtTps(v: number | undefined): string {
  if (v === undefined) return "–";
  return v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toPrecision(3);
}

function fmtMb(v: number | undefined): string {
  return v === undefined ? "–" : `${Math.round(v).toLocaleString("en-US")} MB`;
}

function fmtRatio(v: number | undefined): string {
  return v === undefined ? "–" : `${v < 10 ? v.toFixed(2) : v.toFixed(1)}×`;
}

/**
 * The Markdown table: shape, tokens/s of both, torch ÷ ours, then for each of `extras` its columns ("ours 2T
 * tok/s", "2T ÷ 1T"; "ours blas tok/s", "torch ÷ blas"; blank on generation rows, "–" where the run failed or
 * fell back), then peak RSS of both (and notes when any). Without extras it is the 1-thread table alone.
 */
export function markdownTable(rows: readonly Row[], extras: readonly ExtraRun[] = []): string {
  const withNotes = rows.some((r) => r.note !== undefined);
  const t2 = extras.includes("threads2"), blas = extras.includes("blas");
  const head = ["shape", "config", "ours tok/s", "torch tok/s", "torch ÷ ours"];
  if (t2) head.push("ours 2T tok/s", "2T ÷ 1T");
  if (blas) head.push("ours blas tok/s", "torch ÷ blas");
  head.push("ours peak RSS", "torch peak RSS");
  const align = head.map((_, i) => i < 2 ? "---" : "---:");
  if (withNotes) head.push("note"), align.push("---");
  const lines = [`| ${head.join(" | ")} |`, `| ${align.join(" | ")} |`];
  for (const r of rows) {
    const train = r.kind === "train";
    const cells = [
      r.label,
      r.config,
      fmtTps(r.ours?.tokens_per_s),
      fmtTps(r.torch?.tokens_per_s),
      fmtRatio(r.ratio),
    ];
    if (t2) cells.push(train ? fmtTps(r.ours_2t?.tokens_per_s) : "", train ? fmtRatio(r.speedup_2t) : "");
    if (blas) cells.push(train ? fmtTps(r.ours_blas?.tokens_per_s) : "", train ? fmtRatio(r.ratio_blas) : "");
    cells.push(fmtMb(r.ours?.peak_rss_mb), fmtMb(r.torch?.peak_rss_mb));
    if (withNotes) cells.push(r.note ?? "");
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** A bar series of the chart: torch ÷ ours per row, torch ÷ ours-on-blas per training row. */
type Series = Row["kind"] | "blas";
const SERIES_COLORS: Record<Series, string> = { train: "#4269d0", blas: "#3ca951", generate: "#efb118" };
const SERIES_LABELS: Record<Series, string> = {
  train: "training step",
  blas: "training step, ours on blas",
  generate: "generation, batch 1",
};

function svgEl(doc: Document, name: string, attrs: Record<string, string | number>, text?: string): Element {
  const e = doc.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.appendChild(doc.createTextNode(text));
  return e;
}

/**
 * A bar per row that has a ratio: torch ÷ ours tokens/s, coloured by kind (training or generation), the value
 * written above each bar and a dashed rule at 1× (parity). A training row with a blas ratio gets a second bar
 * (`A · blas`, torch ÷ ours on blas) right after its own, in a third colour. Categorical colours with a swatch
 * legend drawn into the top margin, so the figure is one standalone `<svg>`. Returns null when no row has a
 * ratio. The figure is at least `width` wide, wider when there are more than 6 bars.
 */
export function ratioChartSvg(rows: readonly Row[], title: string, width = 720, height = 340): string | null {
  const data: { label: string; ratio: number; series: Series; color: string; text: string }[] = [];
  for (const r of rows) {
    const bars: [string, number | undefined, Series][] = [
      [r.label, r.ratio, r.kind],
      [`${r.label} · blas`, r.ratio_blas, "blas"],
    ];
    for (const [label, ratio, series] of bars) {
      if (ratio === undefined) continue;
      data.push({ label, ratio, series, color: SERIES_COLORS[series], text: fmtRatio(ratio) });
    }
  }
  if (data.length === 0) return null;
  // ~104 px per bar keeps the x labels ("B gen, no cache") apart when the blas bars are added.
  width = Math.max(width, 76 + 104 * data.length);
  const doc = parseHTML("<!doctype html><html><head></head><body></body></html>")
    .document as unknown as Document;
  const marginLeft = 56, marginTop = 66;
  const svg = Plot.plot({
    document: doc,
    width,
    height,
    marginTop,
    marginLeft,
    marginRight: 20,
    marginBottom: 40,
    style: { background: "white", color: "#222", fontSize: "11px" },
    x: { domain: data.map((d) => d.label), label: null, padding: 0.3 },
    y: { label: null, grid: true, zero: true, nice: true },
    color: { type: "identity" },
    marks: [
      Plot.barY(data, { x: "label", y: "ratio", fill: "color", title: (d) => `${d.label}: ${d.text}` }),
      Plot.text(data, {
        x: "label",
        y: "ratio",
        text: "text",
        dy: -7,
        fontSize: 11,
        fill: "#222",
        stroke: "white",
        strokeWidth: 3,
        paintOrder: "stroke",
      }),
      Plot.ruleY([1], { stroke: "#555", strokeDasharray: "4,3" }),
      Plot.ruleY([0]),
    ],
  }) as unknown as Element;
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const g = svgEl(doc, "g", { "aria-label": "legend", "text-anchor": "start", "font-size": 11 });
  g.appendChild(svgEl(doc, "text", { x: marginLeft, y: 16, "font-size": 13, "font-weight": 600 }, title));
  let x = marginLeft;
  const shown = (["train", "blas", "generate"] as const).filter((k) => data.some((d) => d.series === k));
  for (const k of shown) {
    g.appendChild(svgEl(doc, "rect", { x, y: 26, width: 12, height: 12, fill: SERIES_COLORS[k] }));
    g.appendChild(svgEl(doc, "text", { x: x + 18, y: 32, dy: "0.32em" }, SERIES_LABELS[k]));
    x += 18 + SERIES_LABELS[k].length * 6.4 + 20;
  }
  g.appendChild(
    svgEl(doc, "line", { x1: x, x2: x + 18, y1: 32, y2: 32, stroke: "#555", "stroke-dasharray": "4,3" }),
  );
  g.appendChild(svgEl(doc, "text", { x: x + 24, y: 32, dy: "0.32em" }, "parity (1×)"));
  g.appendChild(svgEl(doc, "text", { x: 6, y: marginTop - 8 }, "↑ PyTorch ÷ ours, tokens/s"));
  svg.appendChild(g);
  return svg.outerHTML + "\n";
}

/** `d` in UTC as `YYYY-MM-DD-HHMM`, the stamp of result file names. */
export function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}${
    p(d.getUTCMinutes())
  }`;
}

/** Runs everything, writes the three files, prints the table. */
export async function compare(a: CompareArgs): Promise<{ rows: Row[]; files: string[]; failed: boolean }> {
  const started = new Date();
  const torch = await torchStatus(TORCH_SCRIPT);
  if (!torch.ok) console.error(`[compare] PyTorch unavailable (${torch.why}): recording ours only`);
  const oursFlags: [string, string][] = [["--backend", a.backend], ["--threads", "1"]];
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    logical_cpus: cpus().length,
    loadavg_start: loadavg().map((v) => round(v, 2)),
    deno: Deno.version.deno,
  };

  const train: ({ name: ShapeName } & ShapeRuns)[] = [];
  const allRuns: RunRecord[] = [];
  for (const name of a.shapes) {
    const s = SHAPES[name];
    const { steps, warmup } = trainSteps(name, a.steps);
    const rounds: ShapeRuns[] = [];
    for (let round = 0; round < a.rounds; round++) {
      // Order per shape and round: ours 1 thread, ours 2 threads, ours blas, torch.
      const ours = await runBench(
        "ours",
        `train ${name}`,
        oursTrainArgv(s, steps, warmup, a.backend),
        oursFlags,
      );
      const threads2 = a.extras.includes("threads2")
        ? await runBench(
          "ours",
          `train ${name}, 2 threads`,
          oursTrainArgv(s, steps, warmup, a.backend),
          [["--backend", a.backend], ["--threads", "2"]],
          "threads2",
        )
        : undefined;
      // With --backend blas the base run already is the blas run.
      const blas = !a.extras.includes("blas") ? undefined : a.backend === "blas" ? ours : await runBench(
        "ours",
        `train ${name}, blas`,
        oursTrainArgv(s, steps, warmup, "blas"),
        [["--backend", "blas"], ["--threads", "1"]],
        "blas",
      );
      const t = torch.ok
        ? await runBench("torch", `train ${name}`, torchArgv(s, ["--steps", steps, "--warmup", warmup]))
        : undefined;
      rounds.push({ ours, threads2, blas, torch: t });
      for (const r of [ours, threads2, blas, t]) if (r !== undefined && !allRuns.includes(r)) allRuns.push(r);
    }
    const pick = (k: keyof ShapeRuns) => medianRun(rounds.map((r) => r[k]));
    train.push({
      name,
      ours: pick("ours"),
      threads2: pick("threads2"),
      blas: pick("blas"),
      torch: pick("torch"),
    });
  }
  let gen: { ours?: RunRecord; torch?: RunRecord } | undefined;
  if (a.gen > 0) {
    const argv = oursGenArgv(SHAPES.B, a.gen, a.repeats, a.backend);
    const ours = await runBench("ours", "generate B", argv, [["--backend", a.backend]]);
    const t = torch.ok
      ? await runBench("torch", "generate B", torchArgv(SHAPES.B, ["--gen", a.gen, "--prompt", 1]))
      : undefined;
    gen = { ours, torch: t };
  }
  const rows = buildRows(train, gen);
  const records = [
    ...new Set([...allRuns, gen?.ours, gen?.torch]),
  ].filter((r): r is RunRecord => r !== undefined);
  const finished = new Date();
  const torchVersion = records.find((r) => r.impl === "torch" && r.result)?.result?.torch;
  const oursBackend = records.find((r) => r.impl === "ours" && r.variant === undefined && r.result?.backend)
    ?.result?.backend;

  const base = join(a.out, `compare-${stamp(started)}`);
  const cStep = trainSteps("C", a.steps);
  const settings = [
    `Training: ${a.steps} timed steps after 2 warm-up steps (C: ${cStep.steps} after ${cStep.warmup})`,
    ...(a.gen > 0
      ? [`generation: ${a.gen} tokens from a 1-token prompt, best of ${a.repeats} (torch: 3)`]
      : []),
  ];
  const backend = String(oursBackend ?? a.backend);
  const when = started.toISOString().slice(0, 16).replace("T", " ");
  const loads = `${machine.loadavg_start[0]} at the start, ${load1()} at the end`;
  const torchText = torch.ok
    ? `PyTorch ${torchVersion ?? "?"} fp32, \`--threads 1\`.`
    : `**PyTorch unavailable (${torch.why}): ours only.**`;
  const extraText = a.extras.map((e) =>
    e === "threads2"
      ? `ours with \`--threads 2\` on the same backend (2T ÷ 1T: our own speed-up)`
      : `ours on \`--backend blas --threads 1\` (OpenBLAS gemm through FFI; torch ÷ blas)`
  );
  const order = [
    "ours 1 thread",
    ...a.extras.map((e) => e === "threads2" ? "ours 2 threads" : "ours blas"),
    ...(torch.ok ? ["torch"] : []),
  ];
  const extrasSentence =
    (extraText.length > 0
      ? ` Each training shape also ran ${extraText.join(" and ")}; per shape the order was ` +
        `${order.join(", ")}.`
      : "") +
    (a.rounds > 1
      ? ` Every training run ran ${a.rounds} rounds, interleaved; the table shows each run's median round.`
      : "");
  const md = [
    `# Ours vs PyTorch, ${when} UTC`,
    "",
    `Machine: ${machine.cpu}, ${machine.logical_cpus} logical CPUs, shared with other work (1-minute load ` +
    `average ${loads}). Deno ${machine.deno}, ours on the \`${backend}\` backend, one thread; ${torchText}` +
    extrasSentence,
    "",
    `Shapes are n_layer / n_head / n_embd / block / batch / vocab. ${settings.join("; ")}.`,
    "",
    markdownTable(rows, a.extras),
    "",
  ].join("\n");
  const svg = ratioChartSvg(
    rows,
    `PyTorch ÷ ours, tokens/s, 1 thread (${when.slice(0, 10)}, ${backend} backend)`,
  );

  await mkdir(a.out, { recursive: true });
  const files = [`${base}.json`, `${base}.md`];
  await writeFile(
    `${base}.json`,
    JSON.stringify(
      {
        started: started.toISOString(),
        finished: finished.toISOString(),
        machine,
        torch: torch.ok ? { available: true, version: torchVersion } : { available: false, why: torch.why },
        args: a,
        runs: records,
        rows,
      },
      null,
      2,
    ) + "\n",
  );
  await writeFile(`${base}.md`, md);
  if (svg !== null) {
    await writeFile(`${base}.svg`, svg);
    files.push(`${base}.svg`);
  } else {
    console.error("[compare] no ratios (torch did not run): no SVG written");
  }
  // Leave the outputs as `deno fmt` would, so the repository's `deno fmt --check` stays clean (best effort).
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...files],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (fmt.code !== 0) {
    console.error(`[compare] deno fmt of the outputs failed: ${new TextDecoder().decode(fmt.stderr)}`);
  }
  return { rows, files, failed: records.some((r) => r.error !== undefined) };
}

if (import.meta.main) {
  await runMain(COMPARE, async (parsed) => {
    const args = compareArgs(parsed);
    const { rows, files, failed } = await compare(args);
    console.log(markdownTable(rows, args.extras));
    console.log(
      `\nwrote ${
        files.map((f) => relative(Deno.cwd(), f).startsWith("..") ? f : relative(Deno.cwd(), f)).join(", ")
      }`,
    );
    if (failed) Deno.exit(1);
  });
}
