/**
 * Reading a corpus's files and splitting one text: files are read in chunks of 1 MiB (hashed, decoded as a
 * whole file would be), and one text is split at fractions of its length ({@link planSplit}), in memory or, for
 * a file, from a pass that counts its UTF-16 units ({@link planFile}), so no file is ever held whole.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { CorpusPiece } from "./corpus.ts";

/** A text file of a corpus, as the folder walk listed it. */
export interface SourceFile {
  /** Path used for reading and reporting. */
  path: string;
  /** Path relative to the entry it was found under (what the hash sees). */
  rel: string;
  /** Size in bytes when it was listed. */
  size: number;
}

/** sha256 over, per file in order: relative path, NUL, byte length, NUL, bytes. */
export function hashTexts(files: readonly { rel: string; bytes: Uint8Array }[]): string {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`${f.rel}\0${f.bytes.length}\0`);
    h.update(f.bytes);
  }
  return h.digest("hex");
}

const READ_CHUNK = 2 ** 20;

/** A listed file's bytes in chunks of {@link READ_CHUNK}; throws, naming it, when its size changed. */
async function* readChunks(f: SourceFile): AsyncIterable<Uint8Array> {
  const handle = await open(f.path, "r");
  try {
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(READ_CHUNK);
      const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
    if (total !== f.size) {
      throw new Error(`${f.path}: changed while the corpus was read (${f.size} bytes, now ${total})`);
    }
  } finally {
    await handle.close();
  }
}

/** A listed file's text in chunks (decoded as a whole file would be), with the bytes each came from. */
async function* textChunks(f: SourceFile): AsyncIterable<{ text: string; bytes: number }> {
  const decoder = new TextDecoder("utf-8");
  for await (const bytes of readChunks(f)) {
    const text = decoder.decode(bytes, { stream: true });
    if (text !== "") yield { text, bytes: bytes.length };
  }
  const rest = decoder.decode();
  if (rest !== "") yield { text: rest, bytes: 0 };
}

/** {@link hashTexts} of listed files, read a chunk at a time. */
export async function hashFiles(files: readonly SourceFile[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`${f.rel}\0${f.size}\0`);
    for await (const bytes of readChunks(f)) h.update(bytes);
  }
  return h.digest("hex");
}

/**
 * Where a text of `length` UTF-16 units (`codeAt(i)` its unit i) is cut at (1 - valFraction) of its length,
 * never inside a surrogate pair; `what` names it in errors.
 */
function cutAt(length: number, valFraction: number, codeAt: (i: number) => number, what: string): number {
  const tooShort = `${what} is too short to split into train and validation`;
  if (length < 2) throw new Error(tooShort);
  let cut = Math.min(Math.max(Math.round(length * (1 - valFraction)), 1), length - 1);
  const c = codeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut = cut + 1 < length ? cut + 1 : cut - 1;
  if (cut < 1) throw new Error(tooShort);
  return cut;
}

/** Where one text's splits end: train is [0, train), validation [train, val), test [val, length). */
export interface SplitPlan {
  /** End of the training split. */
  train: number;
  /** End of the validation split. */
  val: number;
  /** Length of the text (the end of the test split). */
  length: number;
}

/** The {@link SplitPlan} of one text at fractions of its length. */
export function planSplit(
  length: number,
  valFraction: number,
  testFraction: number,
  codeAt: (i: number) => number,
  what: string,
): SplitPlan {
  const rest = testFraction > 0 ? cutAt(length, testFraction, codeAt, what) : length;
  return { train: cutAt(rest, valFraction / (1 - testFraction), codeAt, what), val: rest, length };
}

/** One text split into train, validation and (with a test fraction) test, at fractions of its length. */
export function splitOne(
  text: string,
  valFraction: number,
  testFraction: number,
  what: string,
): { train: string; val: string; test: string } {
  const p = planSplit(text.length, valFraction, testFraction, (i) => text.charCodeAt(i), what);
  return { train: text.slice(0, p.train), val: text.slice(p.train, p.val), test: text.slice(p.val) };
}

/**
 * The {@link SplitPlan} of a file too large to hold: one pass counts its UTF-16 units, then each pass reads the
 * units the plan looks at (the one before each cut), until it has them all.
 */
export async function planFile(
  f: SourceFile,
  valFraction: number,
  testFraction: number,
  what: string,
): Promise<SplitPlan> {
  let length = 0;
  for await (const c of textChunks(f)) length += c.text.length;
  const known = new Map<number, number>();
  for (;;) {
    const missing: number[] = [];
    const codeAt = (i: number) => known.get(i) ?? (missing.push(i), 0);
    const plan = planSplit(length, valFraction, testFraction, codeAt, what);
    if (missing.length === 0) return plan;
    let at = 0;
    for await (const c of textChunks(f)) {
      for (const i of missing) if (i >= at && i < at + c.text.length) known.set(i, c.text.charCodeAt(i - at));
      at += c.text.length;
    }
  }
}

/** The pieces of units [from, to) of a file: its chunks cut to the range, then the piece that ends it. */
export async function* rangePieces(f: SourceFile, from: number, to: number): AsyncIterable<CorpusPiece> {
  let at = 0;
  for await (const c of textChunks(f)) {
    const end = at + c.text.length;
    if (end > from && at < to) {
      const text = c.text.slice(Math.max(from - at, 0), Math.min(to - at, c.text.length));
      yield { text, bytes: Math.round((c.bytes * text.length) / c.text.length), files: 0, separator: false };
    }
    at = end;
    if (at >= to) break;
  }
  yield { text: "", bytes: 0, files: 1, separator: false };
}
