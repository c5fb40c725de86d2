/**
 * The format of a sweep folder and its readers: `sweep.json` (the resolved sweep: the validated sweep file and
 * every trial) and one `trial-<index>/status.json` per trial. The sweep report reads a folder through these;
 * `lib/experiment/sweep.ts` expands sweep files into this format and the executors write it.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** What a sweep can rank by: the final (or best) figures of each trial. */
export const SWEEP_METRICS = [
  "val_loss",
  "best_val_loss",
  "train_loss",
  "val_ppl",
  "masked_accuracy",
  "exact_match",
] as const;

/** One of {@link SWEEP_METRICS}. */
export type SweepMetric = typeof SWEEP_METRICS[number];

/** A distribution of the random search. */
export type Distribution =
  | { choice: unknown[] }
  | { uniform: [number, number] }
  | { log_uniform: [number, number] }
  | { int: [number, number] };

/** The seeded random search: `n` samples of the `params` distributions. */
export interface RandomSearch {
  /** Number of samples (each one a configuration; combined with every grid point). */
  n: number;
  /** Seed of the sampler (default 0): the same sweep file always gives the same samples. */
  seed: number;
  /** Key path → distribution. */
  params: Record<string, Distribution>;
}

/** Slurm resources per trial (`executor.slurm`). */
export interface SlurmSpec {
  /** `--partition` (default: the cluster's default). */
  partition?: string;
  /** `--mem`, e.g. `"2G"`. */
  mem?: string;
  /** `--cpus-per-task` (default 1); also the trial's kernel threads. */
  cpus_per_task: number;
  /** More `sbatch` scheduling options, each one string (e.g. `"--qos=short"`; the allowlist is in lib/experiment/slurm_options.ts). */
  extra: string[];
}

/** A sweep file, validated. */
export interface SweepSpec {
  /** Sweep name (the folder under `runs/sweeps/`). */
  name: string;
  /** Base config path (absolute after loading). */
  base: string;
  /** `--set` overrides for every trial. */
  set: string[];
  /** Key path → values; every combination is one configuration. */
  grid: Record<string, unknown[]>;
  /** The optional random search. */
  random: RandomSearch | null;
  /** Every configuration runs once per seed (`train.seed`). */
  seeds: number[];
  /** What ranks the configurations. */
  metric: SweepMetric;
  /** Lower (min) or higher (max) is better. */
  mode: "min" | "max";
  /** Most trials the sweep may expand to (an error beyond it). */
  max_trials: number;
  /** Minutes a trial may run (0: no limit). */
  timeout_minutes: number;
  /** Executor settings. */
  executor: {
    /** Trials at once (local: subprocesses; Slurm: the array's `%P`). Default: 1 locally, no cap on Slurm. */
    parallel: number | null;
    /** Slurm resources. */
    slurm: SlurmSpec;
  };
}

/** One trial: its configuration, seed, overrides and config hash. */
export interface Trial {
  /** 0-based index (the folder is `trial-<index>`, the Slurm array index). */
  index: number;
  /** The varied values of this trial (grid and random keys), by key path. */
  point: Record<string, unknown>;
  /** 0-based index of its configuration (trials with the same point share it). */
  config: number;
  /** Its seed. */
  seed: number;
  /** Every override applied to the base config. */
  sets: string[];
  /** {@link trialHash} of its resolved config (a changed sweep or base config changes it). */
  configHash: string;
}

/** Where a trial is. */
export type TrialState =
  | "pending"
  | "running"
  | "completed"
  | "failed"
  | "diverged"
  | "timeout"
  | "cancelled";

/** A trial's `status.json`. */
export interface TrialStatus {
  /** Where the trial is. */
  status: TrialState;
  /** Its config hash. */
  config_hash: string;
  /** Its run directory, once it started. */
  run_dir: string | null;
  /** Final figures of a completed trial (val_loss, best_val_loss, train_loss, val_ppl, accuracies). */
  metrics: Partial<Record<SweepMetric, number>>;
  /** Steps done (for a diverged trial: the step whose loss or gradient was not finite). */
  step: number | null;
  /** The process's exit code, once it ended (null while running or when unknown). */
  exit_code: number | null;
  /** The error of a failed, diverged or timed-out trial. */
  error: string | null;
  /** Which executor ran it last (`local` or `slurm`). */
  executor: string | null;
  /** The Slurm job (`<array>_<index>`) that ran it last. */
  slurm_job: string | null;
  /** Host and process id of the trial process while it runs. */
  host?: string;
  /** Process id of the trial process. */
  pid?: number;
  /** ISO times. */
  started_at: string | null;
  /** ISO time it ended. */
  ended_at: string | null;
  /** Seconds of the last attempt. */
  elapsed_s: number | null;
}

/** A fresh status for `trial`. */
export function pendingStatus(trial: Trial): TrialStatus {
  return {
    status: "pending",
    config_hash: trial.configHash,
    run_dir: null,
    metrics: {},
    step: null,
    exit_code: null,
    error: null,
    executor: null,
    slurm_job: null,
    started_at: null,
    ended_at: null,
    elapsed_s: null,
  };
}

/** Thrown for a bad sweep file; the message names the file and the key. */
export class SweepError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SweepError";
  }
}

/** The folder of trial `index`. */
export function trialDir(sweepDir: string, index: number): string {
  return join(sweepDir, `trial-${index}`);
}

/** Reads a trial's `status.json` (null when there is none or it does not parse). */
export async function readStatus(dir: string): Promise<TrialStatus | null> {
  try {
    const s = JSON.parse(await readFile(join(dir, "status.json"), "utf8")) as TrialStatus;
    return typeof s === "object" && s !== null && typeof s.status === "string" ? s : null;
  } catch {
    return null;
  }
}

/** The resolved sweep as written to `sweep.json`. */
export interface SweepFile extends SweepSpec {
  /** Every trial. */
  trials: Trial[];
}

/** Reads a sweep folder's `sweep.json`. */
export async function readSweepFile(sweepDir: string): Promise<SweepFile> {
  const path = join(sweepDir, "sweep.json");
  let text;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new SweepError(`${sweepDir}: not a sweep folder (no sweep.json)`);
  }
  const o = JSON.parse(text) as SweepFile;
  if (!Array.isArray(o.trials)) throw new SweepError(`${path}: no trials`);
  return o;
}

/**
 * The value a trial is ranked by (`undefined` when it did not complete with its current config, or did not log
 * it).
 */
export function metricOf(trial: Trial, s: TrialStatus | null, metric: SweepMetric): number | undefined {
  if (s === null || s.status !== "completed" || s.config_hash !== trial.configHash) return undefined;
  const v = s.metrics?.[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
