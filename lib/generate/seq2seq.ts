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
 * @module
 */
import type { T5 } from "../nn/models/t5.ts";
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

// Runs `fn` in eval mode without the tape, restoring the training flag afterwards.
function inference<T>(model: T5, fn: () => T): T {
  const was = model.training;
  model.eval();
  try {
    return noGrad(fn);
  } finally {
    model.train(was);
  }
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
  const { maxLen, bosId, eosId } = opts;
  checkMaxLen(model, maxLen, "greedyDecode");
  const V = model.config.vocabSize, lengths = opts.srcLengths ?? null;
  return inference(model, () => {
    const enc = model.encode(src, B, Ts, lengths);
    const state = (opts.useCache ?? true) ? model.startDecoding(enc, lengths, maxLen) : null;
    const prefix = new Int32Array(B * maxLen); // (B, maxLen): BOS then the tokens so far
    for (let b = 0; b < B; b++) prefix[b * maxLen] = bosId;
    const out: number[][] = Array.from({ length: B }, () => []);
    const done = new Uint8Array(B);
    for (let s = 0; s < maxLen; s++) {
      let logits: ArrayLike<number>, off: (b: number) => number;
      if (state !== null) {
        const feed = Int32Array.from({ length: B }, (_, b) => prefix[b * maxLen + s]);
        logits = model.decodeStep(feed, B, 1, state).readSync();
        off = (b) => b * V;
      } else {
        const T = s + 1, tgt = new Int32Array(B * T);
        for (let b = 0; b < B; b++) tgt.set(prefix.subarray(b * maxLen, b * maxLen + T), b * T);
        logits = model.decode(tgt, B, T, enc, lengths).readSync();
        off = (b) => (b * T + s) * V;
      }
      for (let b = 0; b < B; b++) {
        const next = done[b] ? eosId : argmax(logits, off(b), V);
        if (!done[b]) {
          if (next === eosId) done[b] = 1;
          else out[b].push(next);
        }
        if (s + 1 < maxLen) prefix[b * maxLen + s + 1] = next;
      }
      if (done.every((d) => d === 1)) break;
    }
    return out.map((t) => Int32Array.from(t));
  });
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
  const { beamSize: K, maxLen, bosId, eosId } = opts;
  const alpha = opts.lengthPenalty ?? 1;
  if (!Number.isInteger(K) || K < 1) {
    throw new Error(`beamSearch: beamSize must be a positive integer, got ${K}`);
  }
  checkMaxLen(model, maxLen, "beamSearch");
  const V = model.config.vocabSize, Ts = src.length;
  const norm = (logProb: number, len: number) => logProb / Math.pow(Math.max(1, len), alpha);
  return inference(model, () => {
    const enc1 = model.encode(src, 1, Ts); // (1, Ts, C), repeated for the K beam rows
    const C = enc1.shape[2], rep = Tensor.zeros([K, Ts, C], enc1.dtype);
    for (let b = 0; b < K; b++) rep.write(enc1.readSync(), b * Ts * C);
    const state = model.startDecoding(rep, null, maxLen);
    let beams: { tokens: number[]; logProb: number }[] = [{ tokens: [], logProb: 0 }];
    const hyps: Hypothesis[] = [];
    const feed = new Int32Array(K).fill(bosId);
    for (let s = 0; s < maxLen; s++) {
      const logits = model.decodeStep(feed, K, 1, state).readSync();
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
      const rows = Array.from({ length: K }, (_, b) => next[b]?.from ?? next[0].from);
      reorderDecoderState(state, rows);
      for (let b = 0; b < K; b++) feed[b] = (next[b] ?? next[0]).tokens.at(-1)!;
      beams = next.map(({ tokens, logProb }) => ({ tokens, logProb }));
    }
    return hyps.sort((a, b) => b.score - a.score);
  });
}
