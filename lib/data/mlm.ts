/**
 * Masked-LM data: BERT's masking rule, masked accuracy, and batchers that turn token windows into MLM batches.
 *
 * The rule (Devlin et al. 2019, as in HF's `DataCollatorForLanguageModeling`): each position that is not a
 * special id is chosen independently with probability `probability` (0.15); a chosen position becomes the
 * [MASK] id with probability 0.8, a random ordinary token with 0.1, and stays unchanged with 0.1. The target is
 * the original id at chosen positions and -1 (ignored by the loss) elsewhere. When no position of a sequence is
 * chosen, one eligible position is chosen uniformly, so every sequence contributes to the loss (this adds at
 * most (1 − p)^n to the expected rate of an n-token sequence: nothing for long ones).
 *
 * The [MASK] token: the char tokenizer has no special tokens, so the caller picks `maskId`, normally the
 * tokenizer's `vocabSize` (the first id past the vocabulary), and builds the model with `vocabSize + 1`
 * embedding rows. Random replacements are drawn from [0, vocabSize) (pass the tokenizer's size), skipping
 * `maskId` and the special ids.
 *
 * Every draw comes from the given seeded {@link Rng}, so a masking is a pure function of (ids, options, state).
 *
 * @module
 */
import type { Batch, Batcher, BatcherState, BatchSource } from "./batcher.ts";
import { Rng, type RngState } from "../random.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** Options of {@link maskTokens}. */
export interface MaskOptions {
  /** Id written at 80% of the chosen positions (e.g. the char tokenizer's vocabSize). */
  maskId: number;
  /** Random replacements are drawn uniformly from [0, vocabSize), except `maskId` and `special`. */
  vocabSize: number;
  /** The generator every choice is drawn from. */
  rng: Rng;
  /** Chance that an eligible position is chosen. Default 0.15. */
  probability?: number;
  /** Ids that are never chosen nor used as random replacements (padding, [CLS], [SEP]…). */
  special?: ArrayLike<number>;
}

/** A masked sequence. */
export interface MaskedTokens {
  /** The model's input: the ids with the chosen positions masked, replaced or kept. */
  input: Int32Array;
  /** The original id at chosen positions, -1 elsewhere. */
  targets: Int32Array;
}

/** Masking options without the generator (for fixed, seeded evaluation masks). */
export type MaskSettings = Omit<MaskOptions, "rng">;

interface Checked {
  maskId: number;
  vocabSize: number;
  probability: number;
  special: Set<number>;
  /** The ids a random replacement may take. */
  replacements: number;
}

function checkOptions(o: MaskSettings): Checked {
  const probability = o.probability ?? 0.15;
  if (!Number.isInteger(o.maskId) || o.maskId < 0) {
    throw new Error(`maskTokens: maskId must be a non-negative integer, got ${o.maskId}`);
  }
  if (!Number.isInteger(o.vocabSize) || o.vocabSize <= 0) {
    throw new Error(`maskTokens: vocabSize must be a positive integer, got ${o.vocabSize}`);
  }
  if (!(probability > 0 && probability <= 1)) {
    throw new Error(`maskTokens: probability must be in (0, 1], got ${probability}`);
  }
  const special = new Set<number>(Array.from(o.special ?? []));
  let replacements = 0;
  for (let id = 0; id < o.vocabSize; id++) if (id !== o.maskId && !special.has(id)) replacements++;
  if (replacements === 0) {
    throw new Error(`maskTokens: no id in [0, ${o.vocabSize}) is left for random replacements`);
  }
  return { maskId: o.maskId, vocabSize: o.vocabSize, probability, special, replacements };
}

// Masks positions [start, end) of `ids` into `input`/`targets` (already holding a copy of ids and -1).
function maskRange(
  ids: Int32Array,
  start: number,
  end: number,
  c: Checked,
  rng: Rng,
  out: MaskedTokens,
): void {
  const corrupt = (i: number) => {
    out.targets[i] = ids[i];
    const r = rng.next();
    if (r < 0.8) out.input[i] = c.maskId;
    else if (r < 0.9) {
      let id: number;
      do id = rng.int(c.vocabSize); while (id === c.maskId || c.special.has(id));
      out.input[i] = id;
    } // else: unchanged
  };
  let chosen = 0, eligible = 0;
  for (let i = start; i < end; i++) {
    if (c.special.has(ids[i])) continue;
    eligible++;
    if (rng.next() < c.probability) {
      corrupt(i);
      chosen++;
    }
  }
  if (chosen > 0 || eligible === 0) return;
  // nothing chosen: choose the k-th eligible position
  let k = rng.int(eligible);
  for (let i = start; i < end; i++) {
    if (c.special.has(ids[i])) continue;
    if (k-- === 0) {
      corrupt(i);
      return;
    }
  }
}

/**
 * BERT's masking of one sequence (see the module notes): returns the masked input and the targets (original id
 * at the chosen positions, -1 elsewhere). At least one position is chosen when any id is not special.
 */
export function maskTokens(ids: Int32Array, opts: MaskOptions): MaskedTokens {
  return maskRows(ids, ids.length, opts);
}

/**
 * {@link maskTokens} applied to each row of `rowLength` ids (a (B, T) batch, row-major): the at-least-one rule
 * holds per row.
 */
export function maskRows(ids: Int32Array, rowLength: number, opts: MaskOptions): MaskedTokens {
  const c = checkOptions(opts);
  if (!Number.isInteger(rowLength) || rowLength <= 0 || ids.length % rowLength !== 0) {
    if (ids.length === 0) return { input: new Int32Array(0), targets: new Int32Array(0) };
    throw new Error(`maskRows: ${ids.length} ids do not split into rows of ${rowLength}`);
  }
  const out = { input: ids.slice(), targets: new Int32Array(ids.length).fill(-1) };
  for (let s = 0; s < ids.length; s += rowLength) maskRange(ids, s, s + rowLength, c, opts.rng, out);
  return out;
}

/**
 * The fraction of masked positions (target ≠ -1) whose arg-max logit is the target. logits (..., V) with one row
 * per target. NaN when no position is masked.
 */
export function maskedAccuracy(
  logits: Tensor,
  targets: Int32Array,
): number {
  const V = logits.shape[logits.shape.length - 1], values = logits.readSync();
  const rows = values.length / V;
  if (targets.length !== rows) {
    throw new Error(`maskedAccuracy: ${targets.length} targets for ${rows} rows of logits`);
  }
  let hit = 0, count = 0;
  for (let r = 0; r < rows; r++) {
    if (targets[r] === -1) continue;
    count++;
    let best = 0, bestV = -Infinity;
    for (let v = 0; v < V; v++) {
      const l = values[r * V + v];
      if (l > bestV) {
        bestV = l;
        best = v;
      }
    }
    if (best === targets[r]) hit++;
  }
  return count === 0 ? NaN : hit / count;
}

/** The resumable state of an {@link MlmBatcher}. */
export interface MlmBatcherState {
  /** The wrapped window batcher's state. */
  batcher: BatcherState;
  /** The masking generator's state. */
  rng: RngState;
}

/**
 * Masked-LM training batches: each batch of the wrapped causal {@link Batcher} has its `x` windows masked row by
 * row; the result is `{ x: masked input, y: targets }` (its `y` windows are not used). Give it a masking
 * generator of its own (e.g. `rng.fork()`); {@link MlmBatcher.state} holds both generators, so a fresh
 * batcher built the same way and given that state replays the same batches.
 */
export class MlmBatcher implements BatchSource<Batch> {
  readonly #batcher: Batcher;
  readonly #opts: MaskOptions;

  /** Wraps `batcher`; `opts.rng` draws the masks. Throws on invalid masking options. */
  constructor(batcher: Batcher, opts: MaskOptions) {
    checkOptions(opts);
    this.#batcher = batcher;
    this.#opts = { ...opts };
  }

  /** Tokens per row. */
  get blockSize(): number {
    return this.#batcher.blockSize;
  }

  /** Rows per batch. */
  get batchSize(): number {
    return this.#batcher.batchSize;
  }

  /** Number of batches drawn so far. */
  get batches(): number {
    return this.#batcher.batches;
  }

  /** The next masked batch: x (batchSize, blockSize) masked ids, y the targets (-1 = not masked). */
  next(): Batch {
    const { input, targets } = maskRows(this.#batcher.next().x, this.blockSize, this.#opts);
    return { x: input, y: targets };
  }

  /** The state to save in a checkpoint. */
  state(): MlmBatcherState {
    return { batcher: this.#batcher.state(), rng: this.#opts.rng.state() };
  }

  /** Restores a state captured with {@link MlmBatcher.state}. */
  setState(s: MlmBatcherState): void {
    if (typeof s !== "object" || s === null) {
      throw new Error(`invalid MLM batcher state: ${JSON.stringify(s)}`);
    }
    this.#batcher.setState(s.batcher);
    this.#opts.rng.setState(s.rng);
  }
}

/**
 * Fixed masked-LM evaluation batches: each (x, y) window batch (e.g. from `evalWindows`) has its `x` masked row
 * by row with a generator seeded by `seed`, so the same windows get the same masks on every call and validation
 * loss is comparable across steps and runs.
 */
export function maskEvalBatches(
  batches: readonly Batch[],
  blockSize: number,
  opts: MaskSettings & { seed: number },
): Batch[] {
  const rng = new Rng(opts.seed);
  return batches.map((b) => {
    const { input, targets } = maskRows(b.x, blockSize, { ...opts, rng });
    return { x: input, y: targets };
  });
}
