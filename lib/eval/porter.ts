/**
 * The Porter stemmer as NLTK 3.8's `nltk.stem.porter.PorterStemmer()` runs it in its default `NLTK_EXTENSIONS`
 * mode — the stemmer Google's `rouge_score` uses for `use_stemmer=True`. Checked word by word against NLTK in
 * `tests/eval/rouge_test.ts`.
 *
 * NLTK_EXTENSIONS departures from Porter (1980) implemented here:
 * - a table of irregular forms (sky/skies → sky, dying → die, lying → lie, tying → tie, news, innings → inning,
 *   outings → outing, cannings → canning, howe, proceed, exceed, succeed);
 * - words of 1 or 2 characters are returned unchanged;
 * - step 1a: a 4-letter word ending in "ies" → "ie" (dies → die);
 * - step 1b: "ied" → "ie" for 4-letter words, else → "i" (died → die, spied → spi);
 * - step 1c: y → i only after a consonant that is not the first letter (happy → happi, enjoy, spy → spi);
 * - the *o condition also holds for a 2-letter vowel-consonant stem;
 * - step 2: "alli" → "al" is tried first (and step 2 re-run), "bli" → "ble" replaces "abli" → "able", and the
 *   extra rules "fulli" → "ful" and "logi" → "log" (measure taken with the "l").
 *
 * Strings are indexed by UTF-16 code unit; the result equals NLTK's for any text without astral characters.
 *
 * @module
 */

const IRREGULAR: ReadonlyMap<string, string> = new Map([
  ["sky", "sky"],
  ["skies", "sky"],
  ["dying", "die"],
  ["lying", "lie"],
  ["tying", "tie"],
  ["news", "news"],
  ["innings", "inning"],
  ["inning", "inning"],
  ["outings", "outing"],
  ["outing", "outing"],
  ["cannings", "canning"],
  ["canning", "canning"],
  ["howe", "howe"],
  ["proceed", "proceed"],
  ["exceed", "exceed"],
  ["succeed", "succeed"],
]);

function isVowelLetter(ch: string): boolean {
  return ch === "a" || ch === "e" || ch === "i" || ch === "o" || ch === "u";
}

/** Porter's consonant: not a, e, i, o, u, and not a y that follows a consonant. */
function isConsonant(w: string, i: number): boolean {
  // Walk back over a run of y's: y is a consonant iff it is first or follows a vowel.
  let consonant = true;
  let j = i;
  while (j >= 0) {
    const ch = w[j];
    if (isVowelLetter(ch)) {
      consonant = false;
      break;
    }
    if (ch !== "y") {
      consonant = true;
      break;
    }
    if (j === 0) {
      consonant = true;
      break;
    }
    j--;
  }
  // Each y between j and i flips the answer of its predecessor.
  return (i - j) % 2 === 0 ? consonant : !consonant;
}

/** Porter's measure m of [C](VC)^m[V]: the number of vowel→consonant transitions. */
function measure(stem: string): number {
  let m = 0;
  let prevVowel = false;
  for (let i = 0; i < stem.length; i++) {
    const c = isConsonant(stem, i);
    if (c && prevVowel) m++;
    prevVowel = !c;
  }
  return m;
}

function containsVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

/** *d: ends with two identical consonants. */
function endsDoubleConsonant(w: string): boolean {
  const n = w.length;
  return n >= 2 && w[n - 1] === w[n - 2] && isConsonant(w, n - 1);
}

/** *o: ends consonant-vowel-consonant with the last not w, x or y; or (extension) is a 2-letter vowel-consonant. */
function endsCvc(w: string): boolean {
  const n = w.length;
  if (
    n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1) &&
    w[n - 1] !== "w" && w[n - 1] !== "x" && w[n - 1] !== "y"
  ) return true;
  return n === 2 && !isConsonant(w, 0) && isConsonant(w, 1);
}

/** A suffix rule: suffix, replacement, condition on the stem (the word without the suffix). */
type Rule = readonly [suffix: string, replacement: string, cond: ((stem: string) => boolean) | null];
/** Marker for the *d rule of step 1b (its replacement is computed from the word). */
const DOUBLE = "*d";

/**
 * Applies the first rule whose suffix matches; if its condition fails, the word is returned unchanged (later rules
 * are not tried).
 */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, cond] of rules) {
    if (suffix === DOUBLE) {
      if (endsDoubleConsonant(word)) {
        const stem = word.slice(0, -2);
        return cond === null || cond(stem) ? stem + replacement : word;
      }
      continue;
    }
    if (word.endsWith(suffix)) {
      const stem = word.slice(0, word.length - suffix.length);
      return cond === null || cond(stem) ? stem + replacement : word;
    }
  }
  return word;
}

const positive = (stem: string): boolean => measure(stem) > 0;
const gt1 = (stem: string): boolean => measure(stem) > 1;

function step1a(w: string): string {
  if (w.length === 4 && w.endsWith("ies")) return w.slice(0, -3) + "ie";
  return applyRules(w, [["sses", "ss", null], ["ies", "i", null], ["ss", "ss", null], ["s", "", null]]);
}

function step1b(w: string): string {
  if (w.endsWith("ied")) return w.slice(0, -3) + (w.length === 4 ? "ie" : "i");
  if (w.endsWith("eed")) {
    const stem = w.slice(0, -3);
    return measure(stem) > 0 ? stem + "ee" : w;
  }
  let stem: string | null = null;
  for (const suffix of ["ed", "ing"]) {
    if (w.endsWith(suffix)) {
      const s = w.slice(0, w.length - suffix.length);
      if (containsVowel(s)) {
        stem = s;
        break;
      }
    }
  }
  if (stem === null) return w;
  const last = stem[stem.length - 1];
  return applyRules(stem, [
    ["at", "ate", null],
    ["bl", "ble", null],
    ["iz", "ize", null],
    [DOUBLE, last, () => last !== "l" && last !== "s" && last !== "z"],
    ["", "e", (s) => measure(s) === 1 && endsCvc(s)],
  ]);
}

function step1c(w: string): string {
  return applyRules(w, [["y", "i", (s) => s.length > 1 && isConsonant(s, s.length - 1)]]);
}

const STEP2_RULES: readonly Rule[] = [
  ["ational", "ate", positive],
  ["tional", "tion", positive],
  ["enci", "ence", positive],
  ["anci", "ance", positive],
  ["izer", "ize", positive],
  ["bli", "ble", positive],
  ["alli", "al", positive],
  ["entli", "ent", positive],
  ["eli", "e", positive],
  ["ousli", "ous", positive],
  ["ization", "ize", positive],
  ["ation", "ate", positive],
  ["ator", "ate", positive],
  ["alism", "al", positive],
  ["iveness", "ive", positive],
  ["fulness", "ful", positive],
  ["ousness", "ous", positive],
  ["aliti", "al", positive],
  ["iviti", "ive", positive],
  ["biliti", "ble", positive],
  ["fulli", "ful", positive],
  // The measure is taken with the "l" kept on the stem ("geo-l-ogi"), so short stems like "geo" qualify.
  ["logi", "log", (stem) => positive(stem + "l")],
];

function step2(w: string): string {
  if (w.endsWith("alli") && positive(w.slice(0, -4))) return step2(w.slice(0, -4) + "al");
  return applyRules(w, STEP2_RULES);
}

const STEP3_RULES: readonly Rule[] = [
  ["icate", "ic", positive],
  ["ative", "", positive],
  ["alize", "al", positive],
  ["iciti", "ic", positive],
  ["ical", "ic", positive],
  ["ful", "", positive],
  ["ness", "", positive],
];

const STEP4_RULES: readonly Rule[] = [
  ["al", "", gt1],
  ["ance", "", gt1],
  ["ence", "", gt1],
  ["er", "", gt1],
  ["ic", "", gt1],
  ["able", "", gt1],
  ["ible", "", gt1],
  ["ant", "", gt1],
  ["ement", "", gt1],
  ["ment", "", gt1],
  ["ent", "", gt1],
  ["ion", "", (s) => gt1(s) && (s.endsWith("s") || s.endsWith("t"))],
  ["ou", "", gt1],
  ["ism", "", gt1],
  ["ate", "", gt1],
  ["iti", "", gt1],
  ["ous", "", gt1],
  ["ive", "", gt1],
  ["ize", "", gt1],
];

function step5a(w: string): string {
  if (!w.endsWith("e")) return w;
  const stem = w.slice(0, -1);
  const m = measure(stem);
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : w;
}

function step5b(w: string): string {
  // (m > 1 and *d and *L): the measure is of the word minus one "l".
  return w.endsWith("ll") && measure(w.slice(0, -1)) > 1 ? w.slice(0, -1) : w;
}

/**
 * Stems one word like NLTK 3.8's `PorterStemmer().stem(word)` (NLTK_EXTENSIONS mode).
 *
 * @param word the word
 * @param toLowercase lower-case it first (NLTK's default `to_lowercase=True`)
 */
export function porterStem(word: string, toLowercase = true): string {
  const w = toLowercase ? word.toLowerCase() : word;
  // NLTK tests the irregular table and the length on the word as given, before lower-casing.
  const irregular = IRREGULAR.get(word);
  if (irregular !== undefined) return IRREGULAR.get(w) ?? irregular;
  if (word.length <= 2) return w;
  let s = step1a(w);
  s = step1b(s);
  s = step1c(s);
  s = step2(s);
  s = applyRules(s, STEP3_RULES);
  s = applyRules(s, STEP4_RULES);
  s = step5a(s);
  s = step5b(s);
  return s;
}

/** A Porter stemmer with a memo of the words it has stemmed (stemming is a pure function of the word). */
export class PorterStemmer {
  readonly #cache = new Map<string, string>();

  /** {@link porterStem}, memoised. */
  stem(word: string): string {
    let s = this.#cache.get(word);
    if (s === undefined) {
      s = porterStem(word);
      if (this.#cache.size < 1_000_000) this.#cache.set(word, s);
    }
    return s;
  }
}
