/**
 * Fill-the-mask: a Bert's top-k predictions at each [MASK] position of a sequence (or a batch of them).
 *
 * @module
 */
import { withStep } from "../tensor/storage.ts";
import type { Bert } from "../nn/models/bert.ts";
import { noGrad } from "../tensor/grad.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { stepOn } from "./device.ts";

/** Options of {@link fillMask}. */
export interface FillMaskOptions {
  /** The [MASK] id: positions holding it are predicted. */
  maskId: number;
  /** Candidates per masked position (a positive integer; capped at the vocabulary size). Default 5. */
  topK?: number;
  /** Rows in `ids` (each ids.length / batch long). Default 1. */
  batch?: number;
  /** Real tokens per row (padding after them), as in `Bert.forward`. */
  lengths?: ArrayLike<number>;
  /** Padding id, as in `Bert.forward`. */
  padId?: number;
}

/** One candidate token. */
export interface FillMaskCandidate {
  /** Token id. */
  id: number;
  /** Its softmax probability at that position. */
  prob: number;
}

/** The predictions at one masked position. */
export interface FillMaskPrediction {
  /** Row in the batch. */
  row: number;
  /** Position in the row. */
  position: number;
  /** The topK most probable ids, most probable first (ties: lower id first). */
  candidates: FillMaskCandidate[];
}

/**
 * The topK predictions at every position of `ids` that holds `maskId`, row by row, left to right. Runs without
 * the tape and in evaluation mode (no dropout); the model's training flag is restored afterwards. The logits are
 * read synchronously (the CPU); {@link fillMaskAsync} runs on every device.
 */
export function fillMask(model: Bert, ids: Int32Array, opts: FillMaskOptions): FillMaskPrediction[] {
  if (model.wte.weight.gpu !== null) throw new Error("fillMask: the model is on the GPU; use fillMaskAsync");
  const { B, T } = check(ids, opts);
  return evaluating(
    model,
    () =>
      withStep(() =>
        noGrad(() => predictions(forward(model, ids, B, T, opts).readSync(), ids, T, model, opts))
      ),
  );
}

/** {@link fillMask} on any device (the model's): the logits are read back once, the same predictions. */
export async function fillMaskAsync(
  model: Bert,
  ids: Int32Array,
  opts: FillMaskOptions,
): Promise<FillMaskPrediction[]> {
  const { B, T } = check(ids, opts);
  const values = await evaluating(
    model,
    () => stepOn(model.wte.weight, () => noGrad(() => forward(model, ids, B, T, opts).read())),
  );
  return predictions(values, ids, T, model, opts);
}

// The rows (B) and positions (T) of `ids`, once the options are checked.
function check(ids: Int32Array, opts: FillMaskOptions): { B: number; T: number } {
  const B = opts.batch ?? 1, topK = opts.topK ?? 5;
  if (!Number.isInteger(B) || B <= 0 || ids.length === 0 || ids.length % B !== 0) {
    throw new Error(`fillMask: ${ids.length} ids do not split into ${B} non-empty rows`);
  }
  if (!Number.isInteger(topK) || topK < 1) {
    throw new Error(`fillMask: topK must be a positive integer, got ${topK}`);
  }
  return { B, T: ids.length / B };
}

// `fn` with the model in evaluation mode, its training flag restored afterwards.
function evaluating<R>(model: Bert, fn: () => R): R {
  const wasTraining = model.training;
  model.eval();
  try {
    return fn();
  } finally {
    model.train(wasTraining);
  }
}

// The logits (B, T, V) of `ids`.
function forward(model: Bert, ids: Int32Array, B: number, T: number, opts: FillMaskOptions): Tensor {
  return model.forward(ids, B, T, { lengths: opts.lengths, padId: opts.padId }).logits;
}

// The predictions at the masked positions from the logits (B·T, V).
function predictions(
  values: Float32Array | Float64Array,
  ids: Int32Array,
  T: number,
  model: Bert,
  opts: FillMaskOptions,
): FillMaskPrediction[] {
  const V = model.config.vocabSize, k = Math.min(opts.topK ?? 5, V);
  const out: FillMaskPrediction[] = [];
  for (let r = 0; r < ids.length; r++) {
    if (ids[r] !== opts.maskId) continue;
    const row = values.subarray(r * V, (r + 1) * V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, row[v]);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(row[v] - max);
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => row[b] - row[a] || a - b);
    // [MASK] itself is never a candidate (it is no token of the text)
    const candidates = order.filter((id) => id !== opts.maskId).slice(0, k)
      .map((id) => ({ id, prob: Math.exp(row[id] - max) / z }));
    out.push({ row: Math.floor(r / T), position: r % T, candidates });
  }
  return out;
}
