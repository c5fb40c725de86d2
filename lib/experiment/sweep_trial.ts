/**
 * One trial's life, the same under every executor: read the sweep's `sweep.json`, check the trial's config hash,
 * run it (or resume it from its checkpoint), and keep its `status.json` current: `running` while it trains, then
 * `completed` (with its final metrics), `diverged` (NaN/Inf, with the step), `failed` (with the error) or
 * `cancelled` (stopped by a signal after checkpointing; the next run of the sweep resumes it). The status file is
 * written atomically, so a reader never sees half of one.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { pid } from "node:process";
import { mkdir } from "node:fs/promises";
import { writeFileAtomic } from "../io/atomic.ts";
import { pathExists } from "../io/exists.ts";
import { LockedError } from "../io/lock.ts";
import { parseMetrics } from "../report/metrics.ts";
import { NonFiniteError } from "../train/trainer.ts";
import { loadConfig } from "./config.ts";
import { runExperiment } from "./runner.ts";
import { trialHash } from "./sweep.ts";
import {
  pendingStatus,
  readStatus,
  readSweepFile,
  SweepError,
  type SweepFile,
  type SweepMetric,
  type Trial,
  trialDir,
  type TrialStatus,
} from "../report/sweepdir.ts";

/** Exit codes of a trial process, by final state. */
export const TRIAL_EXIT: Readonly<Record<"completed" | "failed" | "diverged" | "cancelled", number>> = {
  completed: 0,
  failed: 1,
  diverged: 3,
  cancelled: 4,
};

/** Writes a trial's status atomically. */
export async function writeStatus(dir: string, status: TrialStatus): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "status.json"), JSON.stringify(status, null, 2) + "\n");
}

/** Final figures of a run, from its metrics.jsonl: last and best validation loss, last train loss, accuracies. */
export async function finalMetrics(runDir: string): Promise<Partial<Record<SweepMetric, number>>> {
  const m = parseMetrics(await readFile(join(runDir, "metrics.jsonl"), "utf8"));
  const out: Partial<Record<SweepMetric, number>> = {};
  const lastVal = m.val.at(-1), lastTrain = m.train.filter((t) => t.loss !== undefined).at(-1);
  if (lastVal?.loss !== undefined) {
    out.val_loss = lastVal.loss;
    out.val_ppl = Math.exp(lastVal.loss);
  }
  const losses = m.val.map((v) => v.loss).filter((x): x is number => x !== undefined);
  if (losses.length > 0) out.best_val_loss = Math.min(...losses);
  if (lastTrain?.loss !== undefined) out.train_loss = lastTrain.loss;
  if (lastVal?.masked_accuracy !== undefined) out.masked_accuracy = lastVal.masked_accuracy;
  if (lastVal?.exact_match !== undefined) out.exact_match = lastVal.exact_match;
  return out;
}

/** Options of {@link runTrial}. */
export interface TrialOptions {
  /** Kernel threads of the trial (overrides the config's `run.threads`; not part of the config hash). */
  threads?: number;
  /** `local` or `slurm`, recorded in the status. */
  executor?: string;
  /** The Slurm job running it (`<array>_<index>`). */
  slurmJob?: string;
  /** Checked after every step: true → checkpoint, stop, status `cancelled`. */
  shouldStop?: () => boolean;
  /** Progress lines of the run. */
  info?: (line: string) => void;
  /** Progress of the run (step of max steps). */
  progress?: (step: number, maxSteps: number) => void;
}

/** Trial `index` of the sweep read from `sweepDir` (an error names the range). */
function trialOf(sweep: SweepFile, sweepDir: string, index: number): Trial {
  const trial = sweep.trials[index];
  if (!Number.isInteger(index) || trial === undefined) {
    throw new SweepError(
      `${sweepDir}: no trial ${index} (the sweep has trials 0 to ${sweep.trials.length - 1})`,
    );
  }
  return trial;
}

/**
 * Runs trial `index` of the sweep in `sweepDir` to its end and returns its final status (also in
 * `trial-<index>/status.json`). A trial already completed with the same config is not run again. Never throws for
 * a failing run: that is the `failed` status; throws only when the sweep folder itself is unusable, or (a
 * `LockedError`, the trial's status left as it was) when another live process is writing the trial's run.
 */
export async function runTrial(sweepDir: string, index: number, o: TrialOptions = {}): Promise<TrialStatus> {
  const sweep = await readSweepFile(sweepDir);
  const trial = trialOf(sweep, sweepDir, index);
  const dir = trialDir(sweepDir, index);
  const prev = await readStatus(dir);
  if (prev?.status === "completed" && prev.config_hash === trial.configHash) return prev;
  const t0 = Date.now();
  const status: TrialStatus = {
    ...pendingStatus(trial),
    status: "running",
    executor: o.executor ?? null,
    slurm_job: o.slurmJob ?? null,
    started_at: new Date(t0).toISOString(),
    host: hostname(),
    pid,
  };
  const end = async (state: TrialStatus["status"], code: number, error: string | null) => {
    status.status = state;
    status.exit_code = code;
    status.error = error;
    status.ended_at = new Date().toISOString();
    status.elapsed_s = Math.round((Date.now() - t0) / 100) / 10;
    await writeStatus(dir, status);
    return status;
  };
  let config;
  try {
    config = loadConfig({ path: sweep.base, sets: trial.sets }).config;
  } catch (e) {
    return await end("failed", TRIAL_EXIT.failed, `config: ${(e as Error).message}`);
  }
  if (trialHash(config) !== trial.configHash) {
    return await end(
      "failed",
      TRIAL_EXIT.failed,
      `the base config (${sweep.base}) changed after the sweep was expanded: run the sweep again to re-expand it`,
    );
  }
  // an interrupted trial (running, timeout, cancelled) resumes from its checkpoint; a failed or diverged one
  // that is retried starts afresh (resuming a diverged run would diverge again at the same step)
  const resumable = prev !== null && prev.config_hash === trial.configHash && prev.run_dir !== null &&
    (prev.status === "running" || prev.status === "timeout" || prev.status === "cancelled");
  const resumeDir = resumable && await pathExists(join(prev.run_dir!, "checkpoints", "latest.json"))
    ? prev.run_dir!
    : undefined;
  status.run_dir = resumeDir ?? null;
  await writeStatus(dir, status);
  o.info?.(
    `trial ${index} on ${hostname()} (pid ${pid})${resumeDir ? `: resuming ${resumeDir}` : ""}` +
      (o.threads ? `, ${o.threads} thread${o.threads > 1 ? "s" : ""}` : ""),
  );
  const threadSets = o.threads ? [`run.threads=${o.threads}`] : [];
  if (o.threads) config = { ...config, run: { ...config.run, threads: o.threads } };
  try {
    const r = await runExperiment({
      ...(resumeDir !== undefined ? { resumeDir, sets: threadSets } : { config }),
      noReport: true,
      // the run directory goes into the status as soon as it exists: an interrupted trial resumes from it
      onRunDir: async (runDir) => {
        status.run_dir = resolve(runDir);
        await writeStatus(dir, status);
      },
      info: o.info,
      quiet: true,
      progress: (p) => o.progress?.(p.step, p.maxSteps),
      shouldStop: o.shouldStop,
    });
    status.run_dir = resolve(r.runDir);
    status.step = r.step;
    if (r.status !== "completed") return await end("cancelled", TRIAL_EXIT.cancelled, "stopped by a signal");
    status.metrics = await finalMetrics(r.runDir);
    return await end("completed", TRIAL_EXIT.completed, null);
  } catch (e) {
    const err = e as Error;
    if (err instanceof LockedError) {
      // another process is writing this trial's run: its status is that process's to keep
      if (prev !== null) await writeStatus(dir, prev);
      throw err;
    }
    if (err.cause instanceof NonFiniteError) {
      status.step = err.cause.step;
      return await end("diverged", TRIAL_EXIT.diverged, err.message);
    }
    return await end("failed", TRIAL_EXIT.failed, err.message);
  }
}
