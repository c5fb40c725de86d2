/**
 * Sweeps, first step (local, one trial at a time): a sweep file names a base config, fixed overrides, a grid of
 * key paths → value lists and a list of seeds; every grid point runs once per seed. Each trial is a run config in
 * and a run directory out, with a `status.json` (`pending → running → completed | failed | diverged`). The sweep
 * directory holds `sweep.json` (every trial's overrides and config hash) and one folder per trial; running the
 * same sweep again resumes: completed trials with the same config hash are skipped, an interrupted one resumes
 * from its checkpoint, failed and diverged ones are retried only with `retryFailed`.
 *
 * ```jsonc
 * {
 *   "name": "norm-position",
 *   "base": "../quickstart.jsonc",            // relative to the sweep file
 *   "set": ["train.max_steps=300"],          // overrides for every trial
 *   "grid": { "model.norm": ["layernorm", "rmsnorm"], "model.position": ["learned", "rope"] },
 *   "seeds": [1, 2, 3],
 *   "metric": "val_loss", "mode": "min"        // how the summary ranks configurations
 * }
 * ```
 *
 * @module
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { pathExists } from "../io/exists.ts";
import { configHash, loadConfig } from "./config.ts";
import { parseJsonc } from "./jsonc.ts";
import { runExperiment, type RunResult } from "./runner.ts";

/** A sweep file, validated. */
export interface SweepSpec {
  /** Sweep name (the folder under `runs/sweeps/`). */
  name: string;
  /** Base config path, relative to the sweep file. */
  base: string;
  /** `--set` overrides for every trial. */
  set: string[];
  /** Key path → values; every combination is one configuration. */
  grid: Record<string, unknown[]>;
  /** Every configuration runs once per seed (`train.seed`). */
  seeds: number[];
  /** What ranks the configurations: the final validation loss. */
  metric: "val_loss";
  /** Lower (min) or higher (max) is better. */
  mode: "min" | "max";
}

/** One trial: its grid point, seed, overrides and config hash. */
export interface Trial {
  /** 0-based index (the folder is `trial-<index>`). */
  index: number;
  /** The grid values of this trial, by key path. */
  point: Record<string, unknown>;
  /** Its seed. */
  seed: number;
  /** Every override applied to the base config. */
  sets: string[];
  /** sha256 of the resolved config (a changed sweep file changes it). */
  configHash: string;
}

/** A trial's `status.json`. */
export interface TrialStatus {
  /** Where the trial is. */
  status: "pending" | "running" | "completed" | "failed" | "diverged";
  /** Its config hash. */
  config_hash: string;
  /** Its run directory, once it started. */
  run_dir: string | null;
  /** Final validation loss of a completed trial. */
  val_loss: number | null;
  /** The error of a failed or diverged trial. */
  error: string | null;
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

/** Reads and validates a sweep file; errors name the file and the key. */
export async function loadSweep(file: string): Promise<SweepSpec> {
  let raw: unknown;
  try {
    raw = parseJsonc(await readFile(file, "utf8"));
  } catch (e) {
    fail(file, `cannot read the sweep file (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(file, "expected an object");
  const o = raw as Record<string, unknown>;
  const known = new Set(["name", "base", "set", "grid", "seeds", "metric", "mode"]);
  for (const k of Object.keys(o)) if (!known.has(k)) fail(file, `unknown key "${k}"`);
  const name = o.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]+$/.test(name)) {
    fail(file, `name: expected letters, digits, ".", "_" and "-", got ${JSON.stringify(name)}`);
  }
  if (typeof o.base !== "string") fail(file, `base: expected a config path, got ${JSON.stringify(o.base)}`);
  const set = o.set ?? [];
  if (!Array.isArray(set) || !set.every((s) => typeof s === "string")) fail(file, "set: expected strings");
  const grid = o.grid ?? {};
  if (typeof grid !== "object" || grid === null || Array.isArray(grid)) {
    fail(file, "grid: expected an object");
  }
  for (const [k, v] of Object.entries(grid)) {
    if (!Array.isArray(v) || v.length === 0) fail(file, `grid.${k}: expected a non-empty list of values`);
  }
  const seeds = o.seeds ?? [1337];
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((s) => Number.isInteger(s))) {
    fail(file, `seeds: expected a non-empty list of integers`);
  }
  if ((o.metric ?? "val_loss") !== "val_loss") fail(file, `metric: expected "val_loss"`);
  const mode = o.mode ?? "min";
  if (mode !== "min" && mode !== "max") fail(file, `mode: expected "min" or "max"`);
  return {
    name,
    base: resolve(dirname(file), o.base),
    set: set as string[],
    grid: grid as Record<string, unknown[]>,
    seeds: seeds as number[],
    metric: "val_loss",
    mode,
  };
}

/** Every trial of a sweep: the grid's combinations (first key slowest) × the seeds; configs are validated. */
export function expandSweep(spec: SweepSpec, sweepDir: string): Trial[] {
  const keys = Object.keys(spec.grid);
  let points: Record<string, unknown>[] = [{}];
  for (const k of keys) points = points.flatMap((p) => spec.grid[k].map((v) => ({ ...p, [k]: v })));
  return points.flatMap((point, p) =>
    spec.seeds.map((seed, s) => {
      const index = p * spec.seeds.length + s;
      const sets = [
        ...spec.set,
        ...keys.map((k) => `${k}=${JSON.stringify(point[k])}`),
        `train.seed=${seed}`,
        `run.name=${spec.name}-${index}`,
        `run.out_dir=${join(sweepDir, `trial-${index}`)}`,
      ];
      const { config } = loadConfig({ path: spec.base, sets });
      return { index, point, seed, sets, configHash: configHash(config) };
    })
  );
}

async function readStatus(dir: string): Promise<TrialStatus | null> {
  try {
    return JSON.parse(await readFile(join(dir, "status.json"), "utf8")) as TrialStatus;
  } catch {
    return null;
  }
}

/** Options of {@link runSweep}. */
export interface SweepOptions {
  /** Where sweeps live (default `runs/sweeps`). */
  root?: string;
  /** Run failed and diverged trials again. */
  retryFailed?: boolean;
  /** Progress lines. */
  info?: (line: string) => void;
}

/**
 * Runs (or resumes) a sweep locally, one trial after the other; returns the sweep folder and every trial's
 * final status. A failing trial is reported at once and the sweep goes on.
 */
export async function runSweep(
  spec: SweepSpec,
  o: SweepOptions = {},
): Promise<{ dir: string; trials: Trial[]; statuses: TrialStatus[] }> {
  const info = o.info ?? (() => {});
  const dir = join(o.root ?? join("runs", "sweeps"), spec.name);
  const trials = expandSweep(spec, dir);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "sweep.json"), JSON.stringify({ ...spec, trials }, null, 2) + "\n");
  const statuses: TrialStatus[] = [];
  for (const t of trials) {
    const tdir = join(dir, `trial-${t.index}`);
    const prev = await readStatus(tdir);
    const same = prev !== null && prev.config_hash === t.configHash;
    if (same && prev.status === "completed") {
      statuses.push(prev);
      continue;
    }
    if (same && (prev.status === "failed" || prev.status === "diverged") && !o.retryFailed) {
      statuses.push(prev);
      continue;
    }
    const resumeDir = same && prev.status === "running" && prev.run_dir !== null &&
        await pathExists(join(prev.run_dir, "checkpoints", "latest.json"))
      ? prev.run_dir
      : undefined;
    const status: TrialStatus = {
      status: "running",
      config_hash: t.configHash,
      run_dir: resumeDir ?? null,
      val_loss: null,
      error: null,
    };
    await mkdir(tdir, { recursive: true });
    const save = () => writeFileAtomic(join(tdir, "status.json"), JSON.stringify(status, null, 2) + "\n");
    await save();
    info(
      `trial ${t.index + 1}/${trials.length} ${JSON.stringify(t.point)} seed ${t.seed}` +
        (resumeDir ? " (resuming)" : ""),
    );
    let r: RunResult | null = null;
    try {
      r = resumeDir !== undefined ? await runExperiment({ resumeDir, noReport: true }) : await runExperiment({
        config: loadConfig({ path: spec.base, sets: t.sets }).config,
        noReport: true,
      });
      status.status = r.status === "completed" ? "completed" : "running";
      status.run_dir = r.runDir;
      status.val_loss = r.valLoss;
    } catch (e) {
      const msg = (e as Error).message;
      status.status = /non-finite|NaN|Infinity/i.test(msg) ? "diverged" : "failed";
      status.error = msg;
      info(`trial ${t.index + 1} ${status.status}: ${msg}`);
    }
    await save();
    statuses.push(status);
  }
  return { dir, trials, statuses };
}

/** Markdown: one row per configuration (its grid values), the metric's mean ± sd over its seeds, best first. */
export function sweepSummary(
  spec: SweepSpec,
  trials: readonly Trial[],
  statuses: readonly TrialStatus[],
): string {
  const groups = new Map<string, { point: Record<string, unknown>; values: number[]; failed: number }>();
  trials.forEach((t, i) => {
    const key = JSON.stringify(t.point);
    const g = groups.get(key) ?? { point: t.point, values: [], failed: 0 };
    const s = statuses[i];
    if (s?.status === "completed" && s.val_loss !== null) g.values.push(s.val_loss);
    else g.failed++;
    groups.set(key, g);
  });
  const rows = [...groups.values()].map((g) => {
    const n = g.values.length, mean = n ? g.values.reduce((a, b) => a + b, 0) / n : NaN;
    const sd = n > 1 ? Math.sqrt(g.values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
    return { ...g, n, mean, sd };
  });
  rows.sort((a, b) => (spec.mode === "min" ? a.mean - b.mean : b.mean - a.mean) || 0);
  const keys = Object.keys(spec.grid);
  const head = `| ${[...keys, "seeds done", "val loss mean", "sd", "not completed"].join(" | ")} |`;
  const line = `| ${[...keys, "", "", "", ""].map(() => "---").join(" | ")} |`;
  const body = rows.map((r) =>
    `| ${
      [
        ...keys.map((k) => JSON.stringify(r.point[k])),
        String(r.n),
        Number.isNaN(r.mean) ? "–" : r.mean.toFixed(4),
        Number.isNaN(r.sd) ? "–" : r.sd.toFixed(4),
        String(r.failed),
      ].join(" | ")
    } |`
  );
  return [head, line, ...body].join("\n");
}
