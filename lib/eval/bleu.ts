/**
 * BLEU (Papineni et al., 2002), computed the way NLTK 3.8's `nltk.translate.bleu_score.corpus_bleu` and
 * `sentence_bleu` compute it, including the smoothing methods of Chen & Cherry (2014) as NLTK implements them
 * (`SmoothingFunction().method0` … `method7`) and NLTK's quirks (listed below). Known-answer tests against NLTK
 * 3.8 live in `tests/eval/bleu_test.ts`.
 *
 * Corpus BLEU with n-gram weights w₁…w_N:
 *
 * ```
 * p_n  = Σ_segments clipped n-gram matches / Σ_segments max(1, hypothesis n-grams)      (micro-averaged)
 * BP   = 1 if c > r, 0 if c = 0, else exp(1 − r / c)
 *        c = total hypothesis length, r = Σ_segments length of the reference closest in length (ties → shorter)
 * BLEU = BP · exp(Σ_{n : p_n > 0} w_n · ln p_n)          (after smoothing; precisions that are still 0 are skipped)
 * ```
 *
 * A hypothesis n-gram's count is clipped to the largest count of that n-gram in any single reference.
 *
 * NLTK behaviours reproduced on purpose:
 * - If no unigram matches anywhere in the corpus, the score is 0 before any smoothing is applied.
 * - `method0` (no smoothing) replaces a zero precision by the smallest normal double (`sys.float_info.min`,
 *   2.2250738585072014e-308) and emits a warning, so the result is a tiny positive number (≈1e-78 for one zero
 *   order), not an exact 0.
 * - Precisions that are still exactly 0 after smoothing are left out of the weighted sum (e.g. `method4` on a
 *   corpus whose total hypothesis length is 1 leaves them at 0).
 * - The smoothing functions that look at "the" hypothesis (`method5`'s extra 5-gram precision, `method6`'s
 *   hypothesis n-gram count, `method4`'s fallback length) see the LAST segment of the corpus only.
 * - `method5` always uses the 5-gram precision as the "n+1" term of the highest order, whatever the number of
 *   weights.
 * - `method6` requires a non-zero trigram precision (NLTK's message says "bigrams") and at least 3 orders.
 * - `autoReweigh` replaces the weights by `1/c` repeated `c` times only when `c` (total hypothesis length) < 4 and
 *   the weights are exactly (0.25, 0.25, 0.25, 0.25).
 *
 * NLTK keeps precisions as un-normalised `Fraction`s (numerator = matches, denominator = n-gram count); this module
 * mirrors that with {@link Fraction}. Arithmetic done exactly on `Fraction`s in Python (methods 5 and 6) is done in
 * floating point here; the difference is at the level of 1e-15 relative.
 *
 * @module
 */

/** A tokenised sentence. The caller tokenises (see {@link whitespaceTokenize} for the simplest choice). */
export type Tokens = readonly string[];

/**
 * An un-normalised fraction, like NLTK's `Fraction(numerator, denominator, _normalize=False)`: smoothing methods
 * read the raw match count (`numerator`) and n-gram count (`denominator`).
 */
export class Fraction {
  /**
   * @param numerator number of clipped n-gram matches
   * @param denominator number of hypothesis n-grams (at least 1 per segment)
   */
  /** A numerator/denominator pair, kept unreduced (as NLTK keeps its n-gram counts). */
  constructor(readonly numerator: number, readonly denominator: number) {}

  /** The value as a number (numerator / denominator). */
  valueOf(): number {
    return this.numerator / this.denominator;
  }

  /** `numerator/denominator`, for messages. */
  toString(): string {
    return `${this.numerator}/${this.denominator}`;
  }
}

/** A modified n-gram precision: a raw {@link Fraction}, or a plain number once a smoothing method replaced it. */
export type Precision = number | Fraction;

/** What a smoothing function sees besides the precisions (NLTK passes the same arguments). */
export interface SmoothingContext {
  /** References of the LAST segment of the corpus (NLTK passes its loop variable). */
  readonly references: readonly Tokens[];
  /** Hypothesis of the LAST segment of the corpus. */
  readonly hypothesis: Tokens;
  /** Total hypothesis length over the corpus. */
  readonly hypLen: number;
  /** Receives warnings (method0's "0 counts of n-gram overlaps"). */
  readonly warn: (message: string) => void;
}

/** A smoothing function: maps the precisions p₁…p_N to smoothed ones. It must not mutate its input. */
export type SmoothingFn = (pN: readonly Precision[], ctx: SmoothingContext) => Precision[];

/** Names of NLTK's smoothing methods. */
export type SmoothingMethod =
  | "method0"
  | "method1"
  | "method2"
  | "method3"
  | "method4"
  | "method5"
  | "method6"
  | "method7";

/** The smoothing method names, in order. */
export const SMOOTHING_METHODS: readonly SmoothingMethod[] = [
  "method0",
  "method1",
  "method2",
  "method3",
  "method4",
  "method5",
  "method6",
  "method7",
];

/** Parameters of {@link SmoothingFunction} (NLTK's defaults: epsilon 0.1, alpha 5, k 5). */
export interface SmoothingParams {
  /** Added to zero match counts by method1. Default 0.1. */
  readonly epsilon?: number;
  /** Prior weight of method6. Default 5. */
  readonly alpha?: number;
  /** The `k` of method4 (and method7). Default 5. */
  readonly k?: number;
}

/** `sys.float_info.min`: the smallest positive normal double, NLTK's stand-in for a zero precision. */
export const FLOAT_INFO_MIN = 2.2250738585072014e-308;

const num = (p: Precision): number => (p instanceof Fraction ? p.valueOf() : p);
/** NLTK reads `.numerator`; a plain number stands for itself (only its zero-ness matters to the callers). */
const numerator = (p: Precision): number => (p instanceof Fraction ? p.numerator : p);
/** The denominator of a Fraction; 1 for a plain number. */
const denominator = (p: Precision): number => (p instanceof Fraction ? p.denominator : 1);

/**
 * NLTK's `SmoothingFunction`: Chen & Cherry (2014) smoothing techniques as NLTK 3.8 implements them. Each method
 * is a {@link SmoothingFn} (bound; may be passed around detached).
 */
export class SmoothingFunction {
  /** method1's additive count. */
  readonly epsilon: number;
  /** method6's prior weight. */
  readonly alpha: number;
  /** method4's k. */
  readonly k: number;

  /** @param params epsilon (0.1), alpha (5), k (5) */
  /** The smoothing methods with NLTK's parameters (defaults: epsilon 0.1, alpha 5, k 5). */
  constructor(params: SmoothingParams = {}) {
    this.epsilon = params.epsilon ?? 0.1;
    this.alpha = params.alpha ?? 5;
    this.k = params.k ?? 5;
  }

  /** The method with this name. */
  get(name: SmoothingMethod): SmoothingFn {
    return this[name];
  }

  /**
   * No smoothing: a zero precision (numerator 0) becomes {@link FLOAT_INFO_MIN} and a warning is emitted, so the
   * score collapses to (nearly) 0.
   */
  readonly method0: SmoothingFn = (pN, ctx) =>
    pN.map((p, i) => {
      if (numerator(p) !== 0) return p;
      ctx.warn(
        `\nThe hypothesis contains 0 counts of ${i + 1}-gram overlaps.\n` +
          "Therefore the BLEU score evaluates to 0, independently of\n" +
          "how many N-gram overlaps of lower order it contains.\n" +
          "Consider using lower n-gram order or use SmoothingFunction()",
      );
      return FLOAT_INFO_MIN;
    });

  /** Adds epsilon to zero match counts: p = (0 + ε) / denominator. */
  readonly method1: SmoothingFn = (pN) =>
    pN.map((p) => (numerator(p) === 0 ? (numerator(p) + this.epsilon) / denominator(p) : p));

  /** Lin & Och (2004): adds 1 to numerator and denominator of every order except unigrams. */
  readonly method2: SmoothingFn = (pN) =>
    pN.map((p, i) => (i === 0 ? p : new Fraction(numerator(p) + 1, denominator(p) + 1)));

  /** NIST geometric smoothing: the j-th zero precision (j = 1, 2, …) becomes 1 / (2^j · denominator). */
  readonly method3: SmoothingFn = (pN) => {
    let j = 1;
    return pN.map((p) => {
      if (numerator(p) !== 0) return p;
      return 1 / (2 ** j++ * denominator(p));
    });
  };

  /**
   * Like method3 but scaled by the length: the j-th zero precision becomes (1 / (2^j · k / ln L)) / denominator,
   * with L the total hypothesis length (falling back to the last hypothesis's length when 0). Nothing is changed
   * when L ≤ 1.
   */
  readonly method4: SmoothingFn = (pN, ctx) => {
    const hypLen = ctx.hypLen ? ctx.hypLen : ctx.hypothesis.length;
    let j = 1;
    return pN.map((p) => {
      if (numerator(p) !== 0 || !(hypLen > 1)) return p;
      const smoothed = 1 / ((2 ** j * this.k) / Math.log(hypLen));
      j++;
      return smoothed / denominator(p);
    });
  };

  /**
   * Averages neighbouring orders: p'₁ = ((p₁ + 1) + p₁ + p₂) / 3 and p'_n = (p'_{n−1} + p_n + p_{n+1}) / 3, where
   * the p_{N+1} of the highest order is the 5-gram precision of the LAST segment (whatever N is).
   */
  readonly method5: SmoothingFn = (pN, ctx) => {
    const orig = pN.map(num);
    orig.push(modifiedPrecision(ctx.references, ctx.hypothesis, 5).valueOf());
    const out: number[] = [];
    let prev = orig[0] + 1;
    for (let i = 0; i < pN.length; i++) {
      prev = (prev + orig[i] + orig[i + 1]) / 3;
      out.push(prev);
    }
    return out;
  };

  /**
   * Gao & He (2013) interpolation with a geometric prior, for orders n ≥ 3:
   * p'_n = (m_n + α · π_n) / (l_n + α), π_n = p'_{n−1}² / p'_{n−2} (0 when p'_{n−2} = 0), m_n the corpus match
   * count, l_n the number of n-grams in the LAST hypothesis. Throws unless there are ≥ 3 orders and p₃ ≠ 0.
   */
  readonly method6: SmoothingFn = (pN, ctx) => {
    if (pN.length < 3) {
      throw new RangeError("smoothing method6 needs at least 3 n-gram orders (list index out of range)");
    }
    if (num(pN[2]) === 0) throw new Error("This smoothing method requires non-zero precision for bigrams.");
    const out: Precision[] = [...pN];
    for (let i = 2; i < pN.length; i++) {
      const pPrev2 = num(out[i - 2]);
      const pi0 = pPrev2 === 0 ? 0 : num(out[i - 1]) ** 2 / pPrev2;
      const m = numerator(pN[i]);
      const l = Math.max(0, ctx.hypothesis.length - i);
      out[i] = (m + this.alpha * pi0) / (l + this.alpha);
    }
    return out;
  };

  /** method4 followed by method5. */
  readonly method7: SmoothingFn = (pN, ctx) => this.method5(this.method4(pN, ctx), ctx);
}

/** Options of {@link corpusBleu} and {@link sentenceBleu}. */
export interface BleuOptions extends SmoothingParams {
  /** N-gram weights w₁…w_N; default (0.25, 0.25, 0.25, 0.25) (BLEU-4). */
  readonly weights?: readonly number[];
  /** A method name (parameters from epsilon/alpha/k) or a custom function; default none (`method0`). */
  readonly smoothing?: SmoothingMethod | SmoothingFn;
  /** NLTK's `auto_reweigh`: uniform weights over c orders when c < 4 and the weights are the default. */
  readonly autoReweigh?: boolean;
  /**
   * Receives warnings. Default: `console.warn`, once per distinct message per process (Python's default warning
   * filter).
   */
  readonly onWarning?: (message: string) => void;
}

const DEFAULT_WEIGHTS: readonly number[] = [0.25, 0.25, 0.25, 0.25];
const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`UserWarning: ${message}`);
}

/** Splits on runs of whitespace and drops empty strings (`str.split()` in Python). */
export function whitespaceTokenize(text: string): string[] {
  return text.split(/\s+/).filter((t) => t.length > 0);
}

/** Key of an n-gram (unambiguous for any token strings). */
function ngramKey(tokens: Tokens, start: number, n: number): string {
  return JSON.stringify(tokens.slice(start, start + n));
}

/** Counts of the n-grams of `tokens` (keys are JSON arrays of the tokens). Empty when `tokens.length < n`. */
export function ngramCounts(tokens: Tokens, n: number): Map<string, number> {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`n-gram order must be a positive integer, got ${n}`);
  }
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = ngramKey(tokens, i, n);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * Modified (clipped) n-gram precision of one segment, un-normalised: numerator = Σ_g min(count_hyp(g),
 * max_ref count_ref(g)), denominator = max(1, number of hypothesis n-grams).
 */
export function modifiedPrecision(references: readonly Tokens[], hypothesis: Tokens, n: number): Fraction {
  const counts = ngramCounts(hypothesis, n);
  const maxRef = new Map<string, number>();
  for (const ref of references) {
    const refCounts = ngramCounts(ref, n);
    for (const g of counts.keys()) {
      maxRef.set(g, Math.max(maxRef.get(g) ?? 0, refCounts.get(g) ?? 0));
    }
  }
  let matches = 0, total = 0;
  for (const [g, c] of counts) {
    matches += Math.min(c, maxRef.get(g) ?? 0);
    total += c;
  }
  return new Fraction(matches, Math.max(1, total));
}

/** Length of the reference closest in length to the hypothesis; ties go to the shorter reference. */
export function closestRefLength(references: readonly Tokens[], hypLen: number): number {
  if (references.length === 0) throw new RangeError("a hypothesis needs at least one reference");
  let best = references[0].length;
  for (const ref of references) {
    const len = ref.length;
    const d = Math.abs(len - hypLen), bd = Math.abs(best - hypLen);
    if (d < bd || (d === bd && len < best)) best = len;
  }
  return best;
}

/** Brevity penalty: 1 if c > r; 0 if c = 0; else exp(1 − r/c). (r = closest reference length, c = hypothesis.) */
export function brevityPenalty(closestRefLen: number, hypLen: number): number {
  if (hypLen > closestRefLen) return 1;
  if (hypLen === 0) return 0;
  return Math.exp(1 - closestRefLen / hypLen);
}

/** Σ xs with one rounding at the end (Shewchuk's exact partials, like Python's `math.fsum` on finite values). */
export function fsum(xs: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of xs) {
    let j = 0;
    for (let i = 0; i < partials.length; i++) {
      let y = partials[i];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[j++] = lo;
      x = hi;
    }
    partials.length = j;
    partials.push(x);
  }
  // Sum from the top with the round-half-even correction of CPython's fsum.
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi;
}

function resolveSmoothing(options: BleuOptions): SmoothingFn {
  const s = options.smoothing;
  if (typeof s === "function") return s;
  const sf = new SmoothingFunction(options);
  if (s === undefined) return sf.method0;
  if (!SMOOTHING_METHODS.includes(s)) {
    throw new RangeError(`unknown smoothing method ${JSON.stringify(s)} (expected method0 … method7)`);
  }
  return sf.get(s);
}

function isDefaultWeights(w: readonly number[]): boolean {
  return w.length === 4 && w.every((x) => x === 0.25);
}

/**
 * Corpus BLEU for several weight vectors at once (NLTK's `corpus_bleu` with a list of weight tuples): the
 * precisions are computed up to the longest weight vector and smoothed once.
 *
 * @param listOfReferences per segment, one or more tokenised references
 * @param hypotheses per segment, the tokenised hypothesis
 * @param weightsList one weight vector per returned score
 */
export function corpusBleuMulti(
  listOfReferences: readonly (readonly Tokens[])[],
  hypotheses: readonly Tokens[],
  weightsList: readonly (readonly number[])[],
  options: Omit<BleuOptions, "weights"> = {},
): number[] {
  if (listOfReferences.length !== hypotheses.length) {
    throw new RangeError(
      `The number of hypotheses and their reference(s) should be the same: ${hypotheses.length} hypotheses, ` +
        `${listOfReferences.length} reference lists`,
    );
  }
  if (weightsList.length === 0) throw new RangeError("weightsList must not be empty");
  const maxN = Math.max(...weightsList.map((w) => w.length));
  const numerators = new Array<number>(maxN).fill(0);
  const denominators = new Array<number>(maxN).fill(0);
  let hypLengths = 0, refLengths = 0;
  for (let s = 0; s < hypotheses.length; s++) {
    const refs = listOfReferences[s], hyp = hypotheses[s];
    for (let n = 1; n <= maxN; n++) {
      const p = modifiedPrecision(refs, hyp, n);
      numerators[n - 1] += p.numerator;
      denominators[n - 1] += p.denominator;
    }
    hypLengths += hyp.length;
    refLengths += closestRefLength(refs, hyp.length);
  }
  const bp = brevityPenalty(refLengths, hypLengths);
  if (maxN === 0 || numerators[0] === 0) return weightsList.map(() => 0);

  const last = hypotheses.length - 1;
  const ctx: SmoothingContext = {
    references: listOfReferences[last],
    hypothesis: hypotheses[last],
    hypLen: hypLengths,
    warn: options.onWarning ?? warnOnce,
  };
  const raw = numerators.map((m, i) => new Fraction(m, denominators[i]));
  const pN = resolveSmoothing(options)(raw, ctx).map(num);

  return weightsList.map((weights) => {
    let w = weights;
    if (options.autoReweigh && hypLengths < 4 && isDefaultWeights(w)) {
      w = new Array<number>(hypLengths).fill(1 / hypLengths);
    }
    const terms: number[] = [];
    for (let i = 0; i < Math.min(w.length, pN.length); i++) {
      if (pN[i] > 0) terms.push(w[i] * Math.log(pN[i]));
    }
    return bp * Math.exp(fsum(terms));
  });
}

/**
 * Corpus-level BLEU (micro-averaged precisions, corpus brevity penalty), as NLTK 3.8's `corpus_bleu`.
 *
 * @param listOfReferences per segment, one or more tokenised references
 * @param hypotheses per segment, the tokenised hypothesis
 */
export function corpusBleu(
  listOfReferences: readonly (readonly Tokens[])[],
  hypotheses: readonly Tokens[],
  options: BleuOptions = {},
): number {
  return corpusBleuMulti(listOfReferences, hypotheses, [options.weights ?? DEFAULT_WEIGHTS], options)[0];
}

/** Sentence-level BLEU: {@link corpusBleu} of a one-segment corpus (as NLTK's `sentence_bleu`). */
export function sentenceBleu(
  references: readonly Tokens[],
  hypothesis: Tokens,
  options: BleuOptions = {},
): number {
  return corpusBleu([references], [hypothesis], options);
}
