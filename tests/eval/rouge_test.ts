/**
 * ROUGE and Porter-stemmer known answers.
 *
 * Google's `rouge_score` itself could not be run here (it is a PyPI package and PyPI is unreachable offline), so:
 * - the Porter stems (PORTER_STEMS) come from NLTK 3.8's `nltk.stem.porter.PorterStemmer().stem(word)` — the very
 *   stemmer rouge_score calls — via tests/eval/nltk_reference.py;
 * - the "hand" cases below state their arithmetic in comments;
 * - ROUGE_PY_CASES come from tests/eval/rouge_reference.py, a separately written Python re-implementation of
 *   rouge_score's scoring (with NLTK's stemmer). On 2026-11-26 all 24 cases (360 values) were also scored by
 *   rouge_score's own `rouge_scorer.py`, `tokenize.py` and `scoring.py` (google-research/google-research,
 *   `rouge/`, commit 0c1bbe5), run offline from a copy of that source with NLTK 3.8: every value identical.
 *
 * @module
 */
import { porterStem, PorterStemmer } from "../../lib/eval/porter.ts";
import {
  aggregateRouge,
  corpusRouge,
  fmeasure,
  lcsLength,
  rougeL,
  rougeLsumTokens,
  rougeN,
  type RougeScore,
  RougeScorer,
  rougeTokenize,
} from "../../lib/eval/rouge.ts";
import { assertClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { PORTER_STEMS } from "./nltk_reference_data.ts";
import { ROUGE_PY_CASES } from "./rouge_reference_data.ts";

function assertScore(actual: RougeScore | undefined, p: number, r: number, f: number, msg: string): void {
  assertTrue(actual !== undefined, `${msg}: missing`);
  assertClose(actual.precision, p, 1e-12, `${msg} precision`);
  assertClose(actual.recall, r, 1e-12, `${msg} recall`);
  assertClose(actual.fmeasure, f, 1e-12, `${msg} fmeasure`);
}

Deno.test("Porter stemmer: matches NLTK 3.8 PorterStemmer().stem on every listed word", () => {
  const words = Object.keys(PORTER_STEMS);
  assertTrue(words.length > 150);
  const wrong = words.filter((w) => porterStem(w) !== PORTER_STEMS[w]).map((w) =>
    `${w}: ${porterStem(w)} (NLTK ${PORTER_STEMS[w]})`
  );
  assertEquals(wrong, []);
  // Memoised wrapper and lower-casing.
  const s = new PorterStemmer();
  assertEquals(s.stem("Running"), "run");
  assertEquals(s.stem("Running"), "run");
  assertEquals(porterStem("RUNNING"), "run");
  // NLTK 3.8: stem("Running", to_lowercase=False) == "Run"; the irregular-form table is only consulted for the
  // word as given, so stem("SKIES") == "ski" while stem("skies") == "sky".
  assertEquals(porterStem("Running", false), "Run");
  assertEquals(porterStem("SKIES"), "ski");
  assertEquals(porterStem("skies"), "sky");
});

Deno.test("rougeTokenize: rouge_score's default tokenizer", () => {
  assertEquals(rougeTokenize("It's 2024: GPU-prices (USD) rose 20%!"), [
    "it",
    "s",
    "2024",
    "gpu",
    "prices",
    "usd",
    "rose",
    "20",
  ]);
  // Non-ASCII letters are not [a-z0-9]: they split words.
  assertEquals(rougeTokenize("café naïve"), ["caf", "na", "ve"]);
  assertEquals(rougeTokenize("  \n\t "), []);
  // Only tokens longer than 3 characters are stemmed ("runs" → "run", "ran"/"was" untouched).
  assertEquals(rougeTokenize("The runners were running; he ran, was", true), [
    "the",
    "runner",
    "were",
    "run",
    "he",
    "ran",
    "was",
  ]);
});

Deno.test("ROUGE: hand-computed cases", () => {
  const sc = new RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"]);

  // target [the cat sat on the mat], prediction [the cat is on the mat] (6 tokens each).
  // rouge1 overlap = the 2 + cat 1 + on 1 + mat 1 = 5 → P = R = F = 5/6.
  // rouge2: {the cat, cat sat, sat on, on the, the mat} vs {the cat, cat is, is on, on the, the mat}: 3 of 5.
  // rougeL: LCS "the cat on the mat" = 5 → 5/6.
  let s = sc.score("The cat sat on the mat.", "The cat is on the mat");
  assertScore(s.rouge1, 5 / 6, 5 / 6, 5 / 6, "cat rouge1");
  assertScore(s.rouge2, 3 / 5, 3 / 5, 3 / 5, "cat rouge2");
  assertScore(s.rougeL, 5 / 6, 5 / 6, 5 / 6, "cat rougeL");

  // rouge_score's README example. target 9 tokens, prediction 8.
  // rouge1 overlap: the 2, quick, brown, jumps, dog = 6 → P 6/8, R 6/9, F = 2·(3/4)(2/3)/(3/4 + 2/3) = 12/17.
  // rougeL: LCS "the quick brown jumps the" = 5 → P 5/8, R 5/9, F = 10/17.
  s = sc.score("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log.");
  assertScore(s.rouge1, 0.75, 2 / 3, 12 / 17, "fox rouge1");
  assertScore(s.rougeL, 0.625, 5 / 9, 10 / 17, "fox rougeL");

  // Clipping: target [the the cat], prediction [the the the the]: overlap min(2, 4) = 2 → P 2/4, R 2/3,
  // F = 2·(1/2)(2/3)/(7/6) = 4/7.
  assertScore(sc.score("the the cat", "the the the the").rouge1, 0.5, 2 / 3, 4 / 7, "clip");

  // Empty prediction (after tokenisation) → all 0; so is F when nothing matches.
  for (const t of ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const) {
    assertScore(sc.score("some words", "!!!")[t], 0, 0, 0, `empty ${t}`);
    assertScore(sc.score("", "")[t], 0, 0, 0, `both empty ${t}`);
  }
  assertScore(sc.score("a b", "c d").rouge1, 0, 0, 0, "disjoint");

  // rougeLsum with double-count prevention. target sentences [the cat sat] [the dog ran] (m = 6), prediction
  // [the cat] [dog ran fast] (n = 5). Sentence 1: union LCS = {the, cat} → 2 hits (budget of "the" in the
  // prediction drops to 0). Sentence 2: union = {the, dog, ran}, "the" has no budget left → 2 hits.
  // hits = 4 → P 4/5, R 4/6, F = 2·(4/5)(2/3)/(4/5 + 2/3) = 8/11.
  assertScore(
    sc.score("the cat sat\nthe dog ran", "the cat\ndog ran fast").rougeLsum,
    4 / 5,
    4 / 6,
    8 / 11,
    "Lsum",
  );

  // rougeLsum back-track tie: target [cat dog]; prediction sentences [dog cat] and [cat]. Both LCSs of length 1
  // read back to "cat" (rouge_score steps up on ties), so the union is {cat}: hits 1 → P 1/3, R 1/2, F 2/5.
  // (Picking "dog" from [dog cat] would have given 2 hits.)
  assertScore(sc.score("cat dog", "dog cat\ncat").rougeLsum, 1 / 3, 1 / 2, 2 / 5, "Lsum tie");

  assertEquals(fmeasure(0, 0), 0);
  assertEquals(lcsLength(["a", "b", "c", "b", "d", "a", "b"], ["b", "d", "c", "a", "b", "a"]), 4);
});

Deno.test("ROUGE: matches the independent Python re-implementation (tests/eval/rouge_reference.py)", () => {
  assertTrue(ROUGE_PY_CASES.length >= 20);
  for (const c of ROUGE_PY_CASES) {
    const sc = new RougeScorer(["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"], {
      useStemmer: c.useStemmer,
    });
    const got = sc.score(c.target, c.prediction);
    for (const [type, [p, r, f]] of Object.entries(c.expected)) {
      const label = `${JSON.stringify(c.target)} / ${
        JSON.stringify(c.prediction)
      } stem=${c.useStemmer} ${type}`;
      assertScore(got[type as keyof typeof c.expected], p, r, f, label);
    }
  }
});

Deno.test("ROUGE: stemming changes matches (runner/runs, generously/generous)", () => {
  const t = "The runners were running quickly";
  const p = "A runner runs quick";
  // Without stemming: no unigram in common.
  assertScore(new RougeScorer(["rouge1"]).score(t, p).rouge1, 0, 0, 0, "no stem");
  // With stemming: target [the runner were run quickli], prediction [a runner run quick]: 2 matches.
  assertScore(
    new RougeScorer(["rouge1"], { useStemmer: true }).score(t, p).rouge1,
    2 / 4,
    2 / 5,
    4 / 9,
    "stem",
  );
});

Deno.test("ROUGE: low-level functions, aggregation, errors", () => {
  assertScore(rougeN(["a", "b", "c"], ["a", "b", "c"], 3), 1, 1, 1, "rouge3 identical");
  // No n-grams of that order: denominators are max(1, 0).
  assertScore(rougeN(["a"], ["a"], 2), 0, 0, 0, "rouge2 of unigrams");
  assertScore(rougeL(["a", "b"], []), 0, 0, 0, "rougeL empty");
  assertScore(rougeLsumTokens([["a"], []], [["a"]]), 1, 1, 1, "Lsum empty sentence");
  assertThrows(() => new RougeScorer(["rouge0"]), "Invalid rouge type");
  assertThrows(() => new RougeScorer(["rougeX"]), "Invalid rouge type");
  assertThrows(() => rougeN(["a"], ["a"], 0), "positive integer");
  assertThrows(() => corpusRouge(["a"], []), "1 targets but 0 predictions");

  // Corpus = mean of per-pair scores, each of P, R, F separately:
  // pair 1 identical (1, 1, 1); pair 2 "the the cat" / "the the the the" (1/2, 2/3, 4/7).
  const agg = corpusRouge(["a b c", "the the cat"], ["a b c", "the the the the"], ["rouge1"]);
  assertScore(agg.rouge1, (1 + 1 / 2) / 2, (1 + 2 / 3) / 2, (1 + 4 / 7) / 2, "corpus");
  assertEquals(aggregateRouge([]), {});
  const sc = new RougeScorer();
  assertEquals(sc.rougeTypes, ["rouge1", "rouge2", "rougeL"]);
  assertEquals(Object.keys(sc.score("a", "a")), ["rouge1", "rouge2", "rougeL"]);
});
