/**
 * The experiment runner: config → run directory → data → model → training → report.
 *
 * A run directory holds `config.json` (the resolved config), `manifest.json` (seed, versions, hashes, times,
 * status), `metrics.jsonl` (append-only events), `tokenizer.json`, `checkpoints/`, `samples.txt` and
 * `report.html`. Resuming reads the config, tokenizer and newest checkpoint back from the directory.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { loadTokenizer, saveTokenizer } from "../data/tokenizer.ts";
import { tokenizeCached, tokenizeProgressLine } from "../data/token_cache.ts";
import { type CorpusFiles, scanCorpus, skippedSummary, textCorpus, type TextSplits } from "../data/corpus.ts";
import { arrayTokens } from "../data/token_source.ts";
import { appendJsonLine, WriteError, writeFileAtomic } from "../io/atomic.ts";
import { type HeldLock, lockRun } from "../io/lock.ts";
import { AdamW } from "../optim/adamw.ts";
import { layerLrScales, type NamedParam, type Optimizer, uniqueParams } from "../optim/param.ts";
import { cosineWithWarmup } from "../optim/schedule.ts";
import { SGD } from "../optim/sgd.ts";
import { type BackendName, backendReason, setBackend } from "../kernels/backend.ts";
import { defaultThreads, setThreads, whenThreadsReady } from "../kernels/wasm/pool.ts";
import { Rng } from "../random.ts";
import { writeReport } from "../report/report.ts";
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../train/checkpoint.ts";
import { MixedPrecision } from "../train/precision.ts";
import { NonFiniteError, type Progress, train, type TrainerState } from "../train/trainer.ts";
import { canonicalJson, type Config, configHash, type ConfigInput, loadConfig } from "./config.ts";
import { progressLine } from "./progress.ts";
import { buildModel, corpusOptions, familyRun, familyTokenizer } from "./families.ts";
import { checkTokenizerAgrees, loadOptimizerAgreeing, loadWeightsAgreeing } from "./agree.ts";
import { pathExists } from "../io/exists.ts";
import { configWarnings } from "./warnings.ts";
import { gitCommit, type LibraryInfo, libraryInfo, runtimeVersions } from "./provenance.ts";
import { adapterLabel, openRunGpu, webgpuSkipped } from "./webgpu.ts";
import type { Gpu } from "../kernels/webgpu/runtime.ts";

export { gptConfigOf } from "./families.ts";

/** What {@link runExperiment} needs. */
export interface RunOptions {
  /**
   * The config: a resolved one (`loadConfig`), or an object as partial as a file (`{ model: { n_layer: 2 } }`,
   * the rest defaults), validated with the same one-line `ConfigError`s. Ignored when resuming: the run's
   * own config.json is used, plus `sets`.
   */
  config?: ConfigInput;
  /** Resume this run directory from its newest checkpoint. */
  resumeDir?: string;
  /** `--set` overrides (`train.max_steps=2000`) applied to the config, or to a resumed run's config.json. */
  sets?: string[];
  /**
   * Train on this text instead of the config's corpus: one string (split by `data.val_fraction` and
   * `data.test_fraction` of its length) or the splits. Its hash is recorded; a resume needs the same text.
   */
  text?: string | TextSplits;
  /** Progress callback, at every log interval; default: a plain line on stdout (none when `quiet`). */
  progress?: (p: Progress) => void;
  /** Informational lines (data sizes, where things are written); default: stdout (none when `quiet`). */
  info?: (line: string) => void;
  /** Warning lines (a stale run lock taken over); default: `info` when given, else stderr (none when `quiet`). */
  warn?: (line: string) => void;
  /** Print nothing by default: only the callbacks given report. */
  quiet?: boolean;
  /** Checked after each step; true → checkpoint and stop (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Clock for the run directory's timestamp. */
  now?: () => Date;
  /** Called once the run directory exists, before training (a sweep records it in the trial's status). */
  onRunDir?: (runDir: string) => void | Promise<void>;
  /** Skip writing report.html at the end (tests that do not need it). */
  noReport?: boolean;
}

/** Outcome of a run. */
export interface RunResult {
  /** The run directory. */
  runDir: string;
  /** Final status. */
  status: "completed" | "interrupted";
  /** Steps completed. */
  step: number;
  /** Last validation loss. */
  valLoss: number | null;
  /** Last training loss. */
  trainLoss: number | null;
}

/** What ran a run's kernels (the process that trained last, for a resumed run). */
export interface RunRuntime {
  /** The backend the config asked for (`run.backend`). */
  backend_requested: Config["run"]["backend"];
  /** The backend that ran (an unavailable `blas` falls back to wasm or js). */
  backend_used: BackendName | "webgpu";
  /** Why: `requested`, or what `auto` found (`auto: OpenBLAS at <path>`, or why not and the fallback). */
  backend_reason?: string;
  /** Kernel threads in use (the wasm thread pool, the calling thread included). */
  threads: number;
  /** The GPU adapter, on a GPU backend; null on the CPU. */
  adapter: string | null;
}

/** The run's manifest.json. */
export interface Manifest {
  /** Run name (config run.name). */
  name: string;
  /** Run directory. */
  run_dir: string;
  /** Seed. */
  seed: number;
  /** What ran the kernels: backend asked for and used, threads, GPU adapter. */
  runtime: RunRuntime;
  /** Versions of the JavaScript runtime (e.g. `{deno, v8, typescript}`), of the process that trained last. */
  versions: Record<string, string>;
  /** Deno version, when known (also in `versions`; kept for readers of older manifests). */
  deno_version: string | null;
  /** The library that started the run: name, version, commit when its files are a git checkout. */
  library: LibraryInfo;
  /** Commit of the calling project (the git checkout holding the working directory), else null. */
  git_commit: string | null;
  /** sha256 of the canonical config. */
  config_hash: string;
  /** sha256 of the corpus files. */
  data_hash: string;
  /** Parameters (tied weights once). */
  params: number;
  /** Vocabulary size. */
  vocab_size: number;
  /** Training tokens in the corpus. */
  train_tokens: number;
  /** Validation tokens. */
  val_tokens: number;
  /** ISO time the run started. */
  start_time: string;
  /** ISO time it ended (null while running). */
  end_time: string | null;
  /** Status. */
  status: "running" | "completed" | "failed" | "interrupted";
  /** Error message of a failed run. */
  error: string | null;
  /** Final figures. */
  final: { step: number; train_loss: number | null; val_loss: number | null } | null;
}

/** `d` in local time as `YYYYMMDD-HHMMSS`, the stamp of run directory names. */
export function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${
    p(d.getSeconds())
  }`;
}

/** The stand-in corpus of a generated task: no text; its hash names the task, so a resume checks it. */
function generatedCorpus(config: Config): CorpusFiles {
  const d = config.data;
  const task = JSON.stringify([d.task, d.task_symbols, d.task_min_len, d.task_max_len]);
  const hash = createHash("sha256").update(`generated:${task}`).digest("hex");
  return {
    files: [],
    trainFiles: [],
    valFiles: [],
    testFiles: [],
    hash,
    bytes: 0,
    skipped: [],
    splitKey: "generated",
    splitBytes: { train: 0, val: 0, test: 0 },
    pieces: async function* () {},
  };
}

/** Builds the optimizer named by the config. */
export function buildOptimizer(config: Config, params: NamedParam[]): Optimizer {
  const t = config.train;
  const lrScale = t.layer_lr_decay === 1 ? undefined : layerLrScales(config.model.n_layer, t.layer_lr_decay);
  if (t.optimizer === "sgd") {
    return new SGD(params, {
      lr: t.learning_rate,
      momentum: t.momentum,
      weightDecay: t.weight_decay,
      lrScale,
    });
  }
  return new AdamW(params, {
    lr: t.learning_rate,
    beta1: t.beta1,
    beta2: t.beta2,
    eps: t.eps,
    weightDecay: t.weight_decay,
    lrScale,
  });
}

/** Random streams of a run, all derived from the seed in a fixed order. */
function streams(seed: number) {
  const root = new Rng(seed);
  // forked in a fixed order; a new stream goes at the end so the others stay the same
  return { init: root.fork(), data: root.fork(), sample: root.fork(), mask: root.fork() };
}

async function newRunDir(config: Config, now: Date): Promise<string> {
  const base = join(config.run.out_dir, `${config.run.name}-${stamp(now)}`);
  await mkdir(config.run.out_dir, { recursive: true });
  // mkdir without `recursive` fails on an existing folder: two runs started in the same second get two folders
  for (let i = 1;; i++) {
    const dir = i === 1 ? base : `${base}-${i}`;
    try {
      await mkdir(dir);
      return dir;
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EEXIST") throw e;
    }
  }
}

/** Where a run stands, for the message of a failed write. */
interface RunPlace {
  runDir?: string;
  lock?: HeldLock;
  /** The token cache folder. */
  cacheDir?: string;
  /** The step the run is at (the start step, then each evaluation's). */
  step?: number;
  /** Closes the token shards. */
  closeTokens?: () => void;
  /** The GPU of a run on webgpu (destroyed when the run ends). */
  gpu?: Gpu;
}

/**
 * One line for a failed write: the file, the step, the last good checkpoint and the command that resumes the run
 * (the token cache's failure says it is the cache's).
 */
async function writeFailure(e: WriteError, at: RunPlace): Promise<string> {
  const latest = at.runDir === undefined ? null : await latestCheckpoint(at.runDir).catch(() => null);
  const inCache = at.cacheDir !== undefined && e.path.startsWith(at.cacheDir);
  const step = e.step ?? at.step ?? latest?.step ?? 0;
  const what = inCache ? ` writing the token cache ${at.cacheDir} (the corpus's token ids)` : "";
  const next = latest !== null && at.runDir !== undefined
    ? `last good checkpoint: ${latest.dir} (step ${latest.step}); ` +
      `resume with: deno task experiment --resume ${at.runDir}`
    : "no checkpoint yet: start the run again once the disk is writable";
  return `${e.message}${what} at step ${step}; ${next}`;
}

/**
 * Trains (or resumes) one run; returns where it lives. The process holds the run's lock file
 * (`<runDir>/run.lock`) while it writes the run: a second writer is refused with a `LockedError`. Errors carry a
 * one-line message for the CLI; a failed write names the file, the step, the last good checkpoint and the command
 * that resumes the run.
 */
export async function runExperiment(opts: RunOptions): Promise<RunResult> {
  const at: RunPlace = {};
  try {
    return await runLocked(opts, at);
  } catch (e) {
    if (e instanceof WriteError) throw new Error(await writeFailure(e, at), { cause: e });
    throw e;
  } finally {
    at.closeTokens?.();
    at.gpu?.destroy();
    await at.lock?.release();
  }
}

async function runLocked(opts: RunOptions, at: RunPlace): Promise<RunResult> {
  // what is not handled by a callback is printed, unless quiet
  const unlessQuiet = <F>(print: F): F | undefined => (opts.quiet ? undefined : print);
  const info = opts.info ?? unlessQuiet((line: string) => console.log(line)) ?? (() => {});
  const warn = opts.warn ?? opts.info ?? unlessQuiet((line: string) => console.error(line)) ?? (() => {});
  const progress = opts.progress ?? unlessQuiet((p: Progress) => console.log(progressLine(p)));
  const resuming = opts.resumeDir !== undefined;
  let config: Config;
  if (opts.resumeDir !== undefined) {
    const p = join(opts.resumeDir, "config.json");
    if (!(await pathExists(p))) throw new Error(`${opts.resumeDir}: not a run directory (no config.json)`);
    config = loadConfig({ path: p, sets: opts.sets }).config;
  } else {
    if (!opts.config) throw new Error("runExperiment: a config or a resumeDir is required");
    config = loadConfig({ config: opts.config, sets: opts.sets }).config;
  }
  for (const w of configWarnings(config)) warn(`warning: ${w}`);
  // webgpu: the GPU is opened first, so that a machine without one fails before anything is written
  const gpu = config.run.backend === "webgpu" ? await openRunGpu(config) : null;
  if (gpu !== null) at.gpu = gpu;
  // a t5 generated task draws its own strings: the corpus is not its data (and need not be installed)
  const generated = config.model.family === "t5" && config.data.task !== "corpus";
  const d = config.data;
  const corpus: CorpusFiles = generated
    ? generatedCorpus(config)
    : opts.text !== undefined
    ? textCorpus(opts.text, d.val_fraction, d.test_fraction)
    : await scanCorpus(corpusOptions(config));
  const skipped = skippedSummary(corpus.skipped);
  if (skipped !== null) warn(`warning: data.${d.paths.length > 0 ? "paths" : "corpus"}: ${skipped}`);
  const runDir = opts.resumeDir ?? await newRunDir(config, (opts.now ?? (() => new Date()))());
  at.lock = await lockRun(runDir, warn);
  at.runDir = runDir;
  await opts.onRunDir?.(runDir);
  const tokenizerPath = join(runDir, "tokenizer.json");
  const tokenizer = resuming ? await loadTokenizer(tokenizerPath) : await familyTokenizer(config, corpus);
  // a resumed run's files must agree before the corpus is encoded with its tokenizer
  const ck = resuming ? await loadCheckpoint(runDir) : null;
  const weightsPath = ck === null ? "" : join(ck.dir, "model.safetensors");
  if (ck !== null) checkTokenizerAgrees(config, tokenizer.vocabSize, tokenizerPath, ck.weights, weightsPath);
  // encoded once per corpus and tokenizer, then read back from <run.out_dir>/.cache/tokens
  at.cacheDir = join(config.run.out_dir, ".cache", "tokens");
  if (!generated) info(`token cache: ${at.cacheDir}`);
  // token shards, read by position; closed when the run ends
  const tokens = generated
    ? {
      train: arrayTokens(new Int32Array(0)),
      val: arrayTokens(new Int32Array(0)),
      cached: false,
      close() {},
    }
    : await tokenizeCached(at.cacheDir, corpus, tokenizer, {
      onProgress: (p) => info(tokenizeProgressLine(p)),
      warn,
    });
  at.closeTokens = () => tokens.close();
  const trainTokens = tokens.train, valTokens = tokens.val;
  info(
    generated
      ? `data: generated task "${config.data.task}", ${config.data.task_symbols} symbols, lengths ` +
        `${config.data.task_min_len}–${config.data.task_max_len}`
      : `data: ${
        opts.text !== undefined
          ? "in-memory text"
          : `${corpus.files.length} files (${corpus.trainFiles.length} train, ${corpus.valFiles.length} val)`
      }, ${trainTokens.length} train / ${valTokens.length} val tokens${tokens.cached ? " (cached)" : ""}, ` +
        `vocab ${tokenizer.vocabSize}`,
  );

  // on webgpu, what stays on the CPU (data, initialisation) runs on auto's CPU backend
  const backend = setBackend(config.run.backend === "webgpu" ? "auto" : config.run.backend);
  // blas: the pool hands blocks of each large product to OpenBLAS (one thread each)
  const threads = setThreads(backend === "js" ? 1 : config.run.threads || defaultThreads());
  await whenThreadsReady();
  const cpuSide = `${backend}, ${threads} thread${threads > 1 ? "s" : ""} (${backendReason()})`;
  const runtime: RunRuntime = {
    backend_requested: config.run.backend,
    backend_used: gpu === null ? backend : "webgpu",
    backend_reason: gpu === null ? backendReason() : `requested; on the CPU: ${cpuSide}`,
    threads,
    adapter: gpu === null ? null : adapterLabel(gpu),
  };
  info(
    gpu === null ? `backend: ${cpuSide}` : `backend: webgpu (${adapterLabel(gpu)}); on the CPU: ${cpuSide}`,
  );
  const notOnGpu = gpu === null ? null : webgpuSkipped(config);
  if (notOnGpu !== null) info(notOnGpu);
  const rngs = streams(config.train.seed);
  const model = buildModel(config, tokenizer.vocabSize, rngs.init);
  // on webgpu the parameters move to the GPU before the optimizer is made (its state is made beside them)
  if (gpu !== null) model.toGpu(gpu);
  const params = uniqueParams(model.namedParameters());
  const optimizer = buildOptimizer(config, params);
  // after the optimizer: it moves the parameters into its flat buffer, which holds the float32 master weights
  const precision = config.train.precision === "fp32"
    ? undefined
    : new MixedPrecision(params, config.train.precision, {
      lossScale: config.train.loss_scale,
      growthInterval: config.train.loss_scale_growth_interval,
    });
  const family = familyRun(config, model, tokenizer, trainTokens, valTokens, rngs);
  const batcher = family.batcher;
  const t = config.train;
  const schedule = cosineWithWarmup({
    lr: t.learning_rate,
    minLr: t.min_learning_rate,
    warmupSteps: Math.min(t.warmup_steps, t.lr_decay_steps ?? t.max_steps),
    decaySteps: t.lr_decay_steps ?? t.max_steps,
  });
  info(
    `model: ${config.model.family}, ${model.numParameters()} parameters (${config.model.n_layer} layers, ` +
      `n_embd ${config.model.n_embd})`,
  );

  let start: TrainerState = {
    step: 0,
    tokensSeen: 0,
    elapsed: 0,
    intervalLoss: 0,
    intervalSteps: 0,
    batcher: batcher.state(),
    dropout: model.dropoutRng.state(),
  };
  const manifestPath = join(runDir, "manifest.json");
  const metricsPath = join(runDir, "metrics.jsonl");
  const versions = runtimeVersions();
  let manifest: Manifest;
  // where a resumed run stood: its last losses stand until a step (or an evaluation) of this process replaces them
  let reached: Manifest["final"] = null;
  if (ck !== null) {
    const configLabel = join(runDir, "config.json") +
      (opts.sets?.length ? ` (with --set ${opts.sets.join(" ")})` : "");
    loadWeightsAgreeing(model, ck.weights, weightsPath, configLabel);
    loadOptimizerAgreeing(optimizer, ck.optimizer, join(ck.dir, "optimizer.safetensors"), weightsPath);
    const st = ck.state.rng as { trainer?: TrainerState };
    if (!st.trainer) throw new Error(`${join(ck.dir, "state.json")}: corrupted (no trainer state)`);
    start = st.trainer;
    batcher.setState(start.batcher);
    model.dropoutRng.setState(start.dropout);
    manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    if (manifest.final?.step === start.step) reached = manifest.final;
    if (manifest.data_hash !== corpus.hash) {
      throw new Error(
        opts.text !== undefined
          ? `${runDir}: the text changed since the run started (data hash differs); pass the same text, or ` +
            "start a new run"
          : `${runDir}: the corpus changed since the run started (data hash differs); start a new run`,
      );
    }
    manifest.status = "running";
    manifest.runtime = runtime;
    manifest.versions = versions;
    manifest.end_time = null;
    manifest.error = null;
    manifest.config_hash = configHash(config);
    await writeFileAtomic(join(runDir, "config.json"), canonicalJson(config) + "\n");
    await appendJsonLine(metricsPath, { step: start.step, split: "resume", elapsed_s: start.elapsed });
    info(`resuming ${runDir} at step ${start.step}`);
  } else {
    await writeFileAtomic(join(runDir, "config.json"), canonicalJson(config) + "\n");
    await saveTokenizer(join(runDir, "tokenizer.json"), tokenizer);
    await writeFile(metricsPath, "");
    manifest = {
      name: config.run.name,
      run_dir: runDir,
      seed: config.train.seed,
      runtime,
      versions,
      deno_version: versions.deno ?? null,
      library: await libraryInfo(),
      git_commit: await gitCommit(),
      config_hash: configHash(config),
      data_hash: corpus.hash,
      params: model.numParameters(),
      vocab_size: tokenizer.vocabSize,
      train_tokens: trainTokens.length,
      val_tokens: valTokens.length,
      start_time: new Date().toISOString(),
      end_time: null,
      status: "running",
      error: null,
      final: null,
    };
  }
  const saveManifest = () => writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
  await saveManifest();

  const samplesPath = join(runDir, "samples.txt");
  at.step = start.step;
  const afterEval = async (step: number, valLoss: number) => {
    at.step = step;
    const sample = await family.sample(step);
    if (sample === null) return;
    const newline = sample.indexOf("\n");
    const text = sample.slice(newline + 1);
    const header = `--- step ${step}, val loss ${valLoss.toFixed(4)}, ${sample.slice(0, newline)} ---\n`;
    const prev = (await pathExists(samplesPath)) ? await readFile(samplesPath, "utf8") : "";
    await writeFileAtomic(samplesPath, prev + header + text + "\n\n");
  };

  try {
    const out = await train({
      learner: {
        model,
        params,
        optimizer,
        schedule,
        gradClip: t.grad_clip,
        gradAccumSteps: t.grad_accum_steps,
        precision,
      },
      data: family,
      intervals: {
        maxSteps: t.max_steps,
        log: t.log_interval,
        detail: t.log_interval_detail,
        eval: t.eval_interval,
        checkpoint: t.checkpoint_interval,
      },
      hooks: {
        log: (e) => appendJsonLine(metricsPath, e),
        checkpoint: async (s) => {
          await saveCheckpoint(runDir, model, await optimizer.stateDictAsync(), {
            step: s.step,
            rng: { trainer: s },
            tokens_seen: s.tokensSeen,
            elapsed_s: s.elapsed,
          });
        },
        afterEval,
        progress,
        shouldStop: opts.shouldStop,
        memoryMb: () => process.memoryUsage().rss / 2 ** 20,
      },
    }, start);
    // an error the device reported (after its last check) fails the run rather than passing unseen
    await gpu?.finish();
    const trainLoss = out.trainLoss ?? reached?.train_loss ?? null;
    const valLoss = out.valLoss ?? reached?.val_loss ?? null;
    manifest.status = out.interrupted ? "interrupted" : "completed";
    manifest.end_time = new Date().toISOString();
    manifest.final = { step: out.state.step, train_loss: trainLoss, val_loss: valLoss };
    await saveManifest();
    if (!opts.noReport) await writeReport([runDir], join(runDir, "report.html"));
    return { runDir, status: manifest.status, step: out.state.step, valLoss, trainLoss };
  } catch (e) {
    manifest.status = "failed";
    manifest.end_time = new Date().toISOString();
    manifest.error = (e as Error).message;
    // on a full disk this write fails too: the first error is the one to report
    await saveManifest().catch(() => {});
    if (e instanceof NonFiniteError) {
      throw new Error(
        `${runDir}: ${e.message} (the last good checkpoint is kept in ${join(runDir, "checkpoints")})`,
        { cause: e },
      );
    }
    throw e;
  }
}
