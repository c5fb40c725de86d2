/**
 * Reading one run directory (`config.json`, `manifest.json`, `metrics.jsonl`, `samples.txt`) into plain data.
 * Only `metrics.jsonl` is required; every other file may be missing or malformed, which becomes a note rather
 * than an error.
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type DetailPoint, parseMetrics, type TrainPoint, type ValPoint } from "./metrics.ts";

/** Thrown when a path is not a readable run directory. Its message starts with the path as given. */
export class RunDirError extends Error {
  /** Creates the error for `dir` (the path as given) with the reason `why`, e.g. `no metrics.jsonl`. */
  constructor(
    /** The path as given. */
    readonly dir: string,
    why: string,
  ) {
    super(`${dir}: not a run directory (${why})`);
    this.name = "RunDirError";
  }
}

/** The fields of `manifest.json` the report uses; each is absent when missing or of the wrong type. */
export interface Manifest {
  /** Run name. */
  name?: string;
  /** Run directory as recorded by the trainer. */
  run_dir?: string;
  /** Seed of the run's PRNG. */
  seed?: number;
  /** Deno version the run used. */
  deno_version?: string;
  /** What ran the kernels (absent in manifests written before it was recorded). */
  runtime?: {
    /** The backend the config asked for. */
    backend_requested?: string;
    /** The backend that ran. */
    backend_used?: string;
    /** Kernel threads (the CPU side's, on a GPU). */
    threads?: number;
    /** The GPU adapter, on the webgpu backend. */
    adapter?: string;
  };
  /** Runtime versions, e.g. `{deno, v8, typescript}` (older manifests kept them in `runtime`). */
  versions?: Record<string, string>;
  /** Error message of a failed run. */
  error?: string | null;
  /** The library that trained the run (absent in older manifests). */
  library?: { name?: string; version?: string; commit?: string };
  /** Commit of the code, `null` outside a git checkout. */
  git_commit?: string | null;
  /** Hash of the resolved config. */
  config_hash?: string;
  /** Hash of the training data. */
  data_hash?: string;
  /** Number of model parameters. */
  params?: number;
  /** Tokenizer vocabulary size. */
  vocab_size?: number;
  /** Tokens in the training split. */
  train_tokens?: number;
  /** Tokens in the validation split. */
  val_tokens?: number;
  /** ISO start time. */
  start_time?: string;
  /** ISO end time, `null` while running. */
  end_time?: string | null;
  /** `running`, `completed`, `failed`, `interrupted` (or whatever the trainer wrote). */
  status?: string;
  /** Final numbers, `null` until the run ends. */
  final?: { step?: number; train_loss?: number; val_loss?: number } | null;
}

/** Everything the report needs from one run directory. */
export interface RunData {
  /** The directory as given. */
  dir: string;
  /** Parsed resolved config, or `null` when missing or invalid. */
  config: Record<string, unknown> | null;
  /** Parsed manifest, or `null` when missing or invalid. */
  manifest: Manifest | null;
  /** Train events by step. */
  train: TrainPoint[];
  /** Validation events by step. */
  val: ValPoint[];
  /** Detail events by step (gradient flow, activations). */
  detail: DetailPoint[];
  /** The steps each resume of the run started from (`resume` events), in order; empty for a run never resumed. */
  resumes: number[];
  /** Generated text, or `null` when absent. */
  samples: string | null;
  /** `eval.json` (`deno task eval`): results by "<corpus>/<split>", or `null` when absent or invalid. */
  evals: Record<string, Record<string, unknown>> | null;
  /** Human-readable remarks about missing or malformed content. */
  notes: string[];
}

function isErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === code;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return null;
    throw e;
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

function pick<T>(o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): T | undefined {
  return ok(o[key]) ? o[key] as T : undefined;
}

const isStr = (v: unknown) => typeof v === "string";
const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const isStrOrNull = (v: unknown) => v === null || typeof v === "string";
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Keeps the known, well-typed fields of a parsed `manifest.json`. */
export function toManifest(o: Record<string, unknown>): Manifest {
  const m: Manifest = {};
  for (
    const k of [
      "name",
      "run_dir",
      "deno_version",
      "config_hash",
      "data_hash",
      "start_time",
      "status",
    ] as const
  ) {
    m[k] = pick<string>(o, k, isStr);
  }
  for (const k of ["seed", "params", "vocab_size", "train_tokens", "val_tokens"] as const) {
    m[k] = pick<number>(o, k, isNum);
  }
  m.git_commit = pick<string | null>(o, "git_commit", isStrOrNull);
  m.end_time = pick<string | null>(o, "end_time", isStrOrNull);
  m.error = pick<string | null>(o, "error", isStrOrNull);
  const rt = isObject(o.runtime) ? o.runtime : undefined;
  if (rt !== undefined && isStr(rt.backend_used)) {
    m.runtime = {
      backend_requested: pick<string>(rt, "backend_requested", isStr),
      backend_used: rt.backend_used as string,
      threads: pick<number>(rt, "threads", isNum),
      ...(isStr(rt.adapter) ? { adapter: rt.adapter as string } : {}),
    };
  }
  // older manifests: `runtime` held the versions
  const versions = isObject(o.versions) ? o.versions : m.runtime === undefined ? rt : undefined;
  if (versions !== undefined) {
    m.versions = Object.fromEntries(
      Object.entries(versions).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }
  if (isObject(o.library)) {
    const l = o.library;
    m.library = {
      name: pick(l, "name", isStr),
      version: pick(l, "version", isStr),
      commit: pick(l, "commit", isStr),
    };
  }
  const f = o.final;
  if (f === null) m.final = null;
  else if (typeof f === "object" && !Array.isArray(f)) {
    const fo = f as Record<string, unknown>;
    m.final = {
      step: pick<number>(fo, "step", isNum),
      train_loss: pick<number>(fo, "train_loss", isNum),
      val_loss: pick<number>(fo, "val_loss", isNum),
    };
  }
  return m;
}

async function readJson(
  dir: string,
  names: string[],
  notes: string[],
): Promise<Record<string, unknown> | null> {
  for (const name of names) {
    const text = await readOptional(join(dir, name));
    if (text === null) continue;
    const o = parseObject(text);
    if (o === null) notes.push(`${name} is not a JSON object; ignored.`);
    return o;
  }
  notes.push(`${names[0]} is missing.`);
  return null;
}

/**
 * Reads a run directory. Throws {@link RunDirError} when `dir` does not exist, is not a directory, or has no
 * `metrics.jsonl`; anything else missing becomes a note.
 */
export async function readRun(dir: string): Promise<RunData> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new RunDirError(dir, "not a directory");
  } catch (e) {
    if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR")) throw new RunDirError(dir, "does not exist");
    throw e;
  }
  const metricsText = await readOptional(join(dir, "metrics.jsonl"));
  if (metricsText === null) throw new RunDirError(dir, "no metrics.jsonl");
  const notes: string[] = [];
  const { train, val, detail, resumes, skippedLines } = parseMetrics(metricsText);
  if (skippedLines.length > 0) {
    const shown = skippedLines.slice(0, 5).join(", ") + (skippedLines.length > 5 ? ", …" : "");
    notes.push(
      `metrics.jsonl: skipped ${skippedLines.length} malformed line${skippedLines.length > 1 ? "s" : ""} ` +
        `(line ${shown}).`,
    );
  }
  if (train.length === 0) notes.push("metrics.jsonl has no train events.");
  if (val.length === 0) notes.push("metrics.jsonl has no validation events.");
  const config = await readJson(dir, ["config.json", "config.resolved.json"], notes);
  const rawManifest = await readJson(dir, ["manifest.json"], notes);
  const samples = await readOptional(join(dir, "samples.txt"));
  const evalText = await readOptional(join(dir, "eval.json"));
  const evalObj = evalText === null ? null : parseObject(evalText);
  if (evalText !== null && evalObj === null) notes.push("eval.json is not a JSON object; ignored.");
  const evals = evalObj === null ? null : Object.fromEntries(
    Object.entries(evalObj).filter((e): e is [string, Record<string, unknown>] =>
      typeof e[1] === "object" && e[1] !== null && !Array.isArray(e[1])
    ),
  );
  return {
    dir,
    config,
    manifest: rawManifest && toManifest(rawManifest),
    train,
    val,
    detail,
    resumes,
    samples,
    evals,
    notes,
  };
}
