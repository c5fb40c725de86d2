/**
 * Sweeps: a sweep file names a base config, fixed overrides, a `grid` of key paths → value lists, an optional
 * seeded `random` search, and a list of seeds; every configuration (grid point × random sample) runs once per
 * seed. Each trial is a run config in and a run directory out, with a `status.json` whose `status` moves
 * `pending → running → completed | failed | diverged | timeout | cancelled`. The sweep folder holds `sweep.json`
 * (the resolved sweep: every trial's overrides and config hash) and one folder per trial; that format and its
 * readers are in `lib/report/sweepdir.ts`. Executors (local subprocesses, Slurm job arrays) live in
 * `sweep_exec.ts`; one trial's life in `sweep_trial.ts`.
 *
 * ```jsonc
 * {
 *   "name": "norm-position",
 *   "base": "../quickstart.jsonc",            // relative to the sweep file
 *   "set": ["train.max_steps=300"],          // overrides for every trial
 *   "grid": { "model.norm": ["layernorm", "rmsnorm"], "model.position": ["learned", "rope"] },
 *   "random": { "n": 4, "seed": 1, "params": { "train.learning_rate": { "log_uniform": [1e-4, 1e-2] } } },
 *   "seeds": [1, 2, 3],
 *   "metric": "val_loss", "mode": "min",       // how the report ranks configurations
 *   "max_trials": 100,                        // a cap: a larger expansion is an error
 *   "timeout_minutes": 30,                    // per trial (local: killed and marked timeout; Slurm: --time)
 *   "executor": { "parallel": 2, "slurm": { "partition": "debug", "cpus_per_task": 1, "mem": "2G" } }
 * }
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Rng } from "../random.ts";
import {
  type Distribution,
  type RandomSearch,
  SWEEP_METRICS,
  SweepError,
  type SweepMetric,
  type SweepSpec,
  type Trial,
  type TrialState,
  type TrialStatus,
} from "../report/sweepdir.ts";
import { type Config, configHash, loadConfig } from "./config.ts";
import { parseJsonc } from "./jsonc.ts";
import { slurmOptionProblem } from "./slurm_options.ts";

/** States a trial ends in. `timeout` and `cancelled` trials resume from their checkpoint on the next run. */
export const FINAL_STATES: ReadonlySet<TrialState> = new Set([
  "completed",
  "failed",
  "diverged",
  "timeout",
  "cancelled",
]);

function fail(file: string, what: string): never {
  throw new SweepError(`${file}: ${what}`);
}

const KEYS = new Set([
  "name",
  "base",
  "set",
  "grid",
  "random",
  "seeds",
  "metric",
  "mode",
  "max_trials",
  "timeout_minutes",
  "executor",
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function posInt(file: string, key: string, v: unknown, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < min) {
    fail(file, `${key}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function distribution(file: string, key: string, v: unknown): Distribution {
  const where = `random.params.${key}`;
  if (!isObject(v) || Object.keys(v).length !== 1) {
    fail(
      file,
      `${where}: expected one of {"choice": [...]}, {"uniform": [lo, hi]}, {"log_uniform": [lo, hi]}, {"int": [lo, hi]}`,
    );
  }
  const [kind, arg] = Object.entries(v)[0];
  if (kind === "choice") {
    if (!Array.isArray(arg) || arg.length === 0) fail(file, `${where}.choice: expected a non-empty list`);
    return { choice: arg };
  }
  if (kind !== "uniform" && kind !== "log_uniform" && kind !== "int") {
    fail(file, `${where}: unknown distribution "${kind}" (choice, uniform, log_uniform, int)`);
  }
  if (
    !Array.isArray(arg) || arg.length !== 2 || !arg.every((x) => typeof x === "number" && Number.isFinite(x))
  ) {
    fail(file, `${where}.${kind}: expected [low, high], two numbers`);
  }
  const [lo, hi] = arg as [number, number];
  if (!(lo <= hi)) fail(file, `${where}.${kind}: expected low ≤ high, got [${lo}, ${hi}]`);
  if (kind === "log_uniform" && !(lo > 0)) fail(file, `${where}.log_uniform: expected low > 0, got ${lo}`);
  if (kind === "int" && !(Number.isInteger(lo) && Number.isInteger(hi))) {
    fail(file, `${where}.int: expected two integers, got [${lo}, ${hi}]`);
  }
  return kind === "uniform" ? { uniform: [lo, hi] } : kind === "log_uniform" ? { log_uniform: [lo, hi] } : {
    int: [lo, hi],
  };
}

/** Validates a parsed sweep object; `file` is named in errors and anchors the relative `base`. */
export function validateSweep(raw: unknown, file: string): SweepSpec {
  if (!isObject(raw)) fail(file, "expected an object");
  const o = raw;
  for (const k of Object.keys(o)) {
    if (!KEYS.has(k)) fail(file, `unknown key "${k}" (expected ${[...KEYS].join(", ")})`);
  }
  const name = o.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    fail(
      file,
      `name: expected a letter or digit, then letters, digits, ".", "_" and "-", got ${JSON.stringify(name)}`,
    );
  }
  if (typeof o.base !== "string") fail(file, `base: expected a config path, got ${JSON.stringify(o.base)}`);
  const set = o.set ?? [];
  if (!Array.isArray(set) || !set.every((s) => typeof s === "string")) {
    fail(file, "set: expected a list of strings");
  }
  const grid = o.grid ?? {};
  if (!isObject(grid)) fail(file, "grid: expected an object of key path → list of values");
  for (const [k, v] of Object.entries(grid)) {
    if (!Array.isArray(v) || v.length === 0) fail(file, `grid.${k}: expected a non-empty list of values`);
  }
  let random: RandomSearch | null = null;
  if (o.random !== undefined) {
    if (!isObject(o.random)) fail(file, "random: expected an object with n, params and optionally seed");
    for (const k of Object.keys(o.random)) {
      if (!["n", "seed", "params"].includes(k)) fail(file, `random: unknown key "${k}" (n, seed, params)`);
    }
    const n = posInt(file, "random.n", o.random.n, NaN);
    if (Number.isNaN(n)) fail(file, "random.n: expected the number of samples");
    const seed = posInt(file, "random.seed", o.random.seed, 0, 0);
    if (!isObject(o.random.params) || Object.keys(o.random.params).length === 0) {
      fail(file, "random.params: expected an object of key path → distribution");
    }
    const params: Record<string, Distribution> = {};
    for (const [k, v] of Object.entries(o.random.params)) {
      if (k in grid) fail(file, `random.params.${k}: the key is also in grid`);
      params[k] = distribution(file, k, v);
    }
    random = { n, seed, params };
  }
  const seeds = o.seeds ?? [1337];
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((s) => Number.isInteger(s))) {
    fail(file, `seeds: expected a non-empty list of integers`);
  }
  if (new Set(seeds).size !== seeds.length) fail(file, "seeds: a seed is listed twice");
  const metric = o.metric ?? "val_loss";
  if (!(SWEEP_METRICS as readonly unknown[]).includes(metric)) {
    fail(file, `metric: expected one of ${SWEEP_METRICS.join(", ")}, got ${JSON.stringify(metric)}`);
  }
  const mode = o.mode ?? (metric === "masked_accuracy" || metric === "exact_match" ? "max" : "min");
  if (mode !== "min" && mode !== "max") fail(file, `mode: expected "min" or "max"`);
  const maxTrials = posInt(file, "max_trials", o.max_trials, 1000);
  const timeout = o.timeout_minutes ?? 0;
  if (typeof timeout !== "number" || !(timeout >= 0)) fail(file, "timeout_minutes: expected a number ≥ 0");
  const ex = o.executor ?? {};
  if (!isObject(ex)) fail(file, "executor: expected an object (parallel, slurm)");
  for (const k of Object.keys(ex)) {
    if (!["parallel", "slurm"].includes(k)) fail(file, `executor: unknown key "${k}"`);
  }
  const parallel = ex.parallel === undefined ? null : posInt(file, "executor.parallel", ex.parallel, 1);
  const sl = ex.slurm ?? {};
  if (!isObject(sl)) fail(file, "executor.slurm: expected an object (partition, mem, cpus_per_task, extra)");
  for (const k of Object.keys(sl)) {
    if (!["partition", "mem", "cpus_per_task", "extra"].includes(k)) {
      fail(file, `executor.slurm: unknown key "${k}"`);
    }
  }
  // everything here reaches sbatch: the values are checked as the options they become
  for (const k of ["partition", "mem"] as const) {
    const problem = typeof sl[k] === "string" ? slurmOptionProblem(`--${k}=${sl[k]}`) : "expected a string";
    if (sl[k] !== undefined && problem !== null) {
      fail(file, `executor.slurm.${k}: ${problem.replace(/^--[a-z]+: /, "")}`);
    }
  }
  const extra = sl.extra ?? [];
  if (!Array.isArray(extra) || !extra.every((s) => typeof s === "string")) {
    fail(file, 'executor.slurm.extra: expected a list of "--option=value" strings');
  }
  for (const [i, e] of extra.entries()) {
    const problem = slurmOptionProblem(e);
    if (problem !== null) fail(file, `executor.slurm.extra[${i}]: ${problem}`);
  }
  return {
    name,
    base: resolve(dirname(file), o.base),
    set: set as string[],
    grid: grid as Record<string, unknown[]>,
    random,
    seeds: seeds as number[],
    metric: metric as SweepMetric,
    mode,
    max_trials: maxTrials,
    timeout_minutes: timeout,
    executor: {
      parallel,
      slurm: {
        partition: sl.partition as string | undefined,
        mem: sl.mem as string | undefined,
        cpus_per_task: posInt(file, "executor.slurm.cpus_per_task", sl.cpus_per_task, 1),
        extra: extra as string[],
      },
    },
  };
}

/** Reads and validates a sweep file; errors name the file and the key. */
export async function loadSweep(file: string): Promise<SweepSpec> {
  let raw: unknown;
  try {
    raw = parseJsonc(await readFile(file, "utf8"));
  } catch (e) {
    fail(file, `cannot read the sweep file (${(e as Error).message})`);
  }
  return validateSweep(raw, file);
}

/** One sample of `d` (log-uniform: uniform in log space; int: both ends included). */
export function sample(d: Distribution, rng: Rng): unknown {
  if ("choice" in d) return d.choice[rng.int(d.choice.length)];
  if ("uniform" in d) return round6(d.uniform[0] + rng.next() * (d.uniform[1] - d.uniform[0]));
  if ("log_uniform" in d) {
    const [lo, hi] = d.log_uniform.map(Math.log);
    return round6(Math.exp(lo + rng.next() * (hi - lo)));
  }
  return d.int[0] + rng.int(d.int[1] - d.int[0] + 1);
}

// six significant digits: readable in tables and overrides, and the same on every machine
function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** The sweep's configurations: every grid combination (first key slowest), each × every random sample. */
export function sweepPoints(spec: SweepSpec): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const k of Object.keys(spec.grid)) {
    points = points.flatMap((p) => spec.grid[k].map((v) => ({ ...p, [k]: v })));
  }
  if (spec.random === null) return points;
  const rng = new Rng(spec.random.seed);
  const samples = Array.from({ length: spec.random.n }, () => {
    const s: Record<string, unknown> = {};
    for (const [k, d] of Object.entries(spec.random!.params)) s[k] = sample(d, rng);
    return s;
  });
  return points.flatMap((p) => samples.map((s) => ({ ...p, ...s })));
}

/**
 * Every trial of a sweep: the configurations × the seeds, each config validated (an invalid one is an error
 * naming the sweep and the key). More than `max_trials` trials is an error.
 */
export function expandSweep(spec: SweepSpec, sweepDir: string): Trial[] {
  const points = sweepPoints(spec);
  const total = points.length * spec.seeds.length;
  if (total > spec.max_trials) {
    throw new SweepError(
      `sweep ${spec.name}: ${points.length} configurations × ${spec.seeds.length} seeds = ${total} trials, ` +
        `more than max_trials (${spec.max_trials})`,
    );
  }
  return points.flatMap((point, p) =>
    spec.seeds.map((seed, s) => {
      const index = p * spec.seeds.length + s;
      const sets = [
        ...spec.set,
        ...Object.entries(point).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
        `train.seed=${seed}`,
        `run.name=${spec.name}-${index}`,
        `run.out_dir=${join(sweepDir, `trial-${index}`)}`,
      ];
      let config;
      try {
        config = loadConfig({ path: spec.base, sets }).config;
      } catch (e) {
        throw new SweepError(
          `sweep ${spec.name}, trial ${index} ${JSON.stringify(point)}: ${(e as Error).message}`,
        );
      }
      return { index, point, config: p, seed, sets, configHash: trialHash(config) };
    })
  );
}

/**
 * A trial's config hash: the sha256 of its resolved config without `run.name` and `run.out_dir` (which only say
 * where it is written), so a trial keeps its identity when the sweep is extended (its index moves) or the sweep
 * root is spelled differently.
 */
export function trialHash(config: Config): string {
  return configHash({ ...config, run: { ...config.run, name: "", out_dir: "" } });
}

/**
 * Whether a trial must run (again): not when completed with the same config; not when failed or diverged
 * unless `retryFailed`; yes when pending, running (interrupted), timed out, cancelled, or its config changed.
 */
export function needsRun(trial: Trial, prev: TrialStatus | null, retryFailed: boolean): boolean {
  if (prev === null || prev.config_hash !== trial.configHash) return true;
  if (prev.status === "completed") return false;
  if (prev.status === "failed" || prev.status === "diverged") return retryFailed;
  return true;
}
