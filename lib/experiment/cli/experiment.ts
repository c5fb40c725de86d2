/**
 * `deno task experiment [config.jsonc] [--set key.path=value]… [--resume runs/<dir>]`
 *
 * Trains the config (the embedded quickstart when none is given), shows progress, and prints the run directory
 * as its last line. Bad input ends with one clear line on stderr and exit code 2; a failed run exits with 1.
 *
 * @module
 */
import { ConfigError, loadConfig } from "../config.ts";
import { runExperiment } from "../runner.ts";
import { progressPrinter } from "../progress.ts";
import { failer, parseCommandLine } from "./_shared.ts";

const USAGE =
  "usage: deno task experiment [config.jsonc] [--set key.path=value]... [--resume RUN_DIR] [--backend auto|js|wasm|blas] [--threads N]";

const fail: (msg: string, code?: number) => never = failer("experiment");

async function main(args: string[]): Promise<void> {
  const parsed = parseCommandLine(fail, USAGE, args, {
    set: { type: "string", multiple: true, default: [] },
    resume: { type: "string" },
    backend: { type: "string" },
    threads: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length > 1) {
    fail(`expected at most one config file, got ${positionals.length}\n${USAGE}`, 2);
  }
  if (values.resume && positionals.length > 0) {
    fail("--resume takes the run's own config; drop the config file", 2);
  }
  // --backend X and --threads N are shorthands for --set run.backend=X and --set run.threads=N
  const sets = [
    ...values.set,
    ...(values.backend ? [`run.backend=${values.backend}`] : []),
    ...(values.threads ? [`run.threads=${values.threads}`] : []),
  ];
  const enc = new TextEncoder();
  const out = (s: string) => Deno.stdout.writeSync(enc.encode(s));
  const bar = progressPrinter(out, Deno.stdout.isTerminal());
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) Deno.exit(130);
    stopRequested = true;
    console.error("\nexperiment: stopping after this step (checkpoint first); press Ctrl-C again to abort");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    const config = values.resume ? undefined : loadConfig({ path: positionals[0], sets }).config;
    const result = await runExperiment({
      config,
      resumeDir: values.resume,
      sets: values.resume ? sets : undefined,
      progress: bar.update,
      info: (line) => console.log(line),
      warn: (line) => console.error(line),
      shouldStop: () => stopRequested,
    });
    bar.done();
    const v = result.valLoss === null ? "n/a" : result.valLoss.toFixed(4);
    if (result.status === "interrupted") {
      console.log(
        `interrupted at step ${result.step}; resume with: deno task experiment --resume ${result.runDir}`,
      );
    } else {
      console.log(`done: step ${result.step}, val loss ${v} nats/token, report ${result.runDir}/report.html`);
    }
    console.log(result.runDir);
  } catch (e) {
    bar.done();
    if (e instanceof ConfigError) fail(e.message, 2);
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      // `deno task experiment` may write only under runs/ (no network, narrow writes)
      fail(
        `${
          (e as Error).message.split(", run again")[0]
        }: the task writes only under runs/ (set run.out_dir there, or ` +
          `run lib/experiment/cli/experiment.ts with --allow-write=<that folder>)`,
        1,
      );
    }
    fail((e as Error).message, 1);
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

await main(Deno.args);
