/**
 * `deno run … lib/experiment/cli/trial.ts <sweep-dir> <index> [--threads N] [--executor local|slurm]`: runs one
 * trial of an expanded sweep (see `lib/experiment/sweep_trial.ts`). The sweep executors start it, one process per
 * trial: the local pool as a subprocess, Slurm from the job array's batch script (`<index>` is then
 * `$SLURM_ARRAY_TASK_ID`). SIGTERM or SIGINT (Slurm's scancel and time limit, Ctrl-C, the local pool's timeout)
 * checkpoint and stop the run, leaving the trial `cancelled` and resumable. Prints `step S/M` progress lines (at
 * most every 2 s); exits 0 completed, 1 failed, 3 diverged, 4 cancelled, 2 for bad arguments.
 *
 * @module
 */
import process from "node:process";
import { runTrial, TRIAL_EXIT } from "../sweep_trial.ts";
import { failer, numberFlag, parseCommandLine } from "./_shared.ts";

const USAGE = "usage: trial.ts <sweep-dir> <index> [--threads N] [--executor local|slurm]";
const fail: (msg: string, code?: number) => never = failer("trial");

const parsed = parseCommandLine(fail, USAGE, Deno.args, {
  threads: { type: "string" },
  executor: { type: "string" },
});
if (parsed.positionals.length !== 2) fail(`expected a sweep folder and a trial index\n${USAGE}`);
const [sweepDir, indexText] = parsed.positionals;
const index = numberFlag(fail, "index", indexText, { int: true, min: 0 })!;
const threads = numberFlag(fail, "threads", parsed.values.threads, { int: true, min: 1 });
// The first signal stops after a checkpoint. Only a second SIGINT (Ctrl-C twice at a terminal, which reaches the
// pool's children too) aborts: the pool forwards a terminal's Ctrl-C as SIGTERM, which must not count twice.
let stop = false;
const onSignal = (kind: "SIGINT" | "SIGTERM") => () => {
  if (stop && kind === "SIGINT") Deno.exit(130);
  if (stop) return;
  stop = true;
  console.log(`trial ${index}: ${kind}: stopping after this step (checkpoint first)`);
};
Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
const jobId = Deno.env.get("SLURM_ARRAY_JOB_ID"), taskId = Deno.env.get("SLURM_ARRAY_TASK_ID");
let last = 0;
try {
  const status = await runTrial(sweepDir, index, {
    threads,
    executor: parsed.values.executor ?? "local",
    slurmJob: jobId !== undefined && taskId !== undefined ? `${jobId}_${taskId}` : undefined,
    shouldStop: () => stop,
    info: (line) => console.log(line),
    progress: (step, max) => {
      const now = Date.now();
      if (now - last >= 2000 || step === max) {
        last = now;
        console.log(`step ${step}/${max}`);
      }
    },
  });
  console.log(
    `trial ${index}: ${status.status}` + (status.error ? `: ${status.error}` : "") +
      (status.metrics.val_loss !== undefined ? `, val loss ${status.metrics.val_loss.toFixed(4)}` : ""),
  );
  process.exitCode = TRIAL_EXIT[status.status as keyof typeof TRIAL_EXIT] ?? 1;
} catch (e) {
  fail((e as Error).message, 2);
}
