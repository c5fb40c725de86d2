/**
 * Sweep executors. Both run each trial as its own process through the one trial contract
 * (`lib/experiment/cli/trial.ts`: a sweep folder and an index in, the trial's `status.json` out), so a trial
 * gives the same numbers wherever it runs (the kernels give bit-identical results for any thread count).
 *
 * - `local`: up to N trials at once as subprocesses (threads per trial = cores / N), a live status line, failures
 *   reported as they happen, a per-trial timeout, Ctrl-C stops every trial after a checkpoint.
 * - `slurm`: one `sbatch --array=<indices>%P` job whose tasks run `trial.ts <dir> $SLURM_ARRAY_TASK_ID`, plus a
 *   dependent (`afterany`) job that writes the sweep report. The monitor polls `squeue --json` (filtered by
 *   `array_job_id` here: Slurm 22.05 ignores `-j` with `--json`) and every trial's `status.json`; tasks that end
 *   without a final status get one from `scontrol show job` (TIMEOUT → `timeout`, CANCELLED → `cancelled`,
 *   anything else → `failed`). Ctrl-C runs `scancel`. Re-running a sweep whose array is still queued or running
 *   watches that array instead of submitting a second one.
 *
 * Running the same sweep again resumes it: completed trials (same config hash) are skipped, interrupted ones
 * resume from their checkpoint, failed and diverged ones run again only with `retryFailed`.
 *
 * @module
 */
import { mkdir, readdir, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/atomic.ts";
import { openblasFfiFlag } from "../kernels/backend.ts";
import { acquireLock, liveHolder, LockedError, RUN_LOCK } from "../io/lock.ts";
import { expandSweep, FINAL_STATES, needsRun } from "./sweep.ts";
import {
  pendingStatus,
  readStatus,
  readSweepFile,
  SweepError,
  type SweepSpec,
  type Trial,
  trialDir,
  type TrialStatus,
} from "../report/sweepdir.ts";
import { writeStatus } from "./sweep_trial.ts";

/** Options of {@link runSweep}. */
export interface SweepRunOptions {
  /** Where sweeps live (default `runs/sweeps`). */
  root?: string;
  /** `local` (default) or `slurm`. */
  executor?: "local" | "slurm";
  /** Trials at once (default: the sweep's `executor.parallel`, else 1 locally and no cap on Slurm). */
  parallel?: number;
  /** Run failed and diverged trials again. */
  retryFailed?: boolean;
  /** Stop at the first failed or diverged trial (the others are cancelled after a checkpoint). */
  failFast?: boolean;
  /** Event lines: each trial's start and end, failures as they happen. */
  info?: (line: string) => void;
  /** The live status line (rewritten in place on a terminal). */
  statusLine?: (line: string) => void;
  /** Checked while waiting: true → stop every trial (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Seconds between Slurm polls (default 2). */
  pollSeconds?: number;
}

/** What a sweep run returns. */
export interface SweepRunResult {
  /** The sweep folder. */
  dir: string;
  /** Every trial. */
  trials: Trial[];
  /** Every trial's status after the run, by index. */
  statuses: TrialStatus[];
  /** True when stopped early (Ctrl-C or `failFast`). */
  stopped: boolean;
}

const TRIAL_CLI = fileURLToPath(new URL("./cli/trial.ts", import.meta.url));
const DENO_JSON = fileURLToPath(new URL("../../deno.json", import.meta.url));
const REPORT_CLI = fileURLToPath(new URL("./cli/report.ts", import.meta.url));

/**
 * The Deno arguments that run trial `index` (a number, or the shell text `"$SLURM_ARRAY_TASK_ID"`); the
 * permissions are the narrowest that work: reads, writes under the sweep folder only, and FFI for OpenBLAS's
 * paths only (the `blas` backend), and WebGPU (`run.backend: "webgpu"`).
 */
export function trialArgs(sweepDir: string, index: string, threads: number, executor: string): string[] {
  return [
    "run",
    `--config=${DENO_JSON}`,
    "--unstable-webgpu", // a trial may train on run.backend "webgpu"
    "--allow-read",
    `--allow-write=${resolve(sweepDir)}`,
    "--allow-env",
    "--allow-sys=hostname",
    openblasFfiFlag(),
    TRIAL_CLI,
    resolve(sweepDir),
    index,
    "--threads",
    String(threads),
    "--executor",
    executor,
  ];
}

/** This Deno's executable when the process may run it, else `deno` from PATH (e.g. under `--allow-run=deno`). */
function denoCommand(): string {
  const self = Deno.execPath();
  return Deno.permissions.querySync({ name: "run", command: self }).state === "granted" ? self : "deno";
}

/** Every `trial-*` folder's status in `dir`, by folder name. */
async function existingStatuses(dir: string): Promise<Map<string, TrialStatus>> {
  const out = new Map<string, TrialStatus>();
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => /^trial-\d+$/.test(n));
  } catch { /* a new sweep */ }
  for (const n of names) {
    const s = await readStatus(join(dir, n));
    if (s !== null) out.set(n, s);
  }
  return out;
}

/** A sweep folder made ready to run: its trials and their statuses when the run starts. */
export interface PreparedSweep {
  /** The sweep folder. */
  dir: string;
  /** Every trial. */
  trials: Trial[];
  /** Every trial's status, by index. */
  statuses: TrialStatus[];
}

/**
 * Expands the sweep (unless `trials`, its expansion, is given), writes `sweep.json`, and returns the trials with
 * their current statuses. Statuses follow their config hash, not their index: when the sweep grew (a seed or a
 * value added) and a trial's index moved, its status (and run directory) moves with it; a status no trial claims
 * any more is kept in `superseded/`.
 */
export async function prepareSweep(
  spec: SweepSpec,
  root: string,
  trials: Trial[] = expandSweep(spec, join(root, spec.name)),
): Promise<PreparedSweep> {
  const dir = join(root, spec.name);
  await mkdir(dir, { recursive: true });
  const old = await existingStatuses(dir);
  const byHash = new Map<string, TrialStatus>();
  for (const s of old.values()) {
    // the most advanced status wins when two folders hold the same config (completed first)
    const have = byHash.get(s.config_hash);
    if (have === undefined || (have.status !== "completed" && s.status === "completed")) {
      byHash.set(s.config_hash, s);
    }
  }
  const claimed = new Set<TrialStatus>();
  const statuses: TrialStatus[] = [];
  for (const t of trials) {
    const s = byHash.get(t.configHash) ?? pendingStatus(t);
    claimed.add(s);
    statuses.push(s);
  }
  for (const [name, s] of old) {
    if (!claimed.has(s) && s.status !== "pending") {
      await mkdir(join(dir, "superseded"), { recursive: true });
      await writeFileAtomic(
        join(dir, "superseded", `${name}-${s.config_hash.slice(0, 12)}.json`),
        JSON.stringify(s, null, 2) + "\n",
      );
    }
  }
  await writeFileAtomic(join(dir, "sweep.json"), JSON.stringify({ ...spec, trials }, null, 2) + "\n");
  // a folder whose status is not already the one it gets (a new, moved or reset trial) is written
  for (const t of trials) {
    if (old.get(`trial-${t.index}`) !== statuses[t.index]) {
      await writeStatus(trialDir(dir, t.index), statuses[t.index]);
    }
  }
  return { dir, trials, statuses };
}

/** Takes `sweep.lock` in `dir` (the run lock's mechanism); throws when a live sweep process holds it. */
async function lockSweep(dir: string, warn?: (line: string) => void): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  try {
    const lock = await acquireLock(join(dir, "sweep.lock"), { what: "sweep", warn });
    return lock.release;
  } catch (e) {
    if (e instanceof LockedError) throw new SweepError(e.message);
    throw e;
  }
}

function counts(statuses: readonly (TrialStatus | null)[]): string {
  const by = new Map<string, number>();
  for (const s of statuses) by.set(s?.status ?? "pending", (by.get(s?.status ?? "pending") ?? 0) + 1);
  const order = ["completed", "running", "pending", "failed", "diverged", "timeout", "cancelled"];
  return order.filter((k) => by.has(k)).map((k) => `${by.get(k)} ${k}`).join(" · ");
}

function describe(t: Trial, s: TrialStatus): string {
  const what = `trial ${t.index} ${JSON.stringify(t.point)} seed ${t.seed}: ${s.status}`;
  if (s.status === "completed") {
    const v = s.metrics.val_loss;
    return `${what}${v !== undefined ? `, val loss ${v.toFixed(4)}` : ""} (${s.elapsed_s ?? "?"} s)`;
  }
  if (s.status === "diverged") return `${what} at step ${s.step ?? "?"}`;
  return `${what}${s.error ? `: ${s.error}` : ""}`;
}

/**
 * Whether `s` is a trial still running in a live process (left by a sweep process that was killed): the lock of
 * its run directory is held.
 */
export async function runningElsewhere(s: TrialStatus | null): Promise<boolean> {
  if (s?.status !== "running" || s.run_dir === null) return false;
  return await liveHolder(join(s.run_dir, RUN_LOCK)) !== null;
}

/** Runs (or resumes) a sweep with the chosen executor. */
export async function runSweep(spec: SweepSpec, o: SweepRunOptions = {}): Promise<SweepRunResult> {
  const root = o.root ?? join("runs", "sweeps");
  const dir = join(root, spec.name);
  const unlock = await lockSweep(dir, o.info);
  try {
    return await runLocked(spec, root, o);
  } finally {
    await unlock();
  }
}

async function runLocked(spec: SweepSpec, root: string, o: SweepRunOptions): Promise<SweepRunResult> {
  const dir = join(root, spec.name);
  const trials = expandSweep(spec, dir);
  if (o.executor === "slurm") {
    // an array of this sweep still queued or running: watch it, unless the sweep was expanded differently since
    const rec = await readSlurmRecord(dir);
    if (rec !== null && (await activeArrayJobs(rec.array_job_id)).length > 0) {
      const before = (await readSweepFile(dir)).trials.map((t) => t.configHash);
      const now = trials.map((t) => t.configHash);
      if (JSON.stringify(before) !== JSON.stringify(now)) {
        throw new SweepError(
          `${dir}: job array ${rec.array_job_id} of this sweep is still running with the earlier expansion; ` +
            `wait for it or scancel ${rec.array_job_id}, then run the changed sweep`,
        );
      }
    }
  }
  const prepared = await prepareSweep(spec, root, trials);
  const info = o.info ?? (() => {});
  const todo: Trial[] = [];
  for (const t of prepared.trials) {
    const s = prepared.statuses[t.index];
    if (o.executor !== "slurm" && await runningElsewhere(s)) {
      info(
        `trial ${t.index}: still running in process ${s!.pid} (left by an earlier sweep): not started again`,
      );
    } else if (needsRun(t, s, o.retryFailed ?? false)) todo.push(t);
  }
  info(
    `sweep ${spec.name}: ${prepared.trials.length} trials, ${prepared.trials.length - todo.length} done, ` +
      `${todo.length} to run (${o.executor ?? "local"}) in ${prepared.dir}`,
  );
  const run = o.executor === "slurm" ? runSlurm : runLocal;
  const stopped = todo.length === 0 ? false : await run(spec, prepared, todo, o);
  const statuses: TrialStatus[] = [];
  for (const t of prepared.trials) {
    statuses.push((await readStatus(trialDir(prepared.dir, t.index))) ?? pendingStatus(t));
  }
  return { dir: prepared.dir, trials: prepared.trials, statuses, stopped };
}

// ---------------------------------------------------------------------------------------------------------------
// local

interface Child {
  trial: Trial;
  proc: Deno.ChildProcess;
  progress: string;
  started: number;
  killedFor: "timeout" | null;
  /** When SIGTERM was sent (SIGKILL follows after {@link KILL_GRACE_MS}). */
  termAt: number | null;
  done: Promise<number>;
}

async function pump(
  stream: ReadableStream<Uint8Array>,
  path: string,
  onLine: (l: string) => void,
): Promise<void> {
  const file = await Deno.open(path, { append: true, create: true });
  const dec = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of stream) {
      await file.write(chunk);
      buf += dec.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  } finally {
    file.close();
  }
}

/** How long a trial may take to checkpoint and exit after SIGTERM before it is killed. */
const KILL_GRACE_MS = 60_000;

async function runLocal(
  spec: SweepSpec,
  { dir, trials, statuses: initial }: PreparedSweep,
  todo: Trial[],
  o: SweepRunOptions,
): Promise<boolean> {
  const info = o.info ?? (() => {});
  const parallel = Math.max(1, Math.min(o.parallel ?? spec.executor.parallel ?? 1, todo.length));
  const threads = Math.max(1, Math.floor(availableParallelism() / parallel));
  const statuses = new Map<number, TrialStatus>(trials.map((t) => [t.index, initial[t.index]]));
  const queue = [...todo];
  const running = new Map<number, Child>();
  let stopping = false;
  const timeoutMs = spec.timeout_minutes > 0 ? spec.timeout_minutes * 60_000 : Infinity;
  const start = (t: Trial) => {
    const proc = new Deno.Command(denoCommand(), {
      args: trialArgs(dir, String(t.index), threads, "local"),
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const log = join(trialDir(dir, t.index), "output.log");
    const child: Child = {
      trial: t,
      proc,
      progress: "starting",
      started: Date.now(),
      killedFor: null,
      termAt: null,
      done: null!,
    };
    const onLine = (l: string) => {
      const m = /^step (\d+)\/(\d+)/.exec(l);
      if (m !== null) child.progress = `${m[1]}/${m[2]}`;
    };
    const pumps = Promise.all([pump(proc.stdout, log, onLine), pump(proc.stderr, log, () => {})]);
    child.done = pumps.then(() => proc.status).then((s) => s.code);
    running.set(t.index, child);
    statuses.set(t.index, { ...pendingStatus(t), status: "running" });
    info(
      `trial ${t.index} ${JSON.stringify(t.point)} seed ${t.seed}: started (${threads} thread${
        threads > 1 ? "s" : ""
      })`,
    );
  };
  const line = () => {
    const now = [...running.values()].map((c) => `#${c.trial.index} ${c.progress}`).join(", ");
    o.statusLine?.(`[${spec.name}] ${counts([...statuses.values()])}${now ? ` · now ${now}` : ""}`);
  };
  const stopAll = (why: string) => {
    if (stopping) return;
    stopping = true;
    queue.length = 0;
    info(`sweep ${spec.name}: ${why}: stopping ${running.size} running trial(s) after their checkpoint`);
    for (const c of running.values()) {
      c.termAt ??= Date.now();
      try {
        c.proc.kill("SIGTERM");
      } catch { /* already gone */ }
    }
  };
  while (queue.length > 0 || running.size > 0) {
    if (o.shouldStop?.()) stopAll("interrupted");
    while (!stopping && running.size < parallel && queue.length > 0) start(queue.shift()!);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<null>((r) => timer = setTimeout(() => r(null), 1000));
    const ended = await Promise.race([
      tick,
      ...[...running.values()].map((c) => c.done.then((code) => ({ c, code }))),
    ]);
    clearTimeout(timer);
    if (o.shouldStop?.()) stopAll("interrupted");
    for (const c of running.values()) {
      if (c.killedFor === null && Date.now() - c.started > timeoutMs) {
        c.killedFor = "timeout";
        c.termAt = Date.now();
        info(`trial ${c.trial.index}: over timeout_minutes (${spec.timeout_minutes}), stopping it`);
        try {
          c.proc.kill("SIGTERM");
        } catch { /* gone */ }
      } else if (c.termAt !== null && Date.now() - c.termAt > KILL_GRACE_MS) {
        // it did not stop after SIGTERM (hung, or stuck before its first step): kill it
        c.termAt = null;
        info(`trial ${c.trial.index}: no exit ${KILL_GRACE_MS / 1000} s after SIGTERM: SIGKILL`);
        try {
          c.proc.kill("SIGKILL");
        } catch { /* gone */ }
      }
    }
    if (ended !== null) {
      const { c, code } = ended;
      running.delete(c.trial.index);
      const tdir = trialDir(dir, c.trial.index);
      let s = await readStatus(tdir) ?? pendingStatus(c.trial);
      if (c.killedFor === "timeout" && (s.status === "cancelled" || !FINAL_STATES.has(s.status))) {
        // stopped for its time (a trial that finished, failed or diverged meanwhile keeps its own end)
        s = {
          ...s,
          status: "timeout",
          exit_code: code,
          error: `over timeout_minutes (${spec.timeout_minutes})`,
        };
        await writeStatus(tdir, s);
      } else if (!FINAL_STATES.has(s.status)) {
        // the process died without writing its end (killed, crashed): failed, with the exit code
        s = {
          ...s,
          status: "failed",
          exit_code: code,
          error: `the trial process exited with code ${code} without a final status (see ${
            join(tdir, "output.log")
          })`,
          ended_at: new Date().toISOString(),
        };
        await writeStatus(tdir, s);
      }
      statuses.set(c.trial.index, s);
      info(describe(c.trial, s));
      if (o.failFast && (s.status === "failed" || s.status === "diverged")) stopAll("--fail-fast");
    }
    line();
  }
  return stopping;
}

// ---------------------------------------------------------------------------------------------------------------
// slurm

/** Output of a command (throws a clear error when it is missing or not allowed). */
async function command(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let r;
  try {
    r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `--executor slurm: ${cmd} is not on PATH (install Slurm's client tools, or start a one-node Slurm here ` +
          `with scripts/slurm-local.sh up)`,
      );
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(`--executor slurm: running ${cmd} is not allowed (Deno needs --allow-run=${cmd})`);
    }
    throw e;
  }
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Whether `name` is an executable file in a folder of PATH. */
function onPath(name: string): boolean {
  for (const d of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    try {
      if (Deno.statSync(join(d, name)).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Throws unless `sbatch` can be run (the message says what to do). */
export async function checkSlurm(): Promise<void> {
  if (!onPath("sbatch")) {
    throw new Error(
      "--executor slurm: sbatch is not on PATH (install Slurm's client tools, or start a one-node Slurm here " +
        "with scripts/slurm-local.sh up, as root)",
    );
  }
  const r = await command("sbatch", ["--version"]);
  if (r.code !== 0) throw new Error(`--executor slurm: sbatch --version failed: ${r.err.trim()}`);
}

/** A job of `squeue --json` (the fields used here), normalised. */
interface SqueueJob {
  job_id: number;
  array_job_id: number | null;
  job_state: string;
}

// Slurm 22.05 prints plain numbers and a state string; later versions print {"set": true, "number": N} and a
// list of states: both are read here
function num(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "object" && v !== null && "number" in v) {
    const n = (v as { set?: boolean; number: unknown }).number;
    return typeof n === "number" && (v as { set?: boolean }).set !== false ? n : null;
  }
  return null;
}

function state(v: unknown): string {
  return Array.isArray(v) ? String(v[0] ?? "") : String(v ?? "");
}

const ACTIVE = new Set([
  "PENDING",
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "RESIZING",
]);

/** The still active jobs of array `arrayId` (a pending array is one entry under its own id). */
export async function activeArrayJobs(arrayId: number): Promise<SqueueJob[]> {
  // a busy controller can time out: three tries, a second apart
  let r = await command("squeue", ["--json"]);
  for (let tries = 1; r.code !== 0 && tries < 3; tries++) {
    await new Promise((ok) => setTimeout(ok, 1000));
    r = await command("squeue", ["--json"]);
  }
  if (r.code !== 0) throw new Error(`squeue --json failed: ${r.err.trim()}`);
  const raw = (JSON.parse(r.out) as { jobs?: Record<string, unknown>[] }).jobs ?? [];
  const jobs: SqueueJob[] = raw.map((j) => ({
    job_id: num(j.job_id) ?? -1,
    array_job_id: num(j.array_job_id),
    job_state: state(j.job_state),
  }));
  return jobs.filter((j) => (j.array_job_id === arrayId || j.job_id === arrayId) && ACTIVE.has(j.job_state));
}

/** `JobState` of `scontrol show job <id>` (null when Slurm no longer knows the job). */
export async function jobState(id: string): Promise<string | null> {
  const r = await command("scontrol", ["show", "job", id]);
  if (r.code !== 0) return null;
  return /JobState=(\S+)/.exec(r.out)?.[1] ?? null;
}

/** The batch script of the sweep's job array. */
export function sbatchScript(spec: SweepSpec, dir: string): string {
  const s = spec.executor.slurm;
  const lines = [
    "#!/bin/bash",
    `#SBATCH --job-name=sweep-${spec.name}`,
    `#SBATCH --output=${resolve(dir, "slurm", "%A_%a.out")}`,
    `#SBATCH --cpus-per-task=${s.cpus_per_task}`,
    ...(spec.timeout_minutes > 0 ? [`#SBATCH --time=${Math.ceil(spec.timeout_minutes)}`] : []),
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    ...(s.mem ? [`#SBATCH --mem=${s.mem}`] : []),
    ...s.extra.map((e) => `#SBATCH ${e}`),
    "# one trial per array task: the trial contract of lib/experiment/cli/trial.ts",
    `cd ${shellQuote(Deno.cwd())}`,
    `exec ${shellQuote(Deno.execPath())} ${
      trialArgs(dir, TASK_ID, s.cpus_per_task, "slurm").map((a) => a === TASK_ID ? a : shellQuote(a)).join(
        " ",
      )
    }`,
  ];
  return lines.join("\n") + "\n";
}

const TASK_ID = '"$SLURM_ARRAY_TASK_ID"';

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What `slurm.json` in the sweep folder records about the submitted jobs. */
interface SlurmRecord {
  array_job_id: number;
  report_job_id: number | null;
  indices: number[];
  submitted_at: string;
}

async function readSlurmRecord(dir: string): Promise<SlurmRecord | null> {
  try {
    return JSON.parse(await readFile(join(dir, "slurm", "slurm.json"), "utf8")) as SlurmRecord;
  } catch {
    return null;
  }
}

/**
 * Cancels the sweep's submitted Slurm jobs at once (synchronously: for a second Ctrl-C, just before exiting);
 * returns the ids cancelled, or null when there were none or `scancel` could not run.
 */
export function cancelSubmittedSync(dir: string): string[] | null {
  try {
    const rec = JSON.parse(Deno.readTextFileSync(join(dir, "slurm", "slurm.json"))) as SlurmRecord;
    const ids = [String(rec.array_job_id), ...(rec.report_job_id ? [String(rec.report_job_id)] : [])];
    return new Deno.Command("scancel", { args: ids, stdout: "null", stderr: "null" }).outputSync().success
      ? ids
      : null;
  } catch {
    return null;
  }
}

function jobId(out: string): number {
  const id = Number(out.trim().split(";")[0]);
  if (!Number.isInteger(id)) throw new Error(`sbatch printed no job id: "${out.trim()}"`);
  return id;
}

async function runSlurm(
  spec: SweepSpec,
  { dir, trials, statuses: initial }: PreparedSweep,
  todo: Trial[],
  o: SweepRunOptions,
): Promise<boolean> {
  const info = o.info ?? (() => {});
  await checkSlurm();
  await mkdir(join(dir, "slurm"), { recursive: true });
  let record = await readSlurmRecord(dir);
  if (record !== null && (await activeArrayJobs(record.array_job_id)).length > 0) {
    info(`sweep ${spec.name}: job array ${record.array_job_id} is still queued or running: watching it`);
  } else {
    if (o.shouldStop?.()) return true;
    if (/\s/.test(resolve(dir))) {
      throw new Error(
        `--executor slurm: the sweep folder's path has whitespace, which #SBATCH lines cannot hold: ${
          resolve(dir)
        }`,
      );
    }
    const script = join(dir, "slurm", "trial.sbatch");
    await writeFileAtomic(script, sbatchScript(spec, dir));
    const parallel = o.parallel ?? spec.executor.parallel;
    const indices = todo.map((t) => t.index);
    const array = `--array=${indices.join(",")}${parallel ? `%${parallel}` : ""}`;
    const sub = await command("sbatch", ["--parsable", array, script]);
    if (sub.code !== 0) throw new Error(`sbatch failed: ${sub.err.trim() || sub.out.trim()}`);
    const arrayId = jobId(sub.out);
    // the report, once every task has ended however it ended
    const rep = await command("sbatch", [
      "--parsable",
      `--dependency=afterany:${arrayId}`,
      `--job-name=sweep-${spec.name}-report`,
      `--output=${resolve(dir, "slurm", "report-%j.out")}`,
      `--wrap=cd ${shellQuote(Deno.cwd())} && exec ${shellQuote(Deno.execPath())} run --config=${
        shellQuote(DENO_JSON)
      } --allow-read --allow-write=${shellQuote(resolve(dir))} --allow-env ${shellQuote(REPORT_CLI)} ${
        shellQuote(resolve(dir))
      }`,
    ]);
    const reportId = rep.code === 0 ? jobId(rep.out) : null;
    if (reportId === null) info(`sweep ${spec.name}: the report job was not accepted: ${rep.err.trim()}`);
    record = {
      array_job_id: arrayId,
      report_job_id: reportId,
      indices,
      submitted_at: new Date().toISOString(),
    };
    await writeFileAtomic(join(dir, "slurm", "slurm.json"), JSON.stringify(record, null, 2) + "\n");
    info(
      `sweep ${spec.name}: submitted job array ${arrayId} (${indices.length} tasks${
        parallel ? `, ${parallel} at once` : ""
      })` + (reportId !== null ? `, report job ${reportId} after it` : ""),
    );
  }
  const rec = record;
  const byIndex = new Map(trials.map((t) => [t.index, t]));
  const seen = new Map<number, string>();
  for (const i of rec.indices) seen.set(i, initial[i]?.status ?? "pending");
  let stopping = false;
  const cancel = async (why: string) => {
    if (stopping) return;
    stopping = true;
    info(
      `sweep ${spec.name}: ${why}: scancel ${rec.array_job_id}${
        rec.report_job_id ? ` ${rec.report_job_id}` : ""
      }`,
    );
    const ids = [String(rec.array_job_id), ...(rec.report_job_id ? [String(rec.report_job_id)] : [])];
    let r = await command("scancel", ids);
    if (r.code !== 0) r = await command("scancel", ids);
    if (r.code !== 0) {
      info(`sweep ${spec.name}: scancel failed: ${r.err.trim()} (cancel ${ids.join(" ")} yourself)`);
    }
  };
  const poll = (o.pollSeconds ?? 2) * 1000;
  for (;;) {
    const active = await activeArrayJobs(rec.array_job_id);
    const statuses: (TrialStatus | null)[] = [];
    for (const t of trials) statuses.push(await readStatus(trialDir(dir, t.index)));
    for (const i of rec.indices) {
      const s = statuses[i];
      if (s !== null && s.status !== seen.get(i) && s.status !== "pending") {
        seen.set(i, s.status);
        info(
          s.status === "running"
            ? `trial ${i}: running (${s.slurm_job ?? "slurm"})`
            : describe(byIndex.get(i)!, s),
        );
        if (o.failFast && (s.status === "failed" || s.status === "diverged")) await cancel("--fail-fast");
      }
    }
    const running = active.filter((j) => j.job_state === "RUNNING").length;
    o.statusLine?.(
      `[${spec.name}] ${counts(statuses)} · slurm ${rec.array_job_id}: ${running} running, ` +
        `${active.length - running} queued`,
    );
    if (active.length === 0) break;
    if (o.shouldStop?.()) await cancel("interrupted");
    // wait, but answer Ctrl-C within 0.2 s
    for (let waited = 0; waited < poll && !(o.shouldStop?.() && !stopping); waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // tasks that ended without a final status: ask Slurm how they ended
  for (const i of rec.indices) {
    const tdir = trialDir(dir, i);
    const s = await readStatus(tdir);
    if (s !== null && FINAL_STATES.has(s.status) && s.status !== "cancelled") continue;
    const state = await jobState(`${rec.array_job_id}_${i}`);
    if (s !== null && s.status === "cancelled") {
      // a trial stopped by Slurm's time limit checkpointed on SIGTERM and wrote "cancelled": it was a timeout
      if (state?.startsWith("TIMEOUT")) {
        const t: TrialStatus = {
          ...s,
          status: "timeout",
          error: `Slurm's time limit (--time) ended job ${rec.array_job_id}_${i}`,
        };
        await writeStatus(tdir, t);
        info(describe(byIndex.get(i)!, t));
      }
      continue;
    }
    if (state !== null && ACTIVE.has(state)) continue; // still queued or running: not ours to decide
    const base = s ?? pendingStatus(byIndex.get(i)!);
    const status: TrialStatus["status"] = state?.startsWith("TIMEOUT")
      ? "timeout"
      : state?.startsWith("CANCELLED") || (state === null && stopping)
      ? "cancelled"
      : "failed";
    const fixed: TrialStatus = {
      ...base,
      status,
      slurm_job: `${rec.array_job_id}_${i}`,
      error:
        `Slurm job ${rec.array_job_id}_${i} ended ${state ?? "(no longer known to Slurm)"} without a final ` +
        `status (see ${join(dir, "slurm", `${rec.array_job_id}_${i}.out`)})`,
      ended_at: base.ended_at ?? new Date().toISOString(),
    };
    await writeStatus(tdir, fixed);
    info(describe(byIndex.get(i)!, fixed));
  }
  return stopping;
}
