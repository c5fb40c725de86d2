/**
 * What every tokenizer offers the rest of the framework, and `tokenizer.json` for any of them: the file's `type`
 * field says which class reads it back (`"char"` → {@link CharTokenizer}, `"bpe"` → {@link BpeTokenizer}).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../io/atomic.ts";
import { BpeTokenizer } from "./bpe.ts";
import { CharTokenizer } from "./char_tokenizer.ts";

/**
 * Encodes a text that arrives in pieces (a corpus read file by file): {@link StreamEncoder.push} returns the ids
 * of the text so far that later pieces cannot change, {@link StreamEncoder.end} the rest. All the ids together
 * equal `encode` of the pieces joined.
 */
export interface StreamEncoder {
  /** Takes the next piece; returns the ids that are now settled. */
  push(text: string): Int32Array;
  /** The ids of what is left. */
  end(): Int32Array;
}

/** A tokenizer: text ↔ ids in [0, vocabSize), and a JSON form. */
export interface Tokenizer {
  /** Number of ids. */
  readonly vocabSize: number;
  /** Text → ids. */
  encode(text: string): Int32Array;
  /** Ids → text. */
  decode(ids: ArrayLike<number>): string;
  /** The JSON form saved as `tokenizer.json` (with a `type` field). */
  toJSON(): unknown;
  /** A {@link StreamEncoder} (optional: without one, {@link streamEncoder} holds the text until the end). */
  streamEncoder?(): StreamEncoder;
}

/** `tok`'s own {@link StreamEncoder}, or one that keeps the pieces and encodes them joined at the end. */
export function streamEncoder(tok: Tokenizer): StreamEncoder {
  if (tok.streamEncoder) return tok.streamEncoder();
  const pieces: string[] = [];
  return {
    push: (text) => (pieces.push(text), new Int32Array(0)),
    end: () => tok.encode(pieces.splice(0).join("")),
  };
}

/** Rebuilds a tokenizer from its JSON form, by its `type` field. */
export function tokenizerFromJSON(obj: unknown): Tokenizer {
  const type = typeof obj === "object" && obj !== null ? (obj as { type?: unknown }).type : undefined;
  if (type === "char") return CharTokenizer.fromJSON(obj);
  if (type === "bpe") return BpeTokenizer.fromJSON(obj);
  throw new Error(`tokenizer JSON: type must be "char" or "bpe", got ${JSON.stringify(type)}`);
}

/** Writes a tokenizer's JSON to `path` atomically. */
export async function saveTokenizer(path: string, tok: Tokenizer): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(tok.toJSON()) + "\n");
}

/** Reads a tokenizer written by {@link saveTokenizer}; errors name the path. */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  const text = await readFile(path, "utf8");
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${path}: tokenizer file is not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  try {
    return tokenizerFromJSON(obj);
  } catch (e) {
    throw new Error(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
