/**
 * `deno task sweep <sweep.jsonc> [--executor local|slurm] [--parallel N] [--retry-failed] [--fail-fast]
 * [--set key=value]... [--root DIR]`: runs (or resumes) a sweep in `DIR/<name>` (default `runs/sweeps`) (see `lib/experiment/sweep.ts` and `sweep_exec.ts`), reports
 * each trial's end as it happens with a live status line, then writes the sweep report (`report.html`,
 * `trials.csv`, `summary.md` in the sweep folder) and prints the ranking. `--set` overrides apply to every trial,
 * after the sweep file's own `set`. Ctrl-C stops every trial after its checkpoint (a second Ctrl-C aborts); run
 * the same command again to resume. Exit code: 0 when every trial completed, 1 when some did not, 2 for a bad
 * sweep file or flag, 130 when interrupted.
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { writeSweepReport } from "../../report/sweep.ts";
import { loadSweep } from "../sweep.ts";
import { SweepError } from "../../report/sweepdir.ts";
import { cancelSubmittedSync, runSweep } from "../sweep_exec.ts";
import { failer, numberFlag, parseCommandLine } from "./_shared.ts";

const USAGE =
  "usage: deno task sweep <sweep.jsonc> [--executor local|slurm] [--parallel N] [--retry-failed] " +
  "[--fail-fast] [--set key=value]... [--root DIR]";
const fail: (msg: string, code?: number) => never = failer("sweep");

const parsed = parseCommandLine(fail, USAGE, Deno.args, {
  executor: { type: "string", default: "local" },
  parallel: { type: "string" },
  "retry-failed": { type: "boolean", default: false },
  "fail-fast": { type: "boolean", default: false },
  set: { type: "string", multiple: true },
  root: { type: "string", default: "runs/sweeps" },
  help: { type: "boolean", short: "h" },
});
const v = parsed.values;
if (v.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (parsed.positionals.length !== 1) fail(`expected one sweep file\n${USAGE}`);
if (v.executor !== "local" && v.executor !== "slurm") {
  fail(`--executor: expected local or slurm, got "${v.executor}"`);
}
const parallel = numberFlag(fail, "parallel", v.parallel, { int: true, min: 1 });

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
  const spec = await loadSweep(parsed.positionals[0]);
  spec.set = [...spec.set, ...(v.set ?? [])];
  sweepDir = join(v.root, spec.name);
  const result = await runSweep(spec, {
    executor: v.executor,
    root: v.root,
    parallel,
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
