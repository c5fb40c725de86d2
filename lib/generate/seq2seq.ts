/**
 * Decoding from a T5: greedy (batched, with or without the decoder KV cache) and beam search (one source).
 *
 * Both encode the source once. With the cache, each step feeds only the newest token: the decoder
 * self-attention appends its keys and values to a per-block cache, and cross-attention reads keys and values
 * computed once from the encoder output (see {@link T5.startDecoding}). Without it, every step recomputes the
 * decoder over the whole prefix; both give the same tokens.
 *
 * Output convention: the generated tokens after BOS, without the EOS that ended them; at most `maxLen` decoding
 * steps (so at most `maxLen` tokens, when no EOS comes).
 *
 * {@link greedyDecode} and {@link beamSearch} read the logits synchronously (the CPU); their `Async` twins run on
 * every device: on a model on the GPU each decoding step is one GPU step, and its logits are read back once.
 * The sync and async forms share their bookkeeping (generators of decoding steps) and give the same tokens.
 *
 * @module
 */
import type { T5, T5DecoderState } from "../nn/models/t5.ts";
import { reorderDecoderState } from "../nn/models/t5.ts";
import { Tensor } from "../tensor/tensor.ts";
import { noGrad } from "../tensor/grad.ts";

/** Options of {@link greedyDecode}. */
export interface GreedyDecodeOptions {
  /** Most decoding steps (at most block_size). */
  maxLen: number;
  /** The decoder's start token. */
  bosId: number;
  /** The token that ends a sequence. */
  eosId: number;
  /** Real source lengths (B), when the source rows are padded. */
  srcLengths?: Int32Array;
  /** Use the decoder KV cache (default true); false recomputes the decoder over the prefix every step. */
  useCache?: boolean;
}

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions {
  /** Beams kept per step. */
  beamSize: number;
  /** Most decoding steps (at most block_size). */
  maxLen: number;
  /** The decoder's start token. */
  bosId: number;
  /** The token that ends a sequence. */
  eosId: number;
  /** Hypotheses are ranked by log-probability / length^lengthPenalty (length counts the EOS). Default 1. */
  lengthPenalty?: number;
}

/** A finished beam-search hypothesis. */
export interface Hypothesis {
  /** Generated tokens (no BOS, no EOS). */
  tokens: Int32Array;
  /** Sum of the token log-probabilities (EOS included when it ended the hypothesis). */
  logProb: number;
  /** logProb / length^lengthPenalty, the ranking score. */
  score: number;
  /** Whether an EOS ended it (false: cut at maxLen). */
  finished: boolean;
}

// Runs `fn` in eval mode, restoring the training flag afterwards (also once a returned promise settles).
function inference<R>(model: T5, fn: () => R): R {
  const was = model.training;
  model.eval();
  let r: R;
  try {
    r = fn();
  } catch (e) {
    model.train(was);
    throw e;
  }
  if (r instanceof Promise) return r.finally(() => model.train(was)) as R;
  model.train(was);
  return r;
}

// The sync decoders read the logits synchronously: not from the GPU.
function checkOnHost(model: T5, what: string): void {
  if (model.shared.weight.gpu !== null) throw new Error(`${what}: the model is on the GPU; use ${what}Async`);
}

function checkMaxLen(model: T5, maxLen: number, what: string): void {
  if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > model.config.blockSize) {
    throw new Error(`${what}: maxLen must be an integer in [1, ${model.config.blockSize}], got ${maxLen}`);
  }
}

function argmax(x: ArrayLike<number>, off: number, n: number): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < n; i++) {
    if (x[off + i] > bv) {
      bv = x[off + i];
      best = i;
    }
  }
  return best;
}

/**
 * Where a decoding runs: on the CPU directly; on the GPU each `step` is one GPU step (what it makes goes back to
 * the pool at its end), and `keep` moves what outlives a step (the encoder output, the cross-attention keys and
 * values) into arrays of its own, given back by `done`.
 */
interface Decoding {
  step<T>(fn: () => T): T;
  keep(t: Tensor): Tensor;
  done(): void;
}

function decoding(model: T5): Decoding {
  const w = model.shared.weight.gpu;
  if (w === null) return { step: (fn) => fn(), keep: (t) => t, done: () => {} };
  const gpu = w.gpu, kept: Tensor[] = [];
  return {
    step: (fn) => gpu.step(fn),
    keep(t) {
      const a = gpu.array(t.size, "f32", true);
      gpu.copy(t.gpu!, a, t.size);
      const copy = new Tensor(a, t.shape);
      copy.device = t.device;
      kept.push(copy);
      return copy;
    },
    done() {
      for (const t of kept) gpu.release(t.gpu!);
    },
  };
}

// The cross-attention keys and values of `state` moved into arrays that outlive the step that made them.
function keepState(state: T5DecoderState, d: Decoding): T5DecoderState {
  state.crossK = state.crossK.map((t) => d.keep(t));
  state.crossV = state.crossV.map((t) => d.keep(t));
  return state;
}

/** A decoding step: the ids fed (B, T) and, before them, the beam rows to reorder the state by (or null). */
interface Feed {
  ids: Int32Array;
  T: number;
  reorder: number[] | null;
}

/**
 * The steps of a decoding: yields what the decoder reads next, takes the logits of each row's last position
 * (B, V) and returns the result.
 */
type Steps<R> = Generator<Feed, R, Float32Array | Float64Array>;

/** Runs `steps` with the decoder: `logits(feed)` gives the (B, T, V) logits of a step; rows are read per step. */
function runSync<R>(steps: Steps<R>, B: number, V: number, logits: (f: Feed) => Tensor): R {
  let s = steps.next();
  while (!s.done) {
    const f = s.value,
      all = logits(f).readSync(),
      rows = new (all.constructor as Float32ArrayConstructor)(B * V);
    for (let b = 0; b < B; b++) rows.set(all.subarray((b * f.T + f.T - 1) * V, (b * f.T + f.T) * V), b * V);
    s = steps.next(rows);
  }
  return s.value;
}

/** {@link runSync} on any device: each step in `d`, its logits read back asynchronously. */
async function runAsync<R>(
  steps: Steps<R>,
  B: number,
  V: number,
  d: Decoding,
  logits: (f: Feed) => Tensor,
): Promise<R> {
  let s = steps.next();
  while (!s.done) {
    const f = s.value;
    const all = await noGrad(() => d.step(() => logits(f).read()));
    const rows = new Float32Array(B * V);
    for (let b = 0; b < B; b++) rows.set(all.subarray((b * f.T + f.T - 1) * V, (b * f.T + f.T) * V), b * V);
    s = steps.next(rows);
  }
  return s.value;
}

/**
 * Greedy decoding of a batch of sources src (B, Ts): at each step every unfinished row takes its most probable
 * next token. Returns one token array per row (see the module notes).
 */
export function greedyDecode(
  model: T5,
  src: Int32Array,
  B: number,
  Ts: number,
  opts: GreedyDecodeOptions,
): Int32Array[] {
  checkOnHost(model, "greedyDecode");
  checkMaxLen(model, opts.maxLen, "greedyDecode");
  const lengths = opts.srcLengths ?? null;
  return inference(model, () =>
    noGrad(() => {
      const enc = model.encode(src, B, Ts, lengths);
      const state = (opts.useCache ?? true) ? model.startDecoding(enc, lengths, opts.maxLen) : null;
      const logits = greedyLogits(model, enc, lengths, state);
      return runSync(greedySteps(B, opts, state !== null), B, model.config.vocabSize, logits);
    }));
}

/** {@link greedyDecode} on any device (the model's): the same tokens, the logits of each step read back once. */
export async function greedyDecodeAsync(
  model: T5,
  src: Int32Array,
  B: number,
  Ts: number,
  opts: GreedyDecodeOptions,
): Promise<Int32Array[]> {
  checkMaxLen(model, opts.maxLen, "greedyDecode");
  const lengths = opts.srcLengths ?? null, d = decoding(model);
  return await inference(model, async () => {
    try {
      const [enc, state] = noGrad(() =>
        d.step(() => {
          const enc = d.keep(model.encode(src, B, Ts, lengths));
          const state = (opts.useCache ?? true)
            ? keepState(model.startDecoding(enc, lengths, opts.maxLen), d)
            : null;
          return [enc, state] as const;
        })
      );
      try {
        const steps = greedySteps(B, opts, state !== null);
        return await runAsync(
          steps,
          B,
          model.config.vocabSize,
          d,
          greedyLogits(model, enc, lengths, state),
        );
      } finally {
        for (const c of state?.selfCaches ?? []) c.free();
      }
    } finally {
      d.done();
    }
  });
}

// The logits (B, 1, V) of the cached decoder fed the newest tokens, after reordering the beams when asked.
function cachedLogits(model: T5, state: T5DecoderState, f: Feed): Tensor {
  if (f.reorder !== null) reorderDecoderState(state, f.reorder);
  return model.decodeStep(f.ids, state.B, f.T, state);
}

// The logits (B, T, V) of a greedy step: the cached decoder, or the whole prefix recomputed.
function greedyLogits(
  model: T5,
  enc: Tensor,
  lengths: Int32Array | null,
  state: T5DecoderState | null,
): (f: Feed) => Tensor {
  if (state !== null) return (f) => cachedLogits(model, state, f);
  return (f) => model.decode(f.ids, enc.shape[0], f.T, enc, lengths);
}

// The bookkeeping of greedy decoding: with the cache each step feeds the newest token, else the whole prefix.
function* greedySteps(B: number, opts: GreedyDecodeOptions, cached: boolean): Steps<Int32Array[]> {
  const { maxLen, bosId, eosId } = opts;
  const prefix = new Int32Array(B * maxLen); // (B, maxLen): BOS then the tokens so far
  for (let b = 0; b < B; b++) prefix[b * maxLen] = bosId;
  const out: number[][] = Array.from({ length: B }, () => []);
  const done = new Uint8Array(B);
  for (let s = 0; s < maxLen; s++) {
    let ids: Int32Array, T: number;
    if (cached) {
      ids = Int32Array.from({ length: B }, (_, b) => prefix[b * maxLen + s]);
      T = 1;
    } else {
      T = s + 1;
      ids = new Int32Array(B * T);
      for (let b = 0; b < B; b++) ids.set(prefix.subarray(b * maxLen, b * maxLen + T), b * T);
    }
    const logits = yield { ids, T, reorder: null };
    const V = logits.length / B;
    for (let b = 0; b < B; b++) {
      const next = done[b] ? eosId : argmax(logits, b * V, V);
      if (!done[b]) {
        if (next === eosId) done[b] = 1;
        else out[b].push(next);
      }
      if (s + 1 < maxLen) prefix[b * maxLen + s + 1] = next;
    }
    if (done.every((d) => d === 1)) break;
  }
  return out.map((t) => Int32Array.from(t));
}

/** log softmax of n values at x[off…], in float64. */
function logSoftmax(x: ArrayLike<number>, off: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[off + i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[off + i] - max);
  const lse = max + Math.log(sum), out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[off + i] - lse;
  return out;
}

function checkBeam(model: T5, opts: BeamSearchOptions): void {
  if (!Number.isInteger(opts.beamSize) || opts.beamSize < 1) {
    throw new Error(`beamSearch: beamSize must be a positive integer, got ${opts.beamSize}`);
  }
  checkMaxLen(model, opts.maxLen, "beamSearch");
}

// The encoder output (1, Ts, C) repeated for the K beam rows, (K, Ts, C).
function repeatRows(enc1: Tensor, K: number): Tensor {
  const [, Ts, C] = enc1.shape, n = Ts * C;
  if (enc1.gpu !== null) {
    const gpu = enc1.gpu.gpu, rep = new Tensor(gpu.array(K * n), [K, Ts, C]);
    rep.device = enc1.device;
    for (let b = 0; b < K; b++) gpu.copy(enc1.gpu, rep.gpu!, n, 0, b * n);
    return rep;
  }
  const rep = Tensor.zeros([K, Ts, C], enc1.dtype);
  for (let b = 0; b < K; b++) rep.write(enc1.readSync(), b * n);
  return rep;
}

/**
 * Beam search for one source sequence `src` (no padding), with a beam that shrinks as hypotheses end: with n =
 * beamSize − (hypotheses ended so far) live slots, each step ranks every one-token extension of the live beams by
 * log-probability and takes the top n; those ending in EOS become hypotheses, the rest the next live beams. The
 * search ends when beamSize hypotheses have ended, or after `maxLen` steps (the live beams then count as
 * unfinished hypotheses). The best-ranked extension always survives, so low-ranked beams that end early cannot
 * stop the search before it. Returns every hypothesis, best score first. With beamSize 1 this is exactly greedy
 * decoding.
 */
export function beamSearch(model: T5, src: Int32Array, opts: BeamSearchOptions): Hypothesis[] {
  checkOnHost(model, "beamSearch");
  checkBeam(model, opts);
  const K = opts.beamSize;
  return inference(model, () =>
    noGrad(() => {
      const state = model.startDecoding(repeatRows(model.encode(src, 1, src.length), K), null, opts.maxLen);
      const logits = (f: Feed) => cachedLogits(model, state, f);
      return runSync(beamSteps(opts), K, model.config.vocabSize, logits);
    }));
}

/** {@link beamSearch} on any device (the model's): the same hypotheses, each step's logits read back once. */
export async function beamSearchAsync(
  model: T5,
  src: Int32Array,
  opts: BeamSearchOptions,
): Promise<Hypothesis[]> {
  checkBeam(model, opts);
  const K = opts.beamSize, d = decoding(model);
  return await inference(model, async () => {
    try {
      const state = noGrad(() =>
        d.step(() =>
          keepState(
            model.startDecoding(repeatRows(model.encode(src, 1, src.length), K), null, opts.maxLen),
            d,
          )
        )
      );
      try {
        const logits = (f: Feed) => cachedLogits(model, state, f);
        return await runAsync(beamSteps(opts), K, model.config.vocabSize, d, logits);
      } finally {
        for (const c of state.selfCaches) c.free();
      }
    } finally {
      d.done();
    }
  });
}

// The bookkeeping of beam search (see beamSearch): each step feeds the K beams' newest tokens, after reordering
// the decoding state to the beams kept.
function* beamSteps(opts: BeamSearchOptions): Steps<Hypothesis[]> {
  const { beamSize: K, maxLen, bosId, eosId } = opts;
  const alpha = opts.lengthPenalty ?? 1;
  const norm = (logProb: number, len: number) => logProb / Math.pow(Math.max(1, len), alpha);
  let beams: { tokens: number[]; logProb: number }[] = [{ tokens: [], logProb: 0 }];
  const hyps: Hypothesis[] = [];
  const feed = new Int32Array(K).fill(bosId);
  let reorder: number[] | null = null;
  for (let s = 0; s < maxLen; s++) {
    const logits = yield { ids: feed.slice(), T: 1, reorder };
    const V = logits.length / K;
    const cands: { beam: number; token: number; logProb: number }[] = [];
    beams.forEach((beam, b) => {
      const lp = logSoftmax(logits, b * V, V);
      for (let t = 0; t < V; t++) cands.push({ beam: b, token: t, logProb: beam.logProb + lp[t] });
    });
    cands.sort((a, b) => b.logProb - a.logProb); // stable: ties keep (beam, token) order
    const next: { tokens: number[]; logProb: number; from: number }[] = [];
    const slots = K - hyps.length;
    for (let rank = 0; rank < Math.min(slots, cands.length); rank++) {
      const c = cands[rank], prev = beams[c.beam];
      if (c.token === eosId) {
        const len = prev.tokens.length + 1;
        hyps.push({
          tokens: Int32Array.from(prev.tokens),
          logProb: c.logProb,
          score: norm(c.logProb, len),
          finished: true,
        });
      } else next.push({ tokens: [...prev.tokens, c.token], logProb: c.logProb, from: c.beam });
    }
    if (next.length === 0) break;
    if (s === maxLen - 1) {
      for (const b of next) {
        hyps.push({
          tokens: Int32Array.from(b.tokens),
          logProb: b.logProb,
          score: norm(b.logProb, b.tokens.length),
          finished: false,
        });
      }
      break;
    }
    reorder = Array.from({ length: K }, (_, b) => next[b]?.from ?? next[0].from);
    for (let b = 0; b < K; b++) feed[b] = (next[b] ?? next[0]).tokens.at(-1)!;
    beams = next.map(({ tokens, logProb }) => ({ tokens, logProb }));
  }
  return hyps.sort((a, b) => b.score - a.score);
}
