/**
 * How tokens are shown and grouped in analysis figures: a short visible label for each id, and a category
 * (character class for character tokenizers, token kind or frequency bucket for BPE).
 *
 * @module
 */
import { BpeTokenizer } from "../data/bpe.ts";
import { CharTokenizer } from "../data/char_tokenizer.ts";
import type { Tokenizer } from "../data/tokenizer.ts";

/** Categories of a character tokenizer's tokens, in legend order. */
export const CHAR_CATEGORIES: readonly string[] = ["letter", "digit", "punctuation", "whitespace", "other"];

/** Kinds of BPE tokens, in legend order. */
export const BPE_KINDS: readonly string[] = [
  "word-start (Ġ…)",
  "letters",
  "digits",
  "punctuation",
  "whitespace",
  "special",
  "other",
];

/** Frequency buckets of {@link frequencyCategories}, in legend order. */
export const FREQUENCY_BUCKETS: readonly string[] = ["top 100", "top 100–1000", "rarer", "unseen"];

const UTF8 = new TextDecoder("utf-8");

const VISIBLE: Record<string, string> = { " ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍" };

/** A character (or short string) with whitespace and control characters made visible. */
export function visibleText(s: string): string {
  return [...s].map((ch) => {
    if (VISIBLE[ch] !== undefined) return VISIBLE[ch];
    const cp = ch.codePointAt(0) ?? 0;
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0)
      ? `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`
      : ch;
  }).join("");
}

/** A short visible label for token `id`: the character (whitespace shown as ␣ ↵ ⇥) or GPT-2's token string. */
export function tokenLabel(tok: Tokenizer, id: number): string {
  if (tok instanceof BpeTokenizer) return tok.tokenString(id);
  if (tok instanceof CharTokenizer) return visibleText(tok.vocab[id] ?? "");
  return visibleText(tok.decode([id]));
}

/** The class of one character: letter, digit, punctuation (incl. symbols), whitespace or other. */
export function charCategory(ch: string): string {
  if (/^\p{L}$/u.test(ch)) return "letter";
  if (/^\p{Nd}$/u.test(ch)) return "digit";
  if (/^[\p{P}\p{S}]$/u.test(ch)) return "punctuation";
  if (/^\s$/u.test(ch)) return "whitespace";
  return "other";
}

/** The kind of a BPE token from its text: word-start (a space then more), letters, digits, punctuation, … */
export function bpeKind(text: string, special = false): string {
  if (special) return "special";
  if (/^\s+$/u.test(text)) return "whitespace";
  if (/^ \S/u.test(text)) return "word-start (Ġ…)";
  if (/^\p{L}+$/u.test(text)) return "letters";
  if (/^\p{Nd}+$/u.test(text)) return "digits";
  if (/^[\p{P}\p{S}]+$/u.test(text)) return "punctuation";
  return "other";
}

/** Category of token `id` by its text: {@link charCategory} for a character tokenizer, else {@link bpeKind}. */
export function tokenCategory(tok: Tokenizer, id: number): string {
  if (tok instanceof CharTokenizer) return charCategory(tok.vocab[id] ?? "");
  if (tok instanceof BpeTokenizer) {
    const text = UTF8.decode(tok.tokenBytes(id));
    return bpeKind(text, tok.isSpecial(id));
  }
  return bpeKind(tok.decode([id]));
}

/** The legend order of {@link tokenCategory}'s values for `tok`. */
export function categoryOrder(tok: Tokenizer): readonly string[] {
  return tok instanceof CharTokenizer ? CHAR_CATEGORIES : BPE_KINDS;
}

/** How often each id occurs in `ids`, (vocabSize). */
export function tokenCounts(ids: ArrayLike<number>, vocabSize: number): Int32Array {
  const counts = new Int32Array(vocabSize);
  for (let i = 0; i < ids.length; i++) counts[ids[i]]++;
  return counts;
}

/**
 * A frequency bucket per id from its count: the 100 most frequent ids, ranks 100–999, the rest that occur, and
 * those that never occur (ties in count broken by id).
 */
export function frequencyCategories(counts: ArrayLike<number>): string[] {
  const ids = Array.from({ length: counts.length }, (_, i) => i).sort((a, b) =>
    counts[b] - counts[a] || a - b
  );
  const out: string[] = new Array(counts.length);
  ids.forEach((id, rank) => {
    out[id] = counts[id] === 0
      ? FREQUENCY_BUCKETS[3]
      : rank < 100
      ? FREQUENCY_BUCKETS[0]
      : rank < 1000
      ? FREQUENCY_BUCKETS[1]
      : FREQUENCY_BUCKETS[2];
  });
  return out;
}
