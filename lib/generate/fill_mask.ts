/**
 * Fill-the-mask: a Bert's top-k predictions at each [MASK] position of a sequence (or a batch of them).
 *
 * @module
 */
import { withStep } from "../tensor/storage.ts";
import type { Bert } from "../nn/models/bert.ts";
import { noGrad } from "../tensor/grad.ts";

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
 * the tape and in evaluation mode (no dropout); the model's training flag is restored afterwards.
 */
export function fillMask(model: Bert, ids: Int32Array, opts: FillMaskOptions): FillMaskPrediction[] {
  const B = opts.batch ?? 1, topK = opts.topK ?? 5;
  if (!Number.isInteger(B) || B <= 0 || ids.length === 0 || ids.length % B !== 0) {
    throw new Error(`fillMask: ${ids.length} ids do not split into ${B} non-empty rows`);
  }
  if (!Number.isInteger(topK) || topK < 1) {
    throw new Error(`fillMask: topK must be a positive integer, got ${topK}`);
  }
  const T = ids.length / B, V = model.config.vocabSize, k = Math.min(topK, V);
  const wasTraining = model.training;
  model.eval();
  try {
    return withStep(() =>
      noGrad(() => {
        const { logits } = model.forward(ids, B, T, { lengths: opts.lengths, padId: opts.padId });
        const out: FillMaskPrediction[] = [], values = logits.readSync();
        for (let r = 0; r < B * T; r++) {
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
      })
    );
  } finally {
    model.train(wasTraining);
  }
}
