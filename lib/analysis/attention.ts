/**
 * Seeing what a GPT's attention heads do: the attention maps of one prompt, and per-head statistics over many
 * windows of text.
 *
 * Every statistic is a mean over query rows i = 1…T−1 of a head's (T, T) probability matrix `p` (row i is the
 * distribution of query i over keys j ≤ i); row 0 is left out because causal attention forces it onto j = 0.
 *
 * - entropy: −Σ_j p_ij ln p_ij (nats). Uniform causal attention has the most, ln(i+1).
 * - distance: Σ_j p_ij (i − j), how far back the head looks on average.
 * - previous-token score: p_i,i−1.
 * - sink (first-token) score: p_i,0.
 * - induction score, on a random token sequence r of length L repeated twice (T = 2L): for queries i = L…2L−1
 *   in the second copy, the weight on j = i − L + 1, the token right after the previous occurrence of the
 *   current token (the key an induction head copies from).
 *
 * {@link uniformChance} gives each score under uniform causal attention (p_ij = 1/(i+1)), so a report can say
 * whether a head is clearly above chance ({@link clearlyAboveChance}).
 *
 * @module
 */
import { withStep } from "../tensor/storage.ts";
import type { GPT } from "../nn/models/gpt.ts";
import { Rng } from "../random.ts";
import { noGrad } from "../tensor/grad.ts";

/** Probabilities as the attention kernels hand them over. */
export type Probs = Float32Array | Float64Array;

/** The four scores read from one (T, T) matrix (means over query rows 1…T−1). */
export interface RowScores {
  /** Mean row entropy in nats. */
  entropy: number;
  /** Mean attended distance Σ_j p_ij (i − j), in positions. */
  distance: number;
  /** Mean weight on the previous token, p_i,i−1. */
  prevToken: number;
  /** Mean weight on the first token, p_i,0. */
  sink: number;
}

/** The statistics of one head. */
export interface HeadStat extends RowScores {
  /** Layer (block) index, from 0. */
  layer: number;
  /** Head index within the layer, from 0. */
  head: number;
  /** Mean induction score on the repeated random sequences (NaN when none were run). */
  induction: number;
}

/** Score names that are weights on particular keys (higher than chance = a recognisable head type). */
export type HeadTypeScore = "prevToken" | "sink" | "induction";

/** What each statistic is under uniform causal attention. */
export interface ChanceLevels {
  /** Mean over i = 1…T−1 of ln(i+1): the largest mean entropy a causal head can have. */
  entropy: number;
  /** Mean over i = 1…T−1 of i/2. */
  distance: number;
  /** Mean over i = 1…T−1 of 1/(i+1). */
  prevToken: number;
  /** Same as prevToken: mean over i = 1…T−1 of 1/(i+1). */
  sink: number;
  /** Mean over i = L…2L−1 of 1/(i+1) (NaN without induction sequences). */
  induction: number;
}

/** Per-head statistics of a model over a set of windows. */
export interface HeadStatsResult {
  /** Number of layers. */
  nLayer: number;
  /** Heads per layer. */
  nHead: number;
  /** Window length in tokens. */
  T: number;
  /** Number of text windows averaged over. */
  windows: number;
  /** Length L of each random sequence (repeated twice) of the induction test; 0 when not run. */
  inductionLength: number;
  /** Number of repeated random sequences averaged over. */
  inductionSequences: number;
  /** One entry per head, layer-major. */
  heads: HeadStat[];
  /** The same statistics under uniform causal attention over T (and 2L) positions. */
  chance: ChanceLevels;
}

/** The attention maps of one prompt. */
export interface AttentionMaps {
  /** The prompt's token ids. */
  ids: Int32Array;
  /** Number of tokens. */
  T: number;
  /** Number of layers. */
  nLayer: number;
  /** Heads per layer. */
  nHead: number;
  /** maps[layer][head]: (T, T) row-major, row i = query position i, column j = key position j. */
  maps: Float32Array[][];
}

// ---------------------------------------------------------------------------------------------------------------
// Scores of one matrix

/** Entropy in nats of row `i` of the (T, T) matrix at `offset` in `p` (only columns j ≤ i are read). */
export function rowEntropy(p: ArrayLike<number>, T: number, i: number, offset = 0): number {
  let h = 0;
  const row = offset + i * T;
  for (let j = 0; j <= i; j++) {
    const v = p[row + j];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

/** The {@link RowScores} of the (T, T) matrix at `offset` in `p` (T ≥ 2). */
export function rowScores(p: ArrayLike<number>, T: number, offset = 0): RowScores {
  if (T < 2) throw new Error(`rowScores: need T >= 2, got ${T}`);
  let entropy = 0, distance = 0, prevToken = 0, sink = 0;
  for (let i = 1; i < T; i++) {
    const row = offset + i * T;
    let h = 0, d = 0;
    for (let j = 0; j <= i; j++) {
      const v = p[row + j];
      if (v > 0) h -= v * Math.log(v);
      d += v * (i - j);
    }
    entropy += h;
    distance += d;
    prevToken += p[row + i - 1];
    sink += p[row];
  }
  const n = T - 1;
  return { entropy: entropy / n, distance: distance / n, prevToken: prevToken / n, sink: sink / n };
}

/**
 * Induction score of the (T, T) matrix at `offset` in `p` for a sequence of length L repeated twice (T ≥ 2L):
 * the mean over i = L…2L−1 of p_i,i−L+1.
 */
export function inductionScore(p: ArrayLike<number>, T: number, L: number, offset = 0): number {
  if (!(L >= 1 && 2 * L <= T)) throw new Error(`inductionScore: need 1 <= L and 2L <= T, got L ${L}, T ${T}`);
  let s = 0;
  for (let i = L; i < 2 * L; i++) s += p[offset + i * T + i - L + 1];
  return s / L;
}

/** Each statistic under uniform causal attention over T positions (induction: over 2L, NaN when L is 0). */
export function uniformChance(T: number, L = 0): ChanceLevels {
  if (T < 2) throw new Error(`uniformChance: need T >= 2, got ${T}`);
  let entropy = 0, distance = 0, inv = 0;
  for (let i = 1; i < T; i++) {
    entropy += Math.log(i + 1);
    distance += i / 2;
    inv += 1 / (i + 1);
  }
  const n = T - 1;
  let induction = NaN;
  if (L > 0) {
    induction = 0;
    for (let i = L; i < 2 * L; i++) induction += 1 / (i + 1);
    induction /= L;
  }
  return { entropy: entropy / n, distance: distance / n, prevToken: inv / n, sink: inv / n, induction };
}

/**
 * Whether a head-type score is clearly above its chance level: at least twice chance and at least 0.1 above it
 * (a weight share a reader would notice in the map).
 */
export function clearlyAboveChance(score: number, chance: number): boolean {
  return Number.isFinite(score) && score >= 2 * chance && score - chance >= 0.1;
}

/** The head with the highest `score` (the first such head on ties), or undefined for no heads. */
export function bestHead(heads: readonly HeadStat[], score: HeadTypeScore): HeadStat | undefined {
  let best: HeadStat | undefined;
  for (const h of heads) if (best === undefined || h[score] > best[score]) best = h;
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Running the model

/**
 * Runs `fn` with `hook(layer, probs)` receiving every block's attention probabilities (B, H, T, T). The model is
 * put in eval mode for the call; its previous mode and hooks are restored afterwards. `probs` may live in the
 * kernel arena: copy what must outlive the hook.
 */
export function withAttentionHook<R>(
  model: GPT,
  hook: (layer: number, probs: Probs) => void,
  fn: () => R,
): R {
  const blocks = model.h.items;
  const previous = blocks.map((b) => b.attn.onProbs);
  const wasTraining = model.training;
  model.eval();
  blocks.forEach((b, l) => b.attn.onProbs = (probs) => hook(l, probs));
  try {
    return fn();
  } finally {
    blocks.forEach((b, l) => b.attn.onProbs = previous[l]);
    model.train(wasTraining);
  }
}

/** One forward pass of `rows` sequences of T tokens (no gradient, arena-scoped), reporting probabilities. */
function forwardWithProbs(
  model: GPT,
  ids: Int32Array,
  rows: number,
  T: number,
  hook: (layer: number, probs: Probs) => void,
): void {
  withAttentionHook(model, hook, () => noGrad(() => withStep(() => void model.forward(ids, rows, T))));
}

/** The attention maps of every layer and head for one prompt (1 ≤ length ≤ block_size). */
export function attentionMaps(model: GPT, ids: Int32Array): AttentionMaps {
  const T = ids.length, { nLayer, nHead, blockSize } = model.config;
  if (T < 1 || T > blockSize) {
    throw new Error(`attentionMaps: the prompt has ${T} tokens; need 1…${blockSize}`);
  }
  const maps: Float32Array[][] = Array.from({ length: nLayer }, () => []);
  forwardWithProbs(model, ids, 1, T, (l, probs) => {
    // probs (1, H, T, T) may be arena storage: copy each head out
    for (let h = 0; h < nHead; h++) maps[l][h] = new Float32Array(probs.subarray(h * T * T, (h + 1) * T * T));
  });
  return { ids: ids.slice(), T, nLayer, nHead, maps };
}

/**
 * `n` windows of T tokens from `tokens`, evenly spaced from the start to the end (overlapping when the text is
 * short). Throws when the text has fewer than T tokens.
 */
export function sampleWindows(tokens: Int32Array, T: number, n: number): Int32Array[] {
  if (tokens.length < T) {
    throw new Error(`sampleWindows: ${tokens.length} tokens, fewer than one window of ${T}`);
  }
  if (!(n >= 1)) throw new Error(`sampleWindows: need n >= 1, got ${n}`);
  const span = tokens.length - T, out: Int32Array[] = [];
  for (let k = 0; k < n; k++) {
    const at = n === 1 ? 0 : Math.round((k * span) / (n - 1));
    out.push(tokens.slice(at, at + T));
  }
  return out;
}

/**
 * `count` sequences of length 2L: L tokens drawn uniformly (seeded) from `pool` (default all ids below
 * `vocabSize`), then the same L tokens again.
 */
export function repeatedSequences(
  count: number,
  L: number,
  vocabSize: number,
  rng: Rng,
  pool?: readonly number[],
): Int32Array[] {
  const ids = pool ?? Array.from({ length: vocabSize }, (_, i) => i);
  if (ids.length === 0) throw new Error("repeatedSequences: empty token pool");
  return Array.from({ length: count }, () => {
    const s = new Int32Array(2 * L);
    for (let t = 0; t < L; t++) s[t] = s[t + L] = ids[rng.int(ids.length)];
    return s;
  });
}

/** Options of {@link headStatistics}. */
export interface HeadStatsOptions {
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
  /** Length L of the random sequence repeated for the induction test (default ⌊block_size/2⌋; 0 = skip). */
  inductionLength?: number;
  /** Number of repeated random sequences (default 16). */
  inductionSequences?: number;
  /** Seed of the random sequences (default 0). */
  seed?: number;
  /** Token ids the random sequences draw from (default every id; e.g. leave out special tokens). */
  inductionPool?: readonly number[];
}

/** Runs `seqs` (all of length T) through the model in batches, calling `visit(layer, probs, rows)`. */
function runBatches(
  model: GPT,
  seqs: readonly Int32Array[],
  T: number,
  batchSize: number,
  visit: (layer: number, probs: Probs, rows: number) => void,
): void {
  for (let s0 = 0; s0 < seqs.length; s0 += batchSize) {
    const rows = Math.min(batchSize, seqs.length - s0), ids = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      if (seqs[s0 + r].length !== T) throw new Error(`headStatistics: window ${s0 + r} is not ${T} tokens`);
      ids.set(seqs[s0 + r], r * T);
    }
    forwardWithProbs(model, ids, rows, T, (l, probs) => visit(l, probs, rows));
  }
}

/**
 * Per-head statistics over `windows` (token windows of one length T, 2 ≤ T ≤ block_size) plus the induction
 * score on repeated random sequences. Statistics are read inside the forward pass, so memory stays at one batch.
 */
export function headStatistics(
  model: GPT,
  windows: readonly Int32Array[],
  opts: HeadStatsOptions = {},
): HeadStatsResult {
  const { nLayer, nHead, blockSize, vocabSize } = model.config;
  if (windows.length === 0) throw new Error("headStatistics: no windows");
  const T = windows[0].length;
  if (T < 2 || T > blockSize) throw new Error(`headStatistics: windows of ${T} tokens; need 2…${blockSize}`);
  const batchSize = opts.batchSize ?? 8;
  const L = opts.inductionLength ?? Math.floor(blockSize / 2);
  if (L < 0 || 2 * L > blockSize) {
    throw new Error(`headStatistics: induction length ${L} must fit twice in ${blockSize}`);
  }
  const nInd = L > 0 ? opts.inductionSequences ?? 16 : 0;

  const sums = new Float64Array(nLayer * nHead * 5); // entropy, distance, prevToken, sink, induction
  runBatches(model, windows, T, batchSize, (l, probs, rows) => {
    for (let b = 0; b < rows; b++) {
      for (let h = 0; h < nHead; h++) {
        const s = rowScores(probs, T, (b * nHead + h) * T * T), at = (l * nHead + h) * 5;
        sums[at] += s.entropy;
        sums[at + 1] += s.distance;
        sums[at + 2] += s.prevToken;
        sums[at + 3] += s.sink;
      }
    }
  });
  if (nInd > 0) {
    const seqs = repeatedSequences(nInd, L, vocabSize, new Rng(opts.seed ?? 0), opts.inductionPool);
    runBatches(model, seqs, 2 * L, batchSize, (l, probs, rows) => {
      for (let b = 0; b < rows; b++) {
        for (let h = 0; h < nHead; h++) {
          sums[(l * nHead + h) * 5 + 4] += inductionScore(probs, 2 * L, L, (b * nHead + h) * 4 * L * L);
        }
      }
    });
  }
  const heads: HeadStat[] = [];
  for (let l = 0; l < nLayer; l++) {
    for (let h = 0; h < nHead; h++) {
      const at = (l * nHead + h) * 5, n = windows.length;
      heads.push({
        layer: l,
        head: h,
        entropy: sums[at] / n,
        distance: sums[at + 1] / n,
        prevToken: sums[at + 2] / n,
        sink: sums[at + 3] / n,
        induction: nInd > 0 ? sums[at + 4] / nInd : NaN,
      });
    }
  }
  return {
    nLayer,
    nHead,
    T,
    windows: windows.length,
    inductionLength: L,
    inductionSequences: nInd,
    heads,
    chance: uniformChance(T, L),
  };
}
