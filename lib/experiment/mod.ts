/**
 * Experiments: a JSONC config (with `extends` and `--set` overrides, checked by a zod schema) becomes a run
 * directory (config, manifest, metrics, checkpoints, samples, report) through the runner and the three model
 * families; finished runs load back for generation and evaluation; sweeps expand a grid or random search over
 * seeds into trials run by local subprocesses or Slurm job arrays.
 *
 * @example Train the quickstart config for a few steps
 * ```ts
 * import { loadConfig, runExperiment } from "@lcm/core/experiment";
 * const { config } = loadConfig({ path: "configs/quickstart.jsonc", sets: ["train.max_steps=20"] });
 * const result = await runExperiment({ config });
 * ```
 *
 * @example Train on text held in memory, with a config object (partial: the rest are the defaults)
 * ```ts
 * import { runExperiment } from "@lcm/core/experiment";
 * const text = "the quick brown fox jumps over the lazy dog. ".repeat(200);
 * await runExperiment({ config: { model: { n_layer: 2 }, train: { max_steps: 50 } }, text });
 * ```
 *
 * @module
 */
export {
  type Config,
  ConfigError,
  configHash,
  type ConfigInput,
  ConfigSchema,
  type DataConfig,
  DEFAULT_CONFIG,
  loadConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  type ModelConfig,
  parseConfig,
  parseSetOverride,
  type RunConfig,
  type SetOverride,
  type TrainConfig,
} from "./config.ts";
export type { JsonValue } from "./jsonc.ts";
export {
  buildOptimizer,
  type Manifest,
  runExperiment,
  type RunOptions,
  type RunResult,
  type RunRuntime,
} from "./runner.ts";
export { type LoadedRun, loadRun } from "./load.ts";
export { gitCommit, type LibraryInfo, libraryInfo, runtimeVersions } from "./provenance.ts";
export { configWarnings } from "./warnings.ts";
export { progressLine, progressPrinter } from "./progress.ts";
export {
  buildModel,
  type FamilyBatch,
  type FamilyModel,
  type FamilyRun,
  familyRun,
  type FamilyStreams,
  familyTokenizer,
  gptConfigOf,
} from "./families.ts";
export {
  continuationScores,
  type EvalProgress,
  type EvalResult,
  type EvaluateOptions,
  evaluateText,
  languageModelScores,
  type MetricName,
  textScores,
} from "./evaluate.ts";
export { expandSweep, loadSweep, validateSweep } from "./sweep.ts";
export { runTrial, type TrialOptions } from "./sweep_trial.ts";
export { runSweep, type SweepRunOptions, type SweepRunResult } from "./sweep_exec.ts";
