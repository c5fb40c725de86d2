/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum as Google's `rouge_score` package (`rouge_scorer.RougeScorer`) computes them.
 *
 * Tokenisation (rouge_score's default tokenizer): lower-case; replace every run of characters other than
 * [a-z0-9] by a space; split on whitespace; with `useStemmer`, stem tokens longer than 3 characters with NLTK's
 * Porter stemmer (default NLTK_EXTENSIONS mode, see `porter.ts`); drop empty tokens.
 *
 * Scores (target = reference text, prediction = system output):
 *
 * ```
 * ROUGE-N:  overlap = Σ_g min(count_target(g), count_prediction(g)) over n-grams g
 *           P = overlap / max(1, #prediction n-grams),  R = overlap / max(1, #target n-grams)
 * ROUGE-L:  P = LCS / |prediction|,  R = LCS / |target|   (all 0 if either is empty)
 * F = 2PR / (P + R), or 0 when P + R = 0
 * ```
 *
 * ROUGE-Lsum splits both texts on "\n" (dropping empty lines), and for each target sentence takes the union of
 * the LCS token positions against every prediction sentence; hits are counted without re-using a token more
 * often than it occurs in either text (as ROUGE 1.5.5 / rouge_score do). P = hits / prediction tokens, R = hits /
 * target tokens.
 *
 * @module
 */
import { PorterStemmer } from "./porter.ts";

/** Precision, recall and F1 of one ROUGE type. */
export interface RougeScore {
  /** Matches / prediction size. */
  readonly precision: number;
  /** Matches / target size. */
  readonly recall: number;
  /** Harmonic mean 2PR/(P+R) (0 when P + R = 0). */
  readonly fmeasure: number;
}

/** A ROUGE type: "rouge1" … "rouge9", "rougeL" or "rougeLsum". */
export type RougeType = `rouge${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}` | "rougeL" | "rougeLsum";

/** The default types of {@link RougeScorer}. */
export const DEFAULT_ROUGE_TYPES: readonly RougeType[] = ["rouge1", "rouge2", "rougeL"];

/** F = 2PR / (P + R), or 0 when P + R is 0. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

function score(precision: number, recall: number): RougeScore {
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

const sharedStemmer = new PorterStemmer();

/**
 * rouge_score's default tokenizer: lower-case, non-[a-z0-9] → space, split on whitespace, optionally Porter-stem
 * tokens longer than 3 characters, drop empty/invalid tokens.
 *
 * @param text the text
 * @param useStemmer stem with NLTK's Porter stemmer (default false)
 * @param stemmer the stemmer to use (default a shared memoising one)
 */
export function rougeTokenize(
  text: string,
  useStemmer = false,
  stemmer: PorterStemmer = sharedStemmer,
): string[] {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9]+/g, " ");
  const out: string[] = [];
  for (const raw of cleaned.split(" ")) {
    if (raw.length === 0) continue;
    const tok = useStemmer && raw.length > 3 ? stemmer.stem(raw) : raw;
    if (/^[a-z0-9]+$/.test(tok)) out.push(tok);
  }
  return out;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    // Tokens are [a-z0-9]+ after rougeTokenize; a space separator is unambiguous there, JSON is for any input.
    const key = JSON.stringify(tokens.slice(i, i + n));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N of two token lists (clipped n-gram overlap). */
export function rougeN(
  targetTokens: readonly string[],
  predictionTokens: readonly string[],
  n: number,
): RougeScore {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`ROUGE-N needs a positive integer n, got ${n}`);
  const t = ngramCounts(targetTokens, n), p = ngramCounts(predictionTokens, n);
  let overlap = 0, tCount = 0, pCount = 0;
  for (const [g, c] of t) {
    overlap += Math.min(c, p.get(g) ?? 0);
    tCount += c;
  }
  for (const c of p.values()) pCount += c;
  return score(overlap / Math.max(pCount, 1), overlap / Math.max(tCount, 1));
}

/** The (|ref|+1)×(|can|+1) LCS length table, row-major. */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array {
  const cols = can.length + 1;
  const t = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i * cols + j] = ref[i - 1] === can[j - 1]
        ? t[(i - 1) * cols + j - 1] + 1
        : Math.max(t[(i - 1) * cols + j], t[i * cols + j - 1]);
    }
  }
  return t;
}

/** Length of the longest common subsequence of two token lists (O(|a|·|b|) time, O(|b|) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1), cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L of two token lists: LCS / |prediction|, LCS / |target|. */
export function rougeL(targetTokens: readonly string[], predictionTokens: readonly string[]): RougeScore {
  if (targetTokens.length === 0 || predictionTokens.length === 0) return ZERO;
  const lcs = lcsLength(targetTokens, predictionTokens);
  return score(lcs / predictionTokens.length, lcs / targetTokens.length);
}

/**
 * Indices into `ref` of one LCS with `can`, read back from the table the way rouge_score does (on a mismatch,
 * step left when that cell is strictly larger, else up).
 */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const cols = can.length + 1;
  let i = ref.length, j = can.length;
  const out: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

/**
 * Summary-level ROUGE-L (rouge_score's "rougeLsum") from sentence-split token lists.
 *
 * @param targetSents tokenised target sentences
 * @param predictionSents tokenised prediction sentences
 */
export function rougeLsumTokens(
  targetSents: readonly (readonly string[])[],
  predictionSents: readonly (readonly string[])[],
): RougeScore {
  if (targetSents.length === 0 || predictionSents.length === 0) return ZERO;
  const m = targetSents.reduce((s, x) => s + x.length, 0);
  const n = predictionSents.reduce((s, x) => s + x.length, 0);
  if (m === 0 || n === 0) return ZERO;
  const countR = new Map<string, number>(), countC = new Map<string, number>();
  for (const s of targetSents) for (const tok of s) countR.set(tok, (countR.get(tok) ?? 0) + 1);
  for (const s of predictionSents) for (const tok of s) countC.set(tok, (countC.get(tok) ?? 0) + 1);
  let hits = 0;
  for (const r of targetSents) {
    const union = new Set<number>();
    for (const c of predictionSents) for (const i of lcsIndices(r, c)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const tok = r[i];
      const cc = countC.get(tok) ?? 0, cr = countR.get(tok) ?? 0;
      if (cc > 0 && cr > 0) {
        hits++;
        countC.set(tok, cc - 1);
        countR.set(tok, cr - 1);
      }
    }
  }
  return score(hits / n, hits / m);
}

/** Options of {@link RougeScorer}. */
export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (rouge_score's `use_stemmer`). Default false. */
  readonly useStemmer?: boolean;
}

/** Per-type scores of one (target, prediction) pair. */
export type RougeScores = Partial<Record<RougeType, RougeScore>>;

function parseType(t: string): RougeType {
  if (t === "rougeL" || t === "rougeLsum" || /^rouge[1-9]$/.test(t)) return t as RougeType;
  throw new RangeError(
    `Invalid rouge type: ${JSON.stringify(t)} (expected rouge1 … rouge9, rougeL or rougeLsum)`,
  );
}

/** rouge_score's `RougeScorer`: scores (target, prediction) text pairs for a fixed set of ROUGE types. */
export class RougeScorer {
  /** The types scored. */
  readonly rougeTypes: readonly RougeType[];
  /** Whether tokens are stemmed. */
  readonly useStemmer: boolean;
  readonly #stemmer = new PorterStemmer();

  /**
   * @param rougeTypes e.g. ["rouge1", "rouge2", "rougeL", "rougeLsum"]
   * @param options useStemmer
   */
  /** A scorer for the given ROUGE types (rouge1…rouge9, rougeL, rougeLsum); throws on an unknown type. */
  constructor(rougeTypes: readonly string[] = DEFAULT_ROUGE_TYPES, options: RougeOptions = {}) {
    this.rougeTypes = rougeTypes.map(parseType);
    this.useStemmer = options.useStemmer ?? false;
  }

  /** Tokenises like rouge_score's default tokenizer with this scorer's stemming setting. */
  tokenize(text: string): string[] {
    return rougeTokenize(text, this.useStemmer, this.#stemmer);
  }

  /** Scores one pair: target (reference) first, prediction second, as rouge_score's `score(target, prediction)`. */
  score(target: string, prediction: string): RougeScores {
    const needFlat = this.rougeTypes.some((t) => t !== "rougeLsum");
    const tt = needFlat ? this.tokenize(target) : [];
    const pt = needFlat ? this.tokenize(prediction) : [];
    const out: RougeScores = {};
    for (const type of this.rougeTypes) {
      if (type === "rougeL") out[type] = rougeL(tt, pt);
      else if (type === "rougeLsum") {
        const sents = (text: string) =>
          text.split("\n").filter((s) => s.length > 0).map((s) => this.tokenize(s));
        out[type] = rougeLsumTokens(sents(target), sents(prediction));
      } else out[type] = rougeN(tt, pt, Number(type.slice(5)));
    }
    return out;
  }
}

/**
 * Mean of per-pair scores, type by type (precision, recall and F1 each averaged separately — the "mid" of
 * rouge_score's BootstrapAggregator without the resampling). Types missing from some pairs are averaged over the
 * pairs that have them.
 */
export function aggregateRouge(scores: readonly RougeScores[]): RougeScores {
  const sums = new Map<RougeType, { p: number; r: number; f: number; n: number }>();
  for (const s of scores) {
    for (const [type, v] of Object.entries(s) as [RougeType, RougeScore | undefined][]) {
      if (v === undefined) continue;
      const acc = sums.get(type) ?? { p: 0, r: 0, f: 0, n: 0 };
      acc.p += v.precision;
      acc.r += v.recall;
      acc.f += v.fmeasure;
      acc.n++;
      sums.set(type, acc);
    }
  }
  const out: RougeScores = {};
  for (const [type, a] of sums) out[type] = { precision: a.p / a.n, recall: a.r / a.n, fmeasure: a.f / a.n };
  return out;
}

/**
 * Corpus-level ROUGE: the mean over pairs of the per-pair scores ({@link aggregateRouge}).
 *
 * @param targets reference texts
 * @param predictions system outputs, aligned with `targets`
 * @param rougeTypes default rouge1, rouge2, rougeL
 * @param options useStemmer
 */
export function corpusRouge(
  targets: readonly string[],
  predictions: readonly string[],
  rougeTypes: readonly string[] = DEFAULT_ROUGE_TYPES,
  options: RougeOptions = {},
): RougeScores {
  if (targets.length !== predictions.length) {
    throw new RangeError(`${targets.length} targets but ${predictions.length} predictions`);
  }
  const scorer = new RougeScorer(rougeTypes, options);
  return aggregateRouge(targets.map((t, i) => scorer.score(t, predictions[i])));
}
