/**
 * Causal language-model batches: windows of `blockSize + 1` tokens cut from one token stream; `x` is the window
 * without its last token, `y` the window without its first (the next-token targets). Training windows start at
 * random; evaluation windows are fixed and evenly spaced, so validation loss is comparable across steps and runs.
 *
 * @module
 */
import type { Rng, RngState } from "../random.ts";
import { asTokenSource, type TokenSource } from "./token_source.ts";

/** One batch: `x` and `y` are (batchSize, blockSize) row-major; `y[b, t] = x[b, t + 1]` within the stream. */
export interface Batch {
  /** Input token ids. */
  x: Int32Array;
  /** Target token ids (inputs shifted left by one). */
  y: Int32Array;
}

/**
 * A resumable stream of training batches: what the trainer draws from. Every batcher in lib/data is one. Its
 * position is plain JSON: the trainer saves it in checkpoints, and a resumed run gives it back to `setState`
 * (each batcher checks what it is given).
 */
export interface BatchSource<B> {
  /** The next batch. */
  next(): B;
  /** The position (plain JSON), saved in checkpoints. */
  state(): unknown;
  /** Goes back to a position that {@link BatchSource.state} returned. */
  setState(state: unknown): void;
}

/** The resumable state of a {@link Batcher}. */
export interface BatcherState {
  /** The random generator's state. */
  rng: RngState;
  /** How many batches have been drawn. */
  batches: number;
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
}

function checkLength(tokens: TokenSource, blockSize: number, what: string): void {
  if (tokens.length < blockSize + 1) {
    throw new Error(
      `${what}: ${tokens.length} tokens are too few for one window of blockSize ${blockSize} ` +
        `(need at least ${blockSize + 1})`,
    );
  }
}

function fillWindow(
  tokens: TokenSource,
  start: number,
  blockSize: number,
  batch: Batch,
  row: number,
  window: Int32Array,
): void {
  tokens.read(start, window);
  batch.x.set(window.subarray(0, blockSize), row * blockSize);
  batch.y.set(window.subarray(1), row * blockSize);
}

/**
 * Draws random training batches. Window starts are uniform in [0, tokens.length - blockSize - 1]; each window is
 * read from `tokens` by position (an array, or a token shard on disk). The batcher
 * draws from the `rng` it is given; give it its own generator (e.g. `rng.fork()`) so its {@link Batcher.state}
 * describes only its stream.
 */
export class Batcher implements BatchSource<Batch> {
  readonly #tokens: TokenSource;
  readonly #window: Int32Array;
  readonly #rng: Rng;
  #batches = 0;
  /** Tokens per row. */
  readonly blockSize: number;
  /** Rows per batch. */
  readonly batchSize: number;

  /** Throws if `tokens` cannot hold one window of `blockSize + 1` tokens. */
  constructor(tokens: Int32Array | TokenSource, blockSize: number, batchSize: number, rng: Rng) {
    checkPositiveInt("blockSize", blockSize);
    checkPositiveInt("batchSize", batchSize);
    this.#tokens = asTokenSource(tokens);
    checkLength(this.#tokens, blockSize, "Batcher");
    this.#window = new Int32Array(blockSize + 1);
    this.blockSize = blockSize;
    this.batchSize = batchSize;
    this.#rng = rng;
  }

  /** Number of batches drawn so far. */
  get batches(): number {
    return this.#batches;
  }

  /** The next random batch. */
  next(): Batch {
    const { blockSize, batchSize } = this;
    const batch = { x: new Int32Array(batchSize * blockSize), y: new Int32Array(batchSize * blockSize) };
    const nStarts = this.#tokens.length - blockSize;
    for (let b = 0; b < batchSize; b++) {
      fillWindow(this.#tokens, this.#rng.int(nStarts), blockSize, batch, b, this.#window);
    }
    this.#batches++;
    return batch;
  }

  /** The state to save in a checkpoint; {@link Batcher.setState} on a fresh batcher replays the same batches. */
  state(): BatcherState {
    return { rng: this.#rng.state(), batches: this.#batches };
  }

  /** Restores a state captured with {@link Batcher.state}. */
  setState(s: BatcherState): void {
    if (typeof s !== "object" || s === null || !Number.isInteger(s.batches) || s.batches < 0) {
      throw new Error(`invalid batcher state: ${JSON.stringify(s)}`);
    }
    this.#rng.setState(s.rng);
    this.#batches = s.batches;
  }
}

/**
 * `batchSize · nBatches` fixed windows, evenly spaced from the start to the end of `tokens` (the same on every
 * call), grouped into `nBatches` batches. Windows overlap when the text is shorter than they are in total. Each
 * window is read from `tokens` by position.
 */
export function evalWindows(
  ids: Int32Array | TokenSource,
  blockSize: number,
  batchSize: number,
  nBatches: number,
): Batch[] {
  checkPositiveInt("blockSize", blockSize);
  checkPositiveInt("batchSize", batchSize);
  checkPositiveInt("nBatches", nBatches);
  const tokens = asTokenSource(ids), window = new Int32Array(blockSize + 1);
  checkLength(tokens, blockSize, "evalWindows");
  const total = batchSize * nBatches;
  const maxStart = tokens.length - blockSize - 1;
  const out: Batch[] = [];
  for (let i = 0; i < nBatches; i++) {
    const batch = { x: new Int32Array(batchSize * blockSize), y: new Int32Array(batchSize * blockSize) };
    for (let b = 0; b < batchSize; b++) {
      const w = i * batchSize + b;
      const start = total === 1 ? 0 : Math.round((w * maxStart) / (total - 1));
      fillWindow(tokens, start, blockSize, batch, b, window);
    }
    out.push(batch);
  }
  return out;
}
