#!/usr/bin/python3
"""Regenerates the BLEU and Porter-stemmer reference constants used by tests/eval/bleu_test.ts and
tests/eval/rouge_test.ts.

Requirements: NLTK 3.8 (Debian: `apt-get install -y python3-nltk`), run with `/usr/bin/python3`.

Usage:
    /usr/bin/python3 tests/eval/nltk_reference.py          # JSON: {"bleu": {...}, "porter": {...}}
    /usr/bin/python3 tests/eval/nltk_reference.py --ts > tests/eval/nltk_reference_data.ts && deno fmt tests/eval/
                                                           # regenerates the TypeScript constants module

Every BLEU value is `nltk.translate.bleu_score.corpus_bleu(list_of_references, hypotheses, weights,
smoothing_function, auto_reweigh)` with `smoothing_function = SmoothingFunction(epsilon, alpha, k).methodN`
(or None), exactly the arguments listed per case in CASES below. `sentence_bleu(refs, hyp, ...)` is
`corpus_bleu([refs], [hyp], ...)` in NLTK 3.8, so sentence cases are written as one-segment corpora.
Every stem is `nltk.stem.porter.PorterStemmer().stem(word)` (default mode NLTK_EXTENSIONS), the stemmer
Google's rouge_score uses for `use_stemmer=True`.

The TypeScript tests import the inputs and outputs as constants from tests/eval/nltk_reference_data.ts, which
`--ts` writes; tests/eval/bleu_test.ts also re-runs this script (when it may run /usr/bin/python3 and NLTK imports) to check
that the constants still match.
"""
import json
import sys
import warnings

import nltk
from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu

# --- texts -------------------------------------------------------------------------------------------------
# The first four are the examples from NLTK's bleu_score docstrings.
HYP1 = ("It is a guide to action which ensures that the military always obeys the commands of the party").split()
HYP2 = ("It is to insure the troops forever hearing the activity guidebook that party direct").split()
REF1 = ("It is a guide to action that ensures that the military will forever heed Party commands").split()
REF2 = ("It is the guiding principle which guarantees the military forces always being under the command "
        "of the Party").split()
REF3 = ("It is the practical guide for the army always to heed the directions of the party").split()
FOX = "the quick brown fox jumps over the lazy dog".split()
CAT_REF = "the cat sat on the mat".split()


def w(s):
    return s.split()


SMOOTHERS = ["method0", "method1", "method2", "method3", "method4", "method5", "method6", "method7"]

# Each case: name, list_of_references, hypotheses, and optional weights (a tuple, or a list of tuples
# for the multi-weight form), smoothing (name or None), epsilon/alpha/k, auto_reweigh.
CASES = []


def case(name, refs, hyps, weights=(0.25, 0.25, 0.25, 0.25), smoothing=None, epsilon=0.1, alpha=5, k=5,
         auto_reweigh=False):
    CASES.append(dict(name=name, refs=refs, hyps=hyps, weights=weights, smoothing=smoothing,
                      epsilon=epsilon, alpha=alpha, k=k, auto_reweigh=auto_reweigh))


# Sentence-level (one-segment corpora).
case("identical", [[FOX]], [FOX])
case("disjoint", [[FOX]], [w("a b c d e f g")])
case("short hypothesis (brevity penalty)", [[FOX]], [w("the quick brown fox jumps")])
case("longer hypothesis (no brevity penalty)", [[w("the quick brown fox")]], [w("the quick brown fox jumps over")])
case("clipped counts", [[w("the cat is on the mat"), w("there is a cat on the mat")]], [w("the the the the the the the")],
     smoothing="method1")
case("multiple references (NLTK docstring)", [[REF1, REF2, REF3]], [HYP1])
case("closest ref length tie -> shorter", [[w("a b c d"), w("a b c d e f")]], [w("a b c d x")], smoothing="method1")
case("closest ref length, order independent", [[w("a b c d e f"), w("a b c d")]], [w("a b c d x")], smoothing="method1")
# zero 4-gram matches but non-zero trigram matches
ZERO4_REFS = [[w("the cat sat on the mat today"), w("a cat was sitting on the mat")]]
ZERO4_HYP = [w("the cat sat here on a mat")]
for m in SMOOTHERS:
    case(f"zero 4-grams, {m}", ZERO4_REFS, ZERO4_HYP, smoothing=m)
# zero 3- and 4-gram matches (method6 cannot be used: NLTK asserts p_3 != 0)
ZERO34_REFS = [[w("the cat sat on the mat")]]
ZERO34_HYP = [w("the cat ran to the mat quickly")]
for m in SMOOTHERS:
    if m != "method6":
        case(f"zero 3- and 4-grams, {m}", ZERO34_REFS, ZERO34_HYP, smoothing=m)
# zero bigram matches (only unigrams match)
ZERO234_HYP = [w("mat the on sat cat the")]
for m in SMOOTHERS:
    if m != "method6":
        case(f"zero 2-,3-,4-grams, {m}", ZERO34_REFS, ZERO234_HYP, smoothing=m)
case("no unigram match with smoothing -> 0", ZERO34_REFS, [w("x y z")], smoothing="method1")
# One-token hypothesis: method4 leaves zero precisions unsmoothed when hyp_len <= 1, and they are dropped.
for m in ["method0", "method1", "method3", "method4", "method7"]:
    case(f"one-token hypothesis, {m}", [[w("the cat sat")]], [w("cat")], smoothing=m)
# Custom weights.
case("weights (0.5, 0.5)", [[REF1, REF2, REF3]], [HYP1], weights=(0.5, 0.5))
case("weights (1/3, 1/3, 1/3)", [[REF1, REF2, REF3]], [HYP1], weights=(1 / 3, 1 / 3, 1 / 3))
case("weights (0.1, 0.2, 0.3, 0.4)", [[REF1, REF2, REF3]], [HYP1], weights=(0.1, 0.2, 0.3, 0.4))
case("weights (0.2,)*5 (BLEU-5)", [[REF1, REF2, REF3]], [HYP1], weights=(0.2, 0.2, 0.2, 0.2, 0.2))
case("weights (1,) (unigram only)", [[FOX]], [w("the fox quick brown")], weights=(1.0,))
case("weights (0.5, 0.5), method5 uses 5-gram as n+1", ZERO34_REFS, ZERO34_HYP, weights=(0.5, 0.5),
     smoothing="method5")
case("weights (0.2,)*5, method5", ZERO4_REFS, ZERO4_HYP, weights=(0.2, 0.2, 0.2, 0.2, 0.2), smoothing="method5")
# Smoothing parameters.
case("method1 epsilon=0.01", ZERO4_REFS, ZERO4_HYP, smoothing="method1", epsilon=0.01)
case("method4 k=3", ZERO34_REFS, ZERO34_HYP, smoothing="method4", k=3)
case("method6 alpha=2", ZERO4_REFS, ZERO4_HYP, smoothing="method6", alpha=2)
case("method7 k=2", ZERO34_REFS, ZERO34_HYP, smoothing="method7", k=2)
# auto_reweigh (only kicks in for hyp_len < 4 and the default weights).
case("auto_reweigh, 3-token hypothesis", [[CAT_REF]], [w("the cat sat")], auto_reweigh=True)
case("auto_reweigh, 2-token hypothesis", [[CAT_REF]], [w("cat sat")], auto_reweigh=True)
case("auto_reweigh off, 3-token hypothesis", [[CAT_REF]], [w("the cat sat")], smoothing="method1")
case("auto_reweigh, 5-token hypothesis (no effect)", [[CAT_REF]], [w("the cat sat on mat")], auto_reweigh=True,
     smoothing="method1")
case("auto_reweigh, non-default weights (no effect)", [[CAT_REF]], [w("the cat sat")], weights=(0.5, 0.5),
     auto_reweigh=True)
# Corpus level.
case("corpus (NLTK docstring)", [[REF1, REF2, REF3], [w("he was interested in world history because he read "
                                                        "the book")]],
     [HYP1, w("he read the book because he was interested in world history")])
CORPUS_REFS = [
    [FOX, w("a quick brown fox leaped over the lazy dog")],
    [w("the cat sat on the mat"), w("there is a cat on the mat")],
    [REF1, REF2, REF3],
    [w("it is raining cats and dogs today")],
]
CORPUS_HYPS = [
    w("the fast brown fox jumped over the lazy dog"),
    w("the cat is on the mat"),
    HYP2,
    w("it rains cats and dogs"),
]
for m in [None] + SMOOTHERS:
    case(f"corpus of 4 segments, {m}", CORPUS_REFS, CORPUS_HYPS, smoothing=m)
# A corpus with no 4-gram match anywhere (and one segment with no trigram match).
SPARSE_HYPS = [
    w("the fast brown fox leaped across a lazy dog"),
    w("the cat sat there upon the mat"),
    w("it is a guide for the military to heed party"),
    w("cats and dogs it rains today"),
]
for m in SMOOTHERS:
    case(f"sparse corpus (no 4-gram match), {m}", CORPUS_REFS, SPARSE_HYPS, smoothing=m)
case("corpus with an empty hypothesis", CORPUS_REFS, CORPUS_HYPS[:3] + [[]], smoothing="method1")
case("corpus, weights (0.5, 0.5), method5", CORPUS_REFS, CORPUS_HYPS, weights=(0.5, 0.5), smoothing="method5")
case("corpus, multiple weights", CORPUS_REFS, CORPUS_HYPS,
     weights=[(0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.25, 0.25, 0.25, 0.25), (0.2, 0.2, 0.2, 0.2, 0.2)])
case("corpus, multiple weights, method3", CORPUS_REFS, CORPUS_HYPS,
     weights=[(1.0,), (0.25, 0.25, 0.25, 0.25)], smoothing="method3")

PORTER_WORDS = [
    # rouge_score only stems tokens longer than 3 characters; shorter words are listed to pin the stemmer itself.
    "caresses", "ponies", "ties", "dies", "flies", "cats", "caress", "feed", "agreed", "plastered", "bled",
    "motoring", "sing", "conflated", "troubled", "sized", "hopping", "tanned", "falling", "hissing", "fizzed",
    "failing", "filing", "happy", "sky", "skies", "enjoy", "spy", "spied", "died", "dying", "lying", "tying",
    "relational", "conditional", "rational", "valenci", "hesitanci", "digitizer", "conformabli", "radicalli",
    "differentli", "vileli", "analogousli", "vietnamization", "predication", "operator", "feudalism",
    "decisiveness", "hopefulness", "callousness", "formaliti", "sensitiviti", "sensibiliti", "triplicate",
    "formative", "formalize", "electriciti", "electrical", "hopeful", "goodness", "revival", "allowance",
    "inference", "airliner", "gyroscopic", "adjustable", "defensible", "irritant", "replacement", "adjustment",
    "dependent", "adoption", "homologou", "communism", "activate", "angulariti", "homologous", "effective",
    "bowdlerize", "probate", "rate", "cease", "controlling", "roll", "generalization", "oscillators",
    "archaeology", "geology", "theology", "hopefully", "news", "innings", "outings", "cannings", "howe",
    "proceed", "exceed", "succeed", "proceeding", "exceeded", "running", "runs", "ran", "easily", "fairly",
    "universal", "university", "universe", "organization", "organized", "organs", "meeting", "meetings",
    "summarization", "summaries", "summarized", "generously", "computational", "computer", "computing",
    "abilities", "ability", "able", "syzygy", "toy", "yelling", "by", "is", "as", "a", "ion", "ation", "yyyy",
    "quickly", "sensational", "traditional", "traditionally", "argument", "arguing", "replaceable",
    "mississippi", "possessed", "agreement", "bookkeeping", "feeling", "ringing", "visiting", "lately", "1990s",
    "abc123", "x2ing", "ees", "eed", "ied", "oed",
]


def smoother(c):
    if c["smoothing"] is None:
        return None
    return getattr(SmoothingFunction(epsilon=c["epsilon"], alpha=c["alpha"], k=c["k"]), c["smoothing"])


def compute():
    out = {}
    for c in CASES:
        weights = c["weights"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = corpus_bleu(c["refs"], c["hyps"], weights, smoother(c), c["auto_reweigh"])
        out[c["name"]] = [float(x) for x in v] if isinstance(v, list) else float(v)
    stems = {word: PorterStemmer().stem(word) for word in PORTER_WORDS}
    return {"nltk": nltk.__version__, "bleu": out, "porter": stems}


def ts(x):
    return json.dumps(x)


def ts_case(c, value):
    multi = isinstance(c["weights"], list)
    fields = [f"name: {ts(c['name'])}", f"refs: {ts(c['refs'])}", f"hyps: {ts(c['hyps'])}"]
    if multi:
        fields.append(f"weightsList: {ts([list(x) for x in c['weights']])}")
    elif tuple(c["weights"]) != (0.25, 0.25, 0.25, 0.25):
        fields.append(f"weights: {ts(list(c['weights']))}")
    if c["smoothing"] is not None:
        fields.append(f"smoothing: {ts(c['smoothing'])}")
    for p, d in (("epsilon", 0.1), ("alpha", 5), ("k", 5)):
        if c[p] != d:
            fields.append(f"{p}: {ts(c[p])}")
    if c["auto_reweigh"]:
        fields.append("autoReweigh: true")
    fields.append(f"expected: {ts(value)}")
    return "  { " + ", ".join(fields) + " },"


TS_HEADER = """/**
 * GENERATED by `/usr/bin/python3 tests/eval/nltk_reference.py --ts > tests/eval/nltk_reference_data.ts` (then
 * `deno fmt`); do not edit by hand. Reference values from NLTK @NLTK@:
 *
 * - BLEU_CASES[i].expected = `nltk.translate.bleu_score.corpus_bleu(refs, hyps, weights, smoothing_function,
 *   auto_reweigh)` with `weights` = the case's `weights` (default `(0.25, 0.25, 0.25, 0.25)`) or the list of tuples
 *   `weightsList` (then `expected` is the returned list), `smoothing_function = SmoothingFunction(epsilon=epsilon,
 *   alpha=alpha, k=k).<smoothing>` (defaults 0.1, 5, 5; `None` when no smoothing is named) and `auto_reweigh =
 *   autoReweigh` (default False). One-segment cases equal `sentence_bleu(refs[0], hyps[0], ...)`.
 * - PORTER_STEMS[word] = `nltk.stem.porter.PorterStemmer().stem(word)`.
 *
 * @module
 */

/** One BLEU known-answer case (see the module comment for the exact NLTK call). */
export interface BleuCase {
  /** Description. */
  readonly name: string;
  /** Per segment, the tokenised references. */
  readonly refs: readonly (readonly (readonly string[])[])[];
  /** Per segment, the tokenised hypothesis. */
  readonly hyps: readonly (readonly string[])[];
  /** N-gram weights (default BLEU-4). */
  readonly weights?: readonly number[];
  /** Several weight vectors: `expected` is then one score per vector. */
  readonly weightsList?: readonly (readonly number[])[];
  /** NLTK smoothing method name. */
  readonly smoothing?: "method0" | "method1" | "method2" | "method3" | "method4" | "method5" | "method6" | "method7";
  /** SmoothingFunction epsilon (default 0.1). */
  readonly epsilon?: number;
  /** SmoothingFunction alpha (default 5). */
  readonly alpha?: number;
  /** SmoothingFunction k (default 5). */
  readonly k?: number;
  /** auto_reweigh. */
  readonly autoReweigh?: boolean;
  /** NLTK's result (float repr). */
  readonly expected: number | readonly number[];
}
"""


def main():
    result = compute()
    if "--ts" in sys.argv:
        print(TS_HEADER.replace("@NLTK@", result["nltk"]))
        print("/** BLEU known answers: inputs and NLTK's corpus_bleu result. */")
        print("export const BLEU_CASES: readonly BleuCase[] = [")
        for c in CASES:
            print(ts_case(c, result["bleu"][c["name"]]))
        print("];")
        print()
        print("/** word → `PorterStemmer().stem(word)` (NLTK @NLTK@, default NLTK_EXTENSIONS mode). */".replace(
            "@NLTK@", result["nltk"]))
        print("export const PORTER_STEMS: Readonly<Record<string, string>> = " + ts(result["porter"]) + ";")
    else:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
