/**
 * Checkpoints: `checkpoints/step-NNNNNN/` holds `model.safetensors` (F32 weights under nanoGPT's names, tied
 * weights written under both names as in PyTorch's state_dict), `optimizer.safetensors` (the moments) and
 * `state.json` (step, generator states, data position, counters). The folder is written under a temporary name
 * and renamed, then `checkpoints/latest.json` is replaced atomically, so a crash never leaves a half checkpoint
 * as the latest one.
 *
 * @module
 */
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { asWriteError, writeFileAtomic } from "../io/atomic.ts";
import type { Module } from "../nn/module.ts";
import type { NamedParam, OptimizerState } from "../optim/param.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from "./safetensors.ts";
import { pathExists } from "../io/exists.ts";

/** The JSON part of a checkpoint. */
export interface TrainState {
  /** Optimizer steps completed. */
  step: number;
  /** Generator states and the batcher's position, keyed by owner (opaque to this module). */
  rng: Record<string, unknown>;
  /** Training tokens consumed so far. */
  tokens_seen: number;
  /** Training seconds before this checkpoint (so elapsed time continues on resume). */
  elapsed_s: number;
}

/** Everything read back from a checkpoint. */
export interface LoadedCheckpoint {
  /** Checkpoint folder. */
  dir: string;
  /** Model weights by name. */
  weights: Map<string, SafetensorsTensor>;
  /** Optimizer state. */
  optimizer: OptimizerState;
  /** JSON state. */
  state: TrainState;
}

/** Pointer file naming the newest complete checkpoint. */
export const LATEST = "latest.json";

function stepDirName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

/** The model's weights as safetensors records (copies; tied tensors appear under each name). */
export function modelTensors(model: Module): Record<string, SafetensorsTensor> {
  const params = model.namedParameters();
  return records(params, params.map(({ tensor }) => tensor.readSync()));
}

/**
 * {@link modelTensors} on any device: the weights of a model on the GPU are read back (each copy is taken at the
 * call, so the snapshot is of the weights as they are now, whatever is recorded after).
 */
export async function modelTensorsAsync(model: Module): Promise<Record<string, SafetensorsTensor>> {
  const params = model.namedParameters();
  return records(params, await Promise.all(params.map(({ tensor }) => tensor.read())));
}

// Safetensors records of named tensors and their values (copied).
function records(
  params: readonly NamedParam[],
  values: readonly ArrayLike<number>[],
): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  params.forEach(({ name, tensor }, i) => {
    out[name] = { shape: [...tensor.shape], data: Float32Array.from(values[i]) };
  });
  return out;
}

/**
 * Writes a checkpoint for `state.step` under `<runDir>/checkpoints/` and keeps only the newest `keep` of them.
 * The model may live on the GPU (its weights are read back). Returns the checkpoint folder. A failed write
 * removes the half-written folder and throws (a `WriteError` naming the file and the step, for a write fault);
 * `latest.json` then still names the previous checkpoint.
 */
export async function saveCheckpoint(
  runDir: string,
  model: Module,
  optimizer: OptimizerState,
  state: TrainState,
  keep = 2,
): Promise<string> {
  const root = join(runDir, "checkpoints");
  const name = stepDirName(state.step);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  const final = join(root, name);
  // the file being written, named by a failure; the half-written folder is removed then
  let writing = root;
  const weights = await modelTensorsAsync(model);
  try {
    await mkdir(root, { recursive: true });
    await rm(tmp, { recursive: true, force: true });
    await mkdir(writing = tmp);
    await writeFileAtomic(
      writing = join(tmp, "model.safetensors"),
      encodeSafetensors(weights, { format: "pt" }),
    );
    const opt: Record<string, SafetensorsTensor> = {};
    for (const [k, v] of Object.entries(optimizer.tensors)) opt[k] = { shape: [v.length], data: v };
    await writeFileAtomic(
      writing = join(tmp, "optimizer.safetensors"),
      encodeSafetensors(opt, { step: String(optimizer.step) }),
    );
    await writeFileAtomic(writing = join(tmp, "state.json"), JSON.stringify(state, null, 2) + "\n");
    await rm(writing = final, { recursive: true, force: true });
    await rename(tmp, final);
    await writeFileAtomic(
      writing = join(root, LATEST),
      JSON.stringify({ step: state.step, dir: name }) + "\n",
    );
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw asWriteError(e, writing, state.step);
  }
  // prune older checkpoints
  const dirs = (await readdir(root)).filter((d) => /^step-\d+$/.test(d)).sort();
  for (const d of dirs.slice(0, Math.max(0, dirs.length - keep))) {
    await rm(join(root, d), { recursive: true });
  }
  return final;
}

/**
 * The newest complete checkpoint of a run, as `checkpoints/latest.json` names it: its step and folder; null when
 * the run has none yet. Throws, naming the file, when latest.json is corrupted.
 */
export async function latestCheckpoint(runDir: string): Promise<{ step: number; dir: string } | null> {
  const root = join(runDir, "checkpoints");
  const latestPath = join(root, LATEST);
  if (!(await pathExists(latestPath))) return null;
  let latest: { step?: unknown; dir?: unknown };
  try {
    latest = JSON.parse(await readFile(latestPath, "utf8"));
  } catch (e) {
    throw new Error(`${latestPath}: corrupted (${(e as Error).message})`);
  }
  if (typeof latest.dir !== "string" || !/^step-\d+$/.test(latest.dir)) {
    throw new Error(`${latestPath}: corrupted (expected {"step": n, "dir": "step-…"})`);
  }
  return { step: Number(latest.step), dir: join(root, latest.dir) };
}

/** Reads the newest checkpoint of a run; every failure names the file and what is wrong with it. */
export async function loadCheckpoint(runDir: string): Promise<LoadedCheckpoint> {
  const latest = await latestCheckpoint(runDir);
  if (latest === null) {
    throw new Error(`${runDir}: no checkpoint found (missing ${join(runDir, "checkpoints", LATEST)})`);
  }
  const dir = latest.dir;
  const read = async (f: string) => {
    const p = join(dir, f);
    if (!(await pathExists(p))) throw new Error(`${p}: missing checkpoint file`);
    return await readFile(p);
  };
  const model = decodeSafetensors(await read("model.safetensors"), join(dir, "model.safetensors"));
  const optFile = decodeSafetensors(await read("optimizer.safetensors"), join(dir, "optimizer.safetensors"));
  let state: TrainState;
  const statePath = join(dir, "state.json");
  try {
    state = JSON.parse(new TextDecoder().decode(await read("state.json")));
  } catch (e) {
    if ((e as Error).message.includes("missing checkpoint file")) throw e;
    throw new Error(`${statePath}: corrupted (${(e as Error).message})`);
  }
  if (typeof state?.step !== "number" || typeof state.rng !== "object" || state.rng === null) {
    throw new Error(`${statePath}: corrupted (expected step, rng, tokens_seen, elapsed_s)`);
  }
  const tensors: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(optFile.tensors)) tensors[k] = v.data;
  const optStep = Number(optFile.metadata.step ?? state.step);
  return {
    dir,
    weights: new Map(Object.entries(model.tensors)),
    optimizer: { step: optStep, tensors },
    state,
  };
}
