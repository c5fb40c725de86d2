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
import { mkdir, readFile } from "node:fs/promises";
import { availableParallelism, hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../io/atomic.ts";
import {
  expandSweep,
  FINAL_STATES,
  needsRun,
  pendingStatus,
  readStatus,
  type SweepSpec,
  type Trial,
  trialDir,
  type TrialStatus,
} from "./sweep.ts";
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
 * permissions are the narrowest that work: reads, and writes under the sweep folder only.
 */
export function trialArgs(sweepDir: string, index: string, threads: number, executor: string): string[] {
  return [
    "run",
    `--config=${DENO_JSON}`,
    "--allow-read",
    `--allow-write=${resolve(sweepDir)}`,
    "--allow-env",
    "--allow-sys=hostname",
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

/** Expands the sweep, writes `sweep.json`, and returns the trials with their current statuses. */
export async function prepareSweep(
  spec: SweepSpec,
  root: string,
): Promise<{ dir: string; trials: Trial[]; statuses: (TrialStatus | null)[] }> {
  const dir = join(root, spec.name);
  const trials = expandSweep(spec, dir);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, "sweep.json"), JSON.stringify({ ...spec, trials }, null, 2) + "\n");
  const statuses: (TrialStatus | null)[] = [];
  for (const t of trials) {
    let s = await readStatus(trialDir(dir, t.index));
    if (s === null || s.config_hash !== t.configHash) {
      // never run, or its config changed: pending (a changed trial starts a new run directory)
      s = pendingStatus(t);
      await writeStatus(trialDir(dir, t.index), s);
    }
    statuses.push(s);
  }
  return { dir, trials, statuses };
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
 * Whether `s` is a trial still running in a live process on this machine (left by a sweep process that was
 * killed): its pid exists and runs `trial.ts` on this sweep folder. Linux only (reads /proc); false elsewhere.
 */
export function runningElsewhere(s: TrialStatus | null, sweepDir: string): boolean {
  if (s?.status !== "running" || s.pid === undefined || s.host !== hostname()) return false;
  try {
    const cmd = Deno.readTextFileSync(`/proc/${s.pid}/cmdline`);
    return cmd.includes("trial.ts") && cmd.includes(resolve(sweepDir));
  } catch {
    return false;
  }
}

/** Runs (or resumes) a sweep with the chosen executor. */
export async function runSweep(spec: SweepSpec, o: SweepRunOptions = {}): Promise<SweepRunResult> {
  const prepared = await prepareSweep(spec, o.root ?? join("runs", "sweeps"));
  const info = o.info ?? (() => {});
  const todo = prepared.trials.filter((t) => {
    const s = prepared.statuses[t.index];
    if (o.executor !== "slurm" && runningElsewhere(s, prepared.dir)) {
      info(
        `trial ${t.index}: still running in process ${s!.pid} (left by an earlier sweep): not started again`,
      );
      return false;
    }
    return needsRun(t, s, o.retryFailed ?? false);
  });
  info(
    `sweep ${spec.name}: ${prepared.trials.length} trials, ${prepared.trials.length - todo.length} done, ` +
      `${todo.length} to run (${o.executor ?? "local"}) in ${prepared.dir}`,
  );
  const run = o.executor === "slurm" ? runSlurm : runLocal;
  const stopped = todo.length === 0 ? false : await run(spec, prepared.dir, prepared.trials, todo, o);
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

async function runLocal(
  spec: SweepSpec,
  dir: string,
  trials: Trial[],
  todo: Trial[],
  o: SweepRunOptions,
): Promise<boolean> {
  const info = o.info ?? (() => {});
  const parallel = Math.max(1, Math.min(o.parallel ?? spec.executor.parallel ?? 1, todo.length));
  const threads = Math.max(1, Math.floor(availableParallelism() / parallel));
  const statuses = new Map<number, TrialStatus | null>();
  for (const t of trials) statuses.set(t.index, await readStatus(trialDir(dir, t.index)));
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
      try {
        c.proc.kill("SIGTERM");
      } catch { /* already gone */ }
    }
  };
  while (queue.length > 0 || running.size > 0) {
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
        info(`trial ${c.trial.index}: over timeout_minutes (${spec.timeout_minutes}), stopping it`);
        try {
          c.proc.kill("SIGTERM");
        } catch { /* gone */ }
      }
    }
    if (ended !== null) {
      const { c, code } = ended;
      running.delete(c.trial.index);
      const tdir = trialDir(dir, c.trial.index);
      let s = await readStatus(tdir) ?? pendingStatus(c.trial);
      if (c.killedFor === "timeout") {
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

/** A job of `squeue --json` (the fields used here). */
interface SqueueJob {
  job_id: number;
  array_job_id?: number;
  array_task_id?: number | null;
  job_state?: string;
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
  const r = await command("squeue", ["--json"]);
  if (r.code !== 0) throw new Error(`squeue --json failed: ${r.err.trim()}`);
  const jobs = (JSON.parse(r.out) as { jobs?: SqueueJob[] }).jobs ?? [];
  return jobs.filter((j) =>
    (j.array_job_id === arrayId || j.job_id === arrayId) && ACTIVE.has(String(j.job_state ?? ""))
  );
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

function jobId(out: string): number {
  const id = Number(out.trim().split(";")[0]);
  if (!Number.isInteger(id)) throw new Error(`sbatch printed no job id: "${out.trim()}"`);
  return id;
}

async function runSlurm(
  spec: SweepSpec,
  dir: string,
  trials: Trial[],
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
  for (const i of rec.indices) seen.set(i, (await readStatus(trialDir(dir, i)))?.status ?? "pending");
  let stopping = false;
  const cancel = async (why: string) => {
    if (stopping) return;
    stopping = true;
    info(
      `sweep ${spec.name}: ${why}: scancel ${rec.array_job_id}${
        rec.report_job_id ? ` ${rec.report_job_id}` : ""
      }`,
    );
    await command("scancel", [
      String(rec.array_job_id),
      ...(rec.report_job_id ? [String(rec.report_job_id)] : []),
    ]);
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
    await new Promise((r) => setTimeout(r, poll));
  }
  // tasks that ended without a final status: ask Slurm how they ended
  for (const i of rec.indices) {
    const tdir = trialDir(dir, i);
    const s = await readStatus(tdir);
    if (s !== null && FINAL_STATES.has(s.status)) continue;
    const state = await jobState(`${rec.array_job_id}_${i}`);
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
