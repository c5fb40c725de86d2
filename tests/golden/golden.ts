/**
 * The golden file of the redesign: every shipped config, trained for 20 steps on each kernel backend and thread
 * count, must give the same numbers before and after any structural change.
 *
 * For each case the run's metrics.jsonl (wall-clock and memory fields removed), samples.txt and the final
 * model.safetensors are hashed (sha256). `golden.json` beside this file holds the hashes; `golden_test.ts`
 * compares a fresh run against it.
 *
 * What a case overrides, and why:
 * - `train.max_steps=20`, `train.eval_interval=10`, `train.eval_steps=2`, `train.log_interval=5`,
 *   `train.log_interval_detail=10` (when on), `train.checkpoint_interval=20`, `train.sample_tokens` ≤ 20: twenty
 *   steps that still evaluate, sample, log per-tensor detail and write a checkpoint.
 * - Small (all but the `full` cases): at most 2 layers (and decoder layers), heads of at most 16 wide, blocks of at
 *   most 64 tokens, batches of at most 4, BPE vocabularies of at most 512, `train.eval_steps=1`: each config keeps
 *   its family, variants, precision, accumulation and schedule, and the whole set runs in about a minute.
 * - `data.corpus="code"` where a config names a corpus that must be fetched (sotu): no network in tests.
 * - `run.backend`, `run.threads`: the case's backend and thread count. The `js` backend has no threads, so it runs
 *   once; `wasm` runs on 1 and on 2 threads. `blas` (the default where OpenBLAS is installed) runs the full
 *   quickstart on 1 and 2 threads; its digits depend on OpenBLAS's build and the CPU's kernels, so its entries
 *   record both (`machine`) and are compared only on a machine that matches (elsewhere they are skipped).
 *
 * Regenerate (only when a change is meant to change numbers, and say so in the commit):
 * `deno run -A tests/golden/golden.ts --write`; `--write configs/variants/new.jsonc` adds (or replaces) only the
 * cases of the configs named. Without `--write` it prints each case's hash and whether it matches.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { blasLibraryPath } from "../../lib/kernels/blas.ts";

/** Fields of a metrics event that depend on the clock or the process's memory, not on the numbers. */
export const VOLATILE_FIELDS: readonly string[] = ["elapsed_s", "tokens_per_s", "rss_mb"];

/** One golden case: a shipped config on one backend and thread count. */
export interface GoldenCase {
  /** The config file, relative to the repository root. */
  config: string;
  /** Kernel backend. */
  backend: "js" | "wasm" | "blas";
  /** Kernel threads (wasm only; js is always 1). */
  threads: number;
  /** Train at the config's own size instead of the small one (see {@link caseSets}). */
  full?: boolean;
}

/** The key of a case in golden.json. */
export function caseKey(c: GoldenCase): string {
  return `${c.config} ${c.backend} ${c.threads}${c.full ? " full" : ""}`;
}

/** Every shipped run config (sweep files are not run configs), sorted. */
export async function shippedConfigs(root = "configs"): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "sweeps") await walk(p);
      } else if (e.name.endsWith(".jsonc")) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * Every case: each config, small, on js (1 thread) and wasm (1 and 2 threads); and the quickstart at its own size
 * on wasm and blas (1 and 2 threads), where the gemm's K blocks and the 512-wide MLP come in.
 */
export async function goldenCases(): Promise<GoldenCase[]> {
  const cases: GoldenCase[] = [
    { config: "configs/quickstart.jsonc", backend: "wasm", threads: 1, full: true },
    { config: "configs/quickstart.jsonc", backend: "wasm", threads: 2, full: true },
    { config: "configs/quickstart.jsonc", backend: "blas", threads: 1, full: true },
    { config: "configs/quickstart.jsonc", backend: "blas", threads: 2, full: true },
  ];
  for (const config of await shippedConfigs()) {
    cases.push({ config, backend: "js", threads: 1 });
    cases.push({ config, backend: "wasm", threads: 1 });
    cases.push({ config, backend: "wasm", threads: 2 });
  }
  return cases;
}

/** The overrides that turn a shipped config into a 20-step golden case. */
export function caseSets(c: GoldenCase, outDir: string): string[] {
  const base = loadConfig({ path: c.config }).config;
  const t = base.train;
  const sets = [
    "train.max_steps=20",
    "train.eval_interval=10",
    "train.eval_steps=2",
    "train.log_interval=5",
    `train.log_interval_detail=${t.log_interval_detail === 0 ? 0 : 10}`,
    "train.checkpoint_interval=20",
    `train.sample_tokens=${Math.min(t.sample_tokens, 20)}`,
    `run.backend=${c.backend}`,
    `run.threads=${c.threads}`,
    `run.out_dir=${outDir}`,
  ];
  if (base.data.paths.length === 0 && base.data.corpus !== "code") sets.push("data.corpus=code");
  if (!c.full) {
    const m = base.model;
    const head = Math.min(m.n_embd / m.n_head, 16);
    sets.push(
      `model.n_layer=${Math.min(m.n_layer, 2)}`,
      `model.n_embd=${m.n_head * head}`,
      `model.block_size=${Math.min(m.block_size, 64)}`,
      `train.batch_size=${Math.min(t.batch_size, 4)}`,
      "train.eval_steps=1",
      `data.vocab_size=${Math.min(base.data.vocab_size, 512)}`,
    );
    if (m.n_decoder_layer !== null) sets.push(`model.n_decoder_layer=${Math.min(m.n_decoder_layer, 2)}`);
    if (m.mlp_hidden !== null) sets.push(`model.mlp_hidden=${Math.min(m.mlp_hidden, 4 * m.n_head * head)}`);
  }
  return sets;
}

function withoutVolatile(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVolatile);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!VOLATILE_FIELDS.includes(k)) out[k] = withoutVolatile(v);
    return out;
  }
  return value;
}

/** The hashes of one finished run directory. */
export interface GoldenHashes {
  /** sha256 of metrics.jsonl with the volatile fields removed (one JSON line per event, in order). */
  metrics: string;
  /** sha256 of samples.txt ("" when the run writes none). */
  samples: string;
  /** sha256 of the last checkpoint's model.safetensors ("" when none was written). */
  weights: string;
  /** The error a run stopped with (a diverging config), with the run directory replaced by `<run>`. */
  error?: string;
  /** blas cases: the OpenBLAS build and CPU the hashes were recorded on (see {@link blasMachine}). */
  machine?: string;
}

/**
 * What a blas case's digits depend on: the OpenBLAS library file (after links) and the CPU model; `null` where
 * OpenBLAS cannot be opened here.
 */
export function blasMachine(): string | null {
  const path = blasLibraryPath();
  if (path === null) return null;
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${Deno.realPathSync(path)} on ${cpu}`;
}

const sha = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Hashes a run directory's metrics, samples and final weights. */
export async function hashRun(runDir: string): Promise<GoldenHashes> {
  const lines = (await readFile(join(runDir, "metrics.jsonl"), "utf8")).split("\n").filter((l) => l !== "");
  const metrics = sha(lines.map((l) => JSON.stringify(withoutVolatile(JSON.parse(l)))).join("\n"));
  const samples = await readFile(join(runDir, "samples.txt")).then(sha, () => "");
  const latest = await readFile(join(runDir, "checkpoints", "latest.json"), "utf8").then(
    JSON.parse,
    () => null,
  );
  const weights = latest === null
    ? ""
    : sha(await readFile(join(runDir, "checkpoints", latest.dir, "model.safetensors")));
  return { metrics, samples, weights };
}

/**
 * Trains one case in this process (into a temporary folder) and returns its hashes (with `machine` for blas; a
 * blas case needs OpenBLAS: check {@link blasMachine} first).
 */
export async function runCase(c: GoldenCase, outDir: string): Promise<GoldenHashes> {
  const machine = c.backend === "blas" ? { machine: blasMachine() ?? "no OpenBLAS" } : {};
  const config = loadConfig({ path: c.config, sets: caseSets(c, outDir) }).config;
  let runDir = "";
  try {
    const r = await runExperiment({
      config,
      noReport: true,
      quiet: true,
      now: () => new Date(0),
      onRunDir: (d) => void (runDir = d),
    });
    return { ...await hashRun(r.runDir), ...machine };
  } catch (e) {
    if (runDir === "") throw e;
    const error = (e as Error).message.replaceAll(runDir, "<run>");
    return { ...await hashRun(runDir), error, ...machine };
  }
}

/** Where the golden hashes live. */
export const GOLDEN_PATH: string = new URL("./golden.json", import.meta.url).pathname;

/** Reads golden.json (case key → hashes). */
export async function readGolden(): Promise<Record<string, GoldenHashes>> {
  return JSON.parse(await readFile(GOLDEN_PATH, "utf8"));
}

if (import.meta.main) {
  const write = Deno.args.includes("--write");
  const only = Deno.args.filter((a) => !a.startsWith("--"));
  // --write with config filters adds or replaces only those cases (a new shipped config gets its hashes)
  const golden = write && only.length === 0 ? {} as Record<string, GoldenHashes> : await readGolden();
  const out = await Deno.makeTempDir({ prefix: "lcm-golden-" });
  let bad = 0;
  for (const c of await goldenCases()) {
    if (only.length > 0 && !only.some((o) => c.config.includes(o))) continue;
    const key0 = caseKey(c);
    if (c.backend === "blas" && !write && golden[key0]?.machine !== blasMachine()) {
      console.log(
        `skip ${key0}: recorded on ${golden[key0]?.machine}, here ${blasMachine() ?? "no OpenBLAS"}`,
      );
      continue;
    }
    const t0 = performance.now();
    const h = await runCase(c, out);
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    const key = caseKey(c);
    if (write) golden[key] = h;
    const same = JSON.stringify(golden[key]) === JSON.stringify(h);
    if (!same) bad++;
    console.log(`${same ? "ok  " : "DIFF"} ${key} ${h.metrics.slice(0, 12)} ${s}s`);
  }
  await Deno.remove(out, { recursive: true });
  if (write) {
    const sorted = Object.fromEntries(Object.entries(golden).sort(([a], [b]) => a.localeCompare(b)));
    await Deno.writeTextFile(GOLDEN_PATH, JSON.stringify(sorted, null, 2) + "\n");
    console.log(`wrote ${GOLDEN_PATH}`);
  } else if (bad > 0) {
    console.log(`${bad} case(s) differ`);
    Deno.exit(1);
  }
}
