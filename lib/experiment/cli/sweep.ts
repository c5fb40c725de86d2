/**
 * `deno task sweep`: Runs (or resumes) a sweep (see `lib/experiment/sweep.ts` and `sweep_exec.ts`), then
 * writes its report. Its flags, defaults and examples are declared once in {@link SWEEP} (`--help` prints
 * them; docs/cli.md lists them).
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { writeSweepReport } from "../../report/sweep.ts";
import { loadSweep } from "../sweep.ts";
import { SweepError } from "../../report/sweepdir.ts";
import { cancelSubmittedSync, runSweep } from "../sweep_exec.ts";
import { failer } from "./_shared.ts";
import { type Command, parseOrExit } from "./_command.ts";
import { existingPath, userPath } from "./_paths.ts";

/** The declaration of `deno task sweep`. */
export const SWEEP = {
  name: "sweep",
  run: "deno task sweep",
  description:
    "Runs (or resumes) a sweep: every trial of a sweep file, locally in parallel or as a Slurm job " +
    "array, each trial's end reported as it happens with a live status line; then writes the sweep report " +
    "(report.html, trials.csv, summary.md in the sweep folder) and prints the ranking. Ctrl-C stops every trial " +
    "after its checkpoint (a second Ctrl-C aborts); run the same command again to resume. Exit code: 0 when " +
    "every trial completed, 1 when some did not, 2 for a bad sweep file or flag, 130 when interrupted. See " +
    "docs/sweeps.md.",
  positionals: [{ name: "SWEEP_FILE", description: "a sweep file (.jsonc); see docs/sweeps.md" }],
  flags: {
    executor: {
      type: "string",
      choices: ["local", "slurm"],
      default: "local",
      value: "NAME",
      description: "where trials run",
    },
    parallel: {
      type: "integer",
      min: 1,
      defaultText: "the sweep file's executor.parallel, else 1",
      description: "trials at once",
    },
    "retry-failed": { type: "boolean", description: "run failed and diverged trials again" },
    "fail-fast": { type: "boolean", description: "stop the sweep at the first failed trial" },
    set: {
      type: "string",
      multiple: true,
      value: "KEY=VALUE",
      description: "override a config key in every trial, after the sweep file's own set",
    },
    root: {
      type: "string",
      defaultText: "runs/sweeps",
      value: "DIR",
      description: "the folder of sweep folders",
    },
  },
  examples: [
    "deno task sweep configs/sweeps/lr-random.jsonc",
    "deno task sweep configs/sweeps/lr-random.jsonc --parallel 2 --set train.max_steps=50",
  ],
} as const satisfies Command;

const fail: (msg: string, code?: number) => never = failer("sweep");

async function main(args: string[]): Promise<void> {
  const { values: v, positionals } = parseOrExit(SWEEP, args);
  // the default is the repository's runs/sweeps; a typed --root is taken from where it was typed
  const root = v.root === undefined ? "runs/sweeps" : userPath(v.root);
  let stop = false;
  let sweepDir: string | null = null;
  const onSigint = () => {
    if (stop) {
      // a second Ctrl-C: leave no Slurm job running unwatched
      if (v.executor === "slurm" && sweepDir !== null) {
        const ids = cancelSubmittedSync(sweepDir);
        if (ids !== null) console.error(`sweep: scancel ${ids.join(" ")}`);
      }
      Deno.exit(130);
    }
    stop = true;
    console.error("\nsweep: stopping every trial after its checkpoint; press Ctrl-C again to abort");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const tty = Deno.stdout.isTerminal();
  let shown = "";
  const enc = new TextEncoder();
  const statusLine = (line: string) => {
    if (tty) Deno.stdout.writeSync(enc.encode(`\r\x1b[2K${line.slice(0, 160)}`));
    else if (line !== shown) console.log(line);
    shown = line;
  };
  const info = (line: string) => {
    if (tty) Deno.stdout.writeSync(enc.encode("\r\x1b[2K"));
    console.log(line);
    if (tty && shown) Deno.stdout.writeSync(enc.encode(shown.slice(0, 160)));
  };
  try {
    const spec = await loadSweep(existingPath(positionals[0], fail));
    spec.set = [...spec.set, ...(v.set)];
    sweepDir = join(root, spec.name);
    const result = await runSweep(spec, {
      executor: v.executor,
      root,
      parallel: v.parallel,
      retryFailed: v["retry-failed"],
      failFast: v["fail-fast"],
      info,
      statusLine,
      shouldStop: () => stop,
    });
    if (tty) console.log();
    const { summary, paths } = await writeSweepReport(result.dir);
    console.log(`\n${summary}\n`);
    for (const p of paths) console.log(p);
    const notDone = result.statuses.filter((s) => s.status !== "completed").length;
    process.exitCode = stop ? 130 : notDone > 0 ? 1 : 0;
  } catch (e) {
    if (tty) console.log();
    fail((e as Error).message, e instanceof SweepError ? 2 : 1);
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

if (import.meta.main) await main(Deno.args);
