/**
 * A character-level tokenizer: one token per Unicode code point seen in the training text. The vocabulary is
 * sorted by code point, so the same text always gives the same ids. Saved as `tokenizer.json`
 * (`{"type": "char", "vocab": [...]}`) in the run directory.
 *
 * @module
 */
import type { StreamEncoder } from "./tokenizer.ts";

/** The JSON form of a {@link CharTokenizer}. */
export interface CharTokenizerJSON {
  /** Always `"char"`. */
  type: "char";
  /** One code point per entry, in id order. */
  vocab: string[];
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `character ${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, "0")})`;
}

/** Adds the code points of `text` to `into`. */
function codePoints(text: string, into = new Set<number>()): Set<number> {
  for (const ch of text) into.add(ch.codePointAt(0)!);
  return into;
}

/** Maps each Unicode code point of a fixed vocabulary to its index. */
export class CharTokenizer {
  /** The vocabulary in id order (each entry is one code point). */
  readonly vocab: readonly string[];
  #ids: Map<string, number>;

  /** Builds a tokenizer from an explicit vocabulary; entries must be distinct single code points. */
  constructor(vocab: readonly string[]) {
    const ids = new Map<string, number>();
    vocab.forEach((ch, i) => {
      if (typeof ch !== "string" || [...ch].length !== 1) {
        throw new Error(`char tokenizer: vocab[${i}] must be a single character, got ${JSON.stringify(ch)}`);
      }
      const prev = ids.get(ch);
      if (prev !== undefined) {
        throw new Error(`char tokenizer: vocab[${i}] duplicates vocab[${prev}] (${describeChar(ch)})`);
      }
      ids.set(ch, i);
    });
    this.vocab = Object.freeze([...vocab]);
    this.#ids = ids;
  }

  /** Builds the vocabulary from the distinct code points of `text`, sorted by code point. */
  static fromText(text: string): CharTokenizer {
    return CharTokenizer.#fromCodePoints(codePoints(text));
  }

  /**
   * Builds the vocabulary from the distinct code points of a text read in pieces (a corpus read file by file),
   * sorted by code point: the same as {@link CharTokenizer.fromText} of the pieces joined, when no piece ends
   * inside a surrogate pair.
   */
  static async fromPieces(pieces: AsyncIterable<string> | Iterable<string>): Promise<CharTokenizer> {
    const cps = new Set<number>();
    for await (const text of pieces) codePoints(text, cps);
    return CharTokenizer.#fromCodePoints(cps);
  }

  static #fromCodePoints(cps: Set<number>): CharTokenizer {
    return new CharTokenizer([...cps].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp)));
  }

  /** Rebuilds a tokenizer from its JSON form, validating it. */
  static fromJSON(obj: unknown): CharTokenizer {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw new Error(`char tokenizer JSON must be an object, got ${JSON.stringify(obj)}`);
    }
    const { type, vocab } = obj as Record<string, unknown>;
    if (type !== "char") {
      throw new Error(`char tokenizer JSON: type must be "char", got ${JSON.stringify(type)}`);
    }
    if (!Array.isArray(vocab)) throw new Error(`char tokenizer JSON: vocab must be an array of strings`);
    return new CharTokenizer(vocab);
  }

  /** Number of distinct tokens. */
  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Text → ids. Throws, naming the character and its code point, on a character outside the vocabulary. */
  encode(text: string): Int32Array {
    const out = new Int32Array(text.length); // an upper bound: code points <= UTF-16 units
    let n = 0;
    for (const ch of text) {
      const id = this.#ids.get(ch);
      if (id === undefined) throw new Error(`${describeChar(ch)} is not in the tokenizer's vocabulary`);
      out[n++] = id;
    }
    return n === out.length ? out : out.slice(0, n);
  }

  /** A {@link StreamEncoder}: a character's id does not depend on its neighbours, so each piece is encoded. */
  streamEncoder(): StreamEncoder {
    return { push: (text) => this.encode(text), end: () => new Int32Array(0) };
  }

  /**
   * `text` without the characters this tokenizer does not know (a text from elsewhere, for evaluation or analysis),
   * and how many code points were left out.
   */
  keepKnown(text: string): { text: string; dropped: number } {
    let dropped = 0;
    const kept = [...text].filter((ch) => this.#ids.has(ch) || (dropped++, false));
    return { text: dropped === 0 ? text : kept.join(""), dropped };
  }

  /** Ids → text. Throws on an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const ch = this.vocab[ids[i]];
      if (ch === undefined) {
        throw new Error(`token id ${ids[i]} at position ${i} is outside [0, ${this.vocabSize})`);
      }
      s += ch;
    }
    return s;
  }

  /** The JSON form saved as `tokenizer.json`. */
  toJSON(): CharTokenizerJSON {
    return { type: "char", vocab: [...this.vocab] };
  }
}
