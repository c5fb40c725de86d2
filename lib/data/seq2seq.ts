/**
 * Sequence-to-sequence data: T5 span corruption on a token stream, generated symbol tasks (reverse, sort), and
 * padded batches for an encoder–decoder.
 *
 * Vocabulary layout ({@link seq2seqVocab}): the caller's `baseVocab` ordinary tokens 0…baseVocab−1, then
 * `numSentinels` sentinels baseVocab…baseVocab+numSentinels−1 (sentinel i replaces the i-th corrupted span, like
 * T5's `<extra_id_i>`), then PAD, BOS, EOS. The model's vocabSize is `vocab.size`.
 *
 * Batches ({@link collateSeq2Seq}): source row = tokens + EOS, padded with PAD (its real length in
 * `srcLengths`); decoder input = BOS + target, padded with PAD; decoder targets = target + EOS, padded with −1
 * (ignored by the loss).
 *
 * @module
 */
import type { Rng, RngState } from "../random.ts";
import type { BatchSource } from "./batcher.ts";
import { asTokenSource, readTokens, type TokenSource } from "./token_source.ts";

/** Token ids of a seq2seq vocabulary (see the module notes). */
export interface Seq2SeqVocab {
  /** Ordinary tokens: ids 0…baseVocab−1. */
  readonly baseVocab: number;
  /** Sentinels: ids baseVocab…baseVocab+numSentinels−1. */
  readonly numSentinels: number;
  /** Padding id. */
  readonly pad: number;
  /** Decoder start id. */
  readonly bos: number;
  /** End-of-sequence id. */
  readonly eos: number;
  /** Total number of ids (the model's vocabSize). */
  readonly size: number;
}

/** The vocabulary with `baseVocab` ordinary tokens and `numSentinels` sentinels, then PAD, BOS, EOS. */
export function seq2seqVocab(baseVocab: number, numSentinels = 0): Seq2SeqVocab {
  if (!Number.isInteger(baseVocab) || baseVocab < 1 || !Number.isInteger(numSentinels) || numSentinels < 0) {
    throw new Error(
      `seq2seqVocab: baseVocab ${baseVocab} must be >= 1 and numSentinels ${numSentinels} >= 0`,
    );
  }
  const s = baseVocab + numSentinels;
  return { baseVocab, numSentinels, pad: s, bos: s + 1, eos: s + 2, size: s + 3 };
}

/** The id of sentinel i. */
export function sentinelId(vocab: Seq2SeqVocab, i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= vocab.numSentinels) {
    throw new Error(`sentinelId: sentinel ${i} is outside [0, ${vocab.numSentinels})`);
  }
  return vocab.baseVocab + i;
}

/** Whether `id` is a sentinel. */
export function isSentinel(vocab: Seq2SeqVocab, id: number): boolean {
  return id >= vocab.baseVocab && id < vocab.baseVocab + vocab.numSentinels;
}

/** Options of span corruption. */
export interface SpanCorruptionOptions {
  /** Fraction of tokens corrupted. Default 0.15 (T5). */
  noiseDensity?: number;
  /** Mean corrupted span length. Default 3 (T5). */
  meanSpanLength?: number;
}

/** Result of {@link spanCorrupt}. */
export interface SpanCorrupted {
  /** The tokens with each corrupted span replaced by its sentinel. */
  input: Int32Array;
  /** Sentinel 0, span 0, sentinel 1, span 1, … (no EOS: {@link collateSeq2Seq} adds it). */
  target: Int32Array;
  /** 1 where the original token was corrupted. */
  noiseMask: Uint8Array;
}

/** The number of corrupted tokens and spans T5 uses for a sequence of `length` tokens. */
export function noiseCounts(
  length: number,
  opts: SpanCorruptionOptions = {},
): { numNoise: number; numSpans: number } {
  const { noiseDensity = 0.15, meanSpanLength = 3 } = opts;
  if (!Number.isInteger(length) || length < 2) {
    throw new Error(`span corruption: needs at least 2 tokens, got ${length}`);
  }
  if (!(noiseDensity > 0 && noiseDensity < 1) || !(meanSpanLength >= 1)) {
    throw new Error(
      `span corruption: noiseDensity must be in (0, 1) and meanSpanLength >= 1, got ${noiseDensity}, ${meanSpanLength}`,
    );
  }
  const numNoise = Math.min(Math.max(Math.round(length * noiseDensity), 1), length - 1);
  const numSpans = Math.min(Math.max(Math.round(numNoise / meanSpanLength), 1), numNoise, length - numNoise);
  return { numNoise, numSpans };
}

// `n` items cut into `k` non-empty segments at k−1 distinct random cut points; returns the segment lengths.
function randomSegmentation(n: number, k: number, rng: Rng): number[] {
  const cuts = Array.from({ length: n - 1 }, (_, i) => i + 1);
  for (let i = 0; i < k - 1; i++) {
    const j = i + rng.int(cuts.length - i);
    [cuts[i], cuts[j]] = [cuts[j], cuts[i]];
  }
  const chosen = cuts.slice(0, k - 1).sort((a, b) => a - b);
  const lens: number[] = [];
  let prev = 0;
  for (const c of [...chosen, n]) {
    lens.push(c - prev);
    prev = c;
  }
  return lens;
}

/**
 * T5's `random_spans_noise_mask`: round(length·density) noise tokens (at least 1, at most length−1) in
 * round(numNoise / meanSpanLength) spans, span and gap lengths drawn by random segmentation; the sequence starts
 * with a kept (non-noise) segment.
 */
export function randomSpansNoiseMask(length: number, rng: Rng, opts: SpanCorruptionOptions = {}): Uint8Array {
  const { numNoise, numSpans } = noiseCounts(length, opts);
  const noiseLens = randomSegmentation(numNoise, numSpans, rng);
  const keepLens = randomSegmentation(length - numNoise, numSpans, rng);
  const mask = new Uint8Array(length);
  let p = 0;
  for (let s = 0; s < numSpans; s++) {
    p += keepLens[s];
    mask.fill(1, p, p + noiseLens[s]);
    p += noiseLens[s];
  }
  return mask;
}

/**
 * Span corruption (T5's pre-training objective) of `tokens` (ordinary ids): each corrupted span becomes one
 * sentinel in the input; the target lists each sentinel followed by the tokens it replaced.
 */
export function spanCorrupt(
  tokens: Int32Array,
  vocab: Seq2SeqVocab,
  rng: Rng,
  opts: SpanCorruptionOptions = {},
): SpanCorrupted {
  const noiseMask = randomSpansNoiseMask(tokens.length, rng, opts);
  const input: number[] = [], target: number[] = [];
  let span = -1;
  for (let i = 0; i < tokens.length; i++) {
    if (noiseMask[i]) {
      if (i === 0 || !noiseMask[i - 1]) {
        const s = sentinelId(vocab, ++span);
        input.push(s);
        target.push(s);
      }
      target.push(tokens[i]);
    } else input.push(tokens[i]);
  }
  return { input: Int32Array.from(input), target: Int32Array.from(target), noiseMask };
}

/** Inverse of {@link spanCorrupt}: puts each sentinel's span from `target` back into `input`. */
export function reconstructSpans(input: Int32Array, target: Int32Array, vocab: Seq2SeqVocab): Int32Array {
  const spans = new Map<number, number[]>();
  let cur: number[] | null = null;
  for (const t of target) {
    if (isSentinel(vocab, t)) spans.set(t, cur = []);
    else if (cur !== null) cur.push(t);
  }
  const out: number[] = [];
  for (const t of input) {
    if (isSentinel(vocab, t)) out.push(...(spans.get(t) ?? []));
    else out.push(t);
  }
  return Int32Array.from(out);
}

/** A source/target pair of ordinary token ids (no special tokens). */
export interface Seq2SeqPair {
  /** Source tokens. */
  src: Int32Array;
  /** Target tokens. */
  tgt: Int32Array;
}

/** A padded batch (see the module notes); every array is row-major. */
export interface Seq2SeqBatch {
  /** Rows. */
  B: number;
  /** Source length (columns of `src`). */
  Ts: number;
  /** Target length (columns of `tgtIn` and `tgtOut`). */
  Tt: number;
  /** Source ids + EOS, PAD-padded, (B, Ts). */
  src: Int32Array;
  /** Real source lengths (EOS included), (B). */
  srcLengths: Int32Array;
  /** Decoder inputs: BOS + target, PAD-padded, (B, Tt). */
  tgtIn: Int32Array;
  /** Decoder targets: target + EOS, −1-padded, (B, Tt). */
  tgtOut: Int32Array;
}

/** Pads `pairs` into one batch of source length Ts and target length Tt (throws when a pair does not fit). */
export function collateSeq2Seq(
  pairs: readonly Seq2SeqPair[],
  vocab: Seq2SeqVocab,
  Ts: number,
  Tt: number,
): Seq2SeqBatch {
  const B = pairs.length;
  const src = new Int32Array(B * Ts).fill(vocab.pad), srcLengths = new Int32Array(B);
  const tgtIn = new Int32Array(B * Tt).fill(vocab.pad), tgtOut = new Int32Array(B * Tt).fill(-1);
  pairs.forEach(({ src: s, tgt: t }, b) => {
    if (s.length + 1 > Ts || t.length + 1 > Tt) {
      throw new Error(
        `collateSeq2Seq: pair ${b} (source ${s.length}, target ${t.length} tokens, +1 for EOS/BOS) does not fit (${Ts}, ${Tt})`,
      );
    }
    src.set(s, b * Ts);
    src[b * Ts + s.length] = vocab.eos;
    srcLengths[b] = s.length + 1;
    tgtIn[b * Tt] = vocab.bos;
    tgtIn.set(t, b * Tt + 1);
    tgtOut.set(t, b * Tt);
    tgtOut[b * Tt + t.length] = vocab.eos;
  });
  return { B, Ts, Tt, src, srcLengths, tgtIn, tgtOut };
}

/** A generated symbol task. */
export interface SymbolTaskOptions {
  /** "reverse": target = source reversed; "sort": target = source sorted ascending. */
  task: "reverse" | "sort";
  /** Symbols 0…numSymbols−1 (the vocabulary's ordinary tokens). */
  numSymbols: number;
  /** Shortest source. */
  minLen: number;
  /** Longest source. */
  maxLen: number;
}

function checkTask(o: SymbolTaskOptions): void {
  if (
    !Number.isInteger(o.numSymbols) || o.numSymbols < 1 || !Number.isInteger(o.minLen) || o.minLen < 1 ||
    !Number.isInteger(o.maxLen) || o.maxLen < o.minLen
  ) {
    throw new Error(`symbol task: need numSymbols >= 1 and 1 <= minLen <= maxLen, got ${JSON.stringify(o)}`);
  }
}

/** One example: a uniform length in [minLen, maxLen], uniform symbols, and the reversed (or sorted) target. */
export function symbolTaskExample(rng: Rng, o: SymbolTaskOptions): Seq2SeqPair {
  const n = o.minLen + rng.int(o.maxLen - o.minLen + 1);
  const src = Int32Array.from({ length: n }, () => rng.int(o.numSymbols));
  const tgt = o.task === "reverse" ? src.slice().reverse() : src.slice().sort();
  return { src, tgt };
}

/** The task's vocabulary: the symbols, no sentinels, then PAD, BOS, EOS. */
export function symbolTaskVocab(o: SymbolTaskOptions): Seq2SeqVocab {
  return seq2seqVocab(o.numSymbols, 0);
}

/** Source and target lengths that fit every example of the task (maxLen + 1 each, for EOS and BOS). */
export function symbolTaskShape(o: SymbolTaskOptions): { Ts: number; Tt: number } {
  return { Ts: o.maxLen + 1, Tt: o.maxLen + 1 };
}

/** `n` examples drawn from `rng` (a held-out set: give it a generator the training batcher does not use). */
export function symbolTaskExamples(n: number, rng: Rng, o: SymbolTaskOptions): Seq2SeqPair[] {
  checkTask(o);
  return Array.from({ length: n }, () => symbolTaskExample(rng, o));
}

/** The resumable state of a seq2seq batcher. */
export interface Seq2SeqBatcherState {
  /** The generator's state. */
  rng: RngState;
  /** Batches drawn so far. */
  batches: number;
}

/** Base of the seq2seq batchers: draws batches from its own generator, with a resumable state. */
export abstract class Seq2SeqBatcher implements BatchSource<Seq2SeqBatch> {
  #batches = 0;
  /** Rows per batch. */
  readonly batchSize: number;

  /** `rng` is the batcher's own generator (its state is the batcher's state). */
  constructor(batchSize: number, protected readonly rng: Rng) {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    }
    this.batchSize = batchSize;
  }

  /** Draws one batch from {@link rng}. */
  protected abstract make(): Seq2SeqBatch;

  /** Number of batches drawn so far. */
  get batches(): number {
    return this.#batches;
  }

  /** The next batch. */
  next(): Seq2SeqBatch {
    const b = this.make();
    this.#batches++;
    return b;
  }

  /** The state to checkpoint; {@link setState} on a fresh batcher replays the same batches. */
  state(): Seq2SeqBatcherState {
    return { rng: this.rng.state(), batches: this.#batches };
  }

  /** Restores a state captured with {@link state}. */
  setState(s: Seq2SeqBatcherState): void {
    if (typeof s !== "object" || s === null || !Number.isInteger(s.batches) || s.batches < 0) {
      throw new Error(`invalid seq2seq batcher state: ${JSON.stringify(s)}`);
    }
    this.rng.setState(s.rng);
    this.#batches = s.batches;
  }
}

/**
 * Random batches of a generated symbol task, padded to {@link symbolTaskShape}. Give it its own generator
 * (e.g. `rng.fork()`) so its state describes only its stream.
 */
export class SymbolTaskBatcher extends Seq2SeqBatcher {
  /** The task's vocabulary. */
  readonly vocab: Seq2SeqVocab;
  /** Source length of every batch. */
  readonly Ts: number;
  /** Target length of every batch. */
  readonly Tt: number;

  /** Creates the batcher. */
  constructor(readonly task: SymbolTaskOptions, batchSize: number, rng: Rng) {
    super(batchSize, rng);
    checkTask(task);
    this.vocab = symbolTaskVocab(task);
    ({ Ts: this.Ts, Tt: this.Tt } = symbolTaskShape(task));
  }

  /** Draws one batch. */
  protected make(): Seq2SeqBatch {
    const pairs = Array.from({ length: this.batchSize }, () => symbolTaskExample(this.rng, this.task));
    return collateSeq2Seq(pairs, this.vocab, this.Ts, this.Tt);
  }
}

/**
 * Span-corruption batches from one token stream: windows of `windowLength` tokens starting uniformly at random,
 * each corrupted with {@link spanCorrupt}. Every window has the same numbers of noise tokens and spans, so the
 * shapes are fixed: Ts = windowLength − numNoise + numSpans + 1, Tt = numNoise + numSpans + 1.
 */
export class SpanCorruptionBatcher extends Seq2SeqBatcher {
  /** Source length of every batch. */
  readonly Ts: number;
  /** Target length of every batch. */
  readonly Tt: number;

  /** The token stream (windows are read from it by position). */
  readonly tokens: TokenSource;

  /** Creates the batcher; the stream's ids must be ordinary tokens of `vocab`. */
  constructor(
    tokens: Int32Array | TokenSource,
    readonly vocab: Seq2SeqVocab,
    readonly windowLength: number,
    batchSize: number,
    rng: Rng,
    readonly opts: SpanCorruptionOptions = {},
  ) {
    super(batchSize, rng);
    this.tokens = asTokenSource(tokens);
    if (tokens.length < windowLength) {
      throw new Error(
        `SpanCorruptionBatcher: ${tokens.length} tokens are fewer than one window of ${windowLength}`,
      );
    }
    const { numNoise, numSpans } = noiseCounts(windowLength, opts);
    if (numSpans > vocab.numSentinels) {
      throw new Error(
        `SpanCorruptionBatcher: ${numSpans} spans per window but only ${vocab.numSentinels} sentinels`,
      );
    }
    this.Ts = windowLength - numNoise + numSpans + 1;
    this.Tt = numNoise + numSpans + 1;
  }

  /** Draws one batch. */
  protected make(): Seq2SeqBatch {
    const L = this.windowLength, nStarts = this.tokens.length - L + 1;
    const pairs = Array.from({ length: this.batchSize }, () => {
      const start = this.rng.int(nStarts);
      const c = spanCorrupt(readTokens(this.tokens, start, L), this.vocab, this.rng, this.opts);
      return { src: c.input, tgt: c.target };
    });
    return collateSeq2Seq(pairs, this.vocab, this.Ts, this.Tt);
  }
}
