/**
 * `deno task experiment`: Trains a config, shows progress, and prints the run directory as its last line. Bad
 * input ends with one clear line on stderr and exit code 2; a failed run exits with 1. Its flags, defaults
 * and examples are declared once in {@link EXPERIMENT} (`--help` prints them; docs/cli.md lists them).
 *
 * @module
 */
import { ConfigError, loadConfig } from "../config.ts";
import { runExperiment } from "../runner.ts";
import { progressPrinter } from "../progress.ts";
import { failer } from "./_shared.ts";
import { type Command, parseOrExit } from "./_command.ts";
import { existingPath } from "./_paths.ts";

/** The declaration of `deno task experiment`. */
export const EXPERIMENT = {
  name: "experiment",
  run: "deno task experiment",
  description:
    "Trains a model from a config file (the embedded quickstart when none is given), shows progress, " +
    "writes the run into runs/<name>-<stamp>/ (config, metrics, checkpoints, report.html) and prints the run " +
    "directory as its last line. Ctrl-C stops after a checkpoint; --resume continues a stopped run. A bad " +
    "config or flag exits 2, a failed run 1.",
  positionals: [{
    name: "CONFIG",
    description: "a config file (.jsonc); see docs/config.md",
    optional: true,
  }],
  flags: {
    set: {
      type: "string",
      multiple: true,
      value: "KEY=VALUE",
      description: "override one config key, e.g. --set train.max_steps=100",
    },
    resume: {
      type: "string",
      value: "RUN_DIR",
      defaultText: "none (a new run)",
      description: "continue a stopped run with its own config",
    },
    backend: {
      type: "string",
      choices: ["auto", "js", "wasm", "blas", "webgpu"],
      value: "NAME",
      defaultText: "the config's run.backend (auto)",
      description: "kernel backend; shorthand for --set run.backend=NAME",
    },
    threads: {
      type: "integer",
      min: 1,
      defaultText: "the config's run.threads (every core)",
      description: "kernel threads; shorthand for --set run.threads=N",
    },
  },
  examples: [
    "deno task experiment configs/tiny.jsonc",
    "deno task experiment configs/quickstart.jsonc --set train.max_steps=500 --threads 4",
  ],
} as const satisfies Command;

const fail: (msg: string, code?: number) => never = failer("experiment");

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseOrExit(EXPERIMENT, args);
  if (values.resume && positionals.length > 0) {
    fail("--resume takes the run's own config; drop the config file", 2);
  }
  const path = positionals[0] === undefined ? undefined : existingPath(positionals[0], fail);
  const resume = values.resume === undefined ? undefined : existingPath(values.resume, fail);
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
    const config = resume ? undefined : loadConfig({ path, sets }).config;
    const result = await runExperiment({
      config,
      resumeDir: resume,
      sets: resume ? sets : undefined,
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

if (import.meta.main) await main(Deno.args);
