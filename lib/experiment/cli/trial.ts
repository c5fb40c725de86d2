/**
 * `trial.ts`: Runs one trial of an expanded sweep (see `lib/experiment/sweep_trial.ts`); the sweep executors
 * start it. Its flags, defaults and examples are declared once in {@link TRIAL} (`--help` prints them;
 * docs/cli.md lists them).
 *
 * @module
 */
import process from "node:process";
import { runTrial, TRIAL_EXIT } from "../sweep_trial.ts";
import { failer } from "./_shared.ts";
import { type Command, parseOrExit } from "./_command.ts";

/** The declaration of `trial.ts` (started by the sweep executors, not by hand). */
export const TRIAL = {
  name: "trial",
  run:
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname lib/experiment/cli/trial.ts",
  description:
    "Runs one trial of an expanded sweep. The sweep executors start it, one process per trial: the " +
    "local pool as a subprocess, Slurm from the job array's batch script (INDEX is then $SLURM_ARRAY_TASK_ID). " +
    "SIGTERM or SIGINT checkpoint and stop the run, leaving the trial cancelled and resumable. Prints step S/M " +
    "progress lines (at most every 2 s); exits 0 completed, 1 failed, 3 diverged, 4 cancelled, 2 for bad " +
    "arguments.",
  positionals: [
    { name: "SWEEP_DIR", description: "the sweep folder (runs/sweeps/<name>)" },
    { name: "INDEX", description: "the trial's index in the sweep" },
  ],
  flags: {
    threads: {
      type: "integer",
      min: 1,
      defaultText: "the trial config's run.threads",
      description: "kernel threads",
    },
    executor: {
      type: "string",
      choices: ["local", "slurm"],
      default: "local",
      value: "NAME",
      description: "which executor started it (recorded in the trial's status)",
    },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname lib/experiment/cli/trial.ts " +
    "runs/sweeps/lr-random 0",
  ],
} as const satisfies Command;

const fail: (msg: string, code?: number) => never = failer("trial");

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseOrExit(TRIAL, args);
  const [sweepDir, indexText] = positionals;
  if (!/^[0-9]+$/.test(indexText)) fail(`INDEX: expected an integer >= 0, got "${indexText}"`);
  const index = Number(indexText);
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
      threads: values.threads,
      executor: values.executor,
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
}

if (import.meta.main) await main(Deno.args);
