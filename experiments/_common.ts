/**
 * What the comparison scripts share: train one config with a few overrides (timed, quietly, no per-run
 * report), and read a run's metrics back.
 *
 * @module
 */
import { type Config, loadConfig, runExperiment, type RunResult } from "../mod.ts";

/** A finished comparison run. */
export interface TimedRun {
  /** What the runner returned. */
  result: RunResult;
  /** The config it trained. */
  config: Config;
  /** Wall-clock seconds. */
  seconds: number;
}

/**
 * Trains `path` with `sets` on top of `train.max_steps=<steps>`, validation `evals` times over the run, no
 * samples and `run.name=<name>`; info lines are printed with a `[name]` prefix.
 */
export async function trainVariant(
  name: string,
  path: string,
  steps: number,
  sets: string[],
  evals = 4,
): Promise<TimedRun> {
  const { config } = loadConfig({
    path,
    sets: [
      `train.max_steps=${steps}`,
      `train.eval_interval=${Math.max(1, Math.floor(steps / evals))}`,
      "train.sample_tokens=0",
      `run.name=${name}`,
      ...sets,
    ],
  });
  const t0 = performance.now();
  const result = await runExperiment({
    config,
    info: (l) => console.log(`[${name}] ${l}`),
    noReport: true,
  });
  return { result, config, seconds: (performance.now() - t0) / 1000 };
}

/** One metrics.jsonl event (the fields the scripts read). */
export interface MetricLine {
  /** Step. */
  step: number;
  /** "train", "val" or "resume". */
  split: string;
  /** Loss. */
  loss: number;
  /** fp16: steps skipped since the last train line. */
  skipped_steps?: number;
  /** fp16: the loss scale. */
  loss_scale?: number;
}

/** The events of a run's metrics.jsonl, in order. */
export async function readMetricLines(runDir: string): Promise<MetricLine[]> {
  return (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).split("\n").filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as MetricLine);
}
