/**
 * Training corpora: a list of text files, sorted by path, split into train and validation by whole files
 * (the last files go to validation), hashed so a run records exactly what it trained on.
 *
 * {@link scanCorpus} lists, checks and hashes the files one at a time and keeps only their names and sizes; a
 * split's text is then read file by file ({@link CorpusFiles.pieces}), so a corpus larger than memory can be
 * tokenised. {@link loadCorpus} joins the splits into strings (for small corpora and analysis). Files are read
 * in chunks of 1 MiB, a single file too (it is split at fractions of its text: one pass counts its UTF-16
 * units, the splits' pieces are then cut from the chunks).
 *
 * The built-in corpus `"code"` is the TypeScript declaration files `lib/*.d.ts` shipped in the npm package
 * `typescript` (found through module resolution). `"sotu"`, `"brown"` and `"kjv"` are read from the folder
 * `deno task corpus <name>` unpacks them into (see `corpora.ts`). A non-empty `paths` list replaces the corpus
 * with the user's own files and folders.
 *
 * @module
 */
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
// A static import so that Deno installs the package (even on a fresh machine) before it is resolved below.
import typescriptPackage from "typescript/package.json" with { type: "json" };
import { isNamedCorpus, type NamedCorpus, namedCorpusFolder } from "./corpora.ts";
import { hashFiles, hashTexts, planFile, rangePieces, type SourceFile, splitOne } from "./corpus_text.ts";

/** Options for {@link loadCorpus}; the keys mirror the config's `data` section. */
export interface CorpusOptions {
  /** The corpus used when `paths` is empty: the built-in code, or a named corpus (see `corpora.ts`). */
  corpus: "code" | NamedCorpus;
  /** Files and folders to use instead of the built-in corpus (folders are walked recursively). */
  paths: string[];
  /** Fraction of the corpus held out for validation, in (0, 1). */
  valFraction: number;
  /** Fraction held out for a test split, after the validation files (default 0: none). */
  testFraction?: number;
}

/** The three splits of a corpus. */
export type SplitName = "train" | "val" | "test";

/** A part of a split's text, as {@link CorpusFiles.pieces} reads it. */
export interface CorpusPiece {
  /** The text (a chunk of a file, "" at the end of a file, or the "\n" between two files). */
  text: string;
  /** Its size in the files, in bytes (about, for a chunk cut at a split; 1 for the "\n" between files). */
  bytes: number;
  /** 1 when the piece ends a file (then its text is ""), else 0. */
  files: number;
  /** Whether it is the "\n" between two files. */
  separator: boolean;
}

/** A corpus listed and hashed, its text read when its pieces are iterated. */
export interface CorpusFiles {
  /** Every file, sorted by path. */
  files: string[];
  /** Files whose text is in the training split. */
  trainFiles: string[];
  /** Files whose text is in the validation split (the last files; the single file itself when there is one). */
  valFiles: string[];
  /** Files whose text is in the test split (the very last files; none without a test fraction). */
  testFiles: string[];
  /** sha256 (hex) over each file's relative path and bytes, in order. */
  hash: string;
  /** Total size of the files in bytes. */
  bytes: number;
  /** Entries of the walked folders that were left out, in the order met (see {@link skippedSummary}). */
  skipped: SkippedEntry[];
  /** What decides the split besides the files (the fractions); part of a token cache key. */
  splitKey: string;
  /** Size of each split's files in bytes (a single file's parts: about). */
  splitBytes: Record<SplitName, number>;
  /**
   * A split's text in pieces, read as they are iterated: each file's text in chunks of about 1 MiB (then an
   * empty piece that ends the file), and "\n" between two files. Joined, they are the split's text.
   */
  pieces(split: SplitName): AsyncIterable<CorpusPiece>;
}

/** A loaded corpus: {@link CorpusFiles} with each split's text in memory. */
export interface Corpus extends CorpusFiles {
  /** Training text: the train files joined with "\n". */
  train: string;
  /** Validation text: the validation files joined with "\n". */
  val: string;
  /** Test text: the test files joined with "\n" ("" without a test fraction). */
  test: string;
}

/** Why a folder entry is not part of the corpus. */
export type SkipReason =
  | "dangling link"
  | "link to a folder"
  | "unreadable"
  | "special file"
  | "binary"
  | "empty";

/** An entry of a walked folder left out of the corpus, and why. */
export interface SkippedEntry {
  /** Its path. */
  path: string;
  /** Why. */
  reason: SkipReason;
}

/**
 * One line for what a walk left out: `skipped 3 entries: 1 dangling link, 2 binary; first: <path> (<reason>)`;
 * null when nothing was.
 */
export function skippedSummary(skipped: readonly SkippedEntry[]): string | null {
  if (skipped.length === 0) return null;
  const counts = new Map<SkipReason, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  const parts = [...counts].map(([reason, n]) => `${n} ${reason}`);
  const first = skipped[0];
  return `skipped ${skipped.length} ${skipped.length === 1 ? "entry" : "entries"}: ${parts.join(", ")}; ` +
    `first: ${first.path} (${first.reason})`;
}

const BINARY_SNIFF_BYTES = 8192;

function errorCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e
    ? String((e as { code: unknown }).code)
    : undefined;
}

/** The installed `typescript` package's `lib/*.d.ts` files. */
async function codeCorpusFiles(): Promise<SourceFile[]> {
  const pkgDir = dirname(fileURLToPath(import.meta.resolve("typescript/package.json")));
  const libDir = join(pkgDir, "lib");
  const names = (await readdir(libDir)).filter((n) => n.endsWith(".d.ts")).sort();
  if (names.length === 0) {
    throw new Error(
      `data.corpus: "code": no .d.ts files in ${libDir} (typescript ${typescriptPackage.version})`,
    );
  }
  return await Promise.all(
    names.map(async (n) => ({
      path: join(libDir, n),
      rel: `lib/${n}`,
      size: (await stat(join(libDir, n))).size,
    })),
  );
}

/** What a walk found: the text files, and the entries it left out. */
interface Found {
  files: SourceFile[];
  skipped: SkippedEntry[];
}

/**
 * A file's size, or why it is not a text file of the corpus: its first bytes are read (a NUL among them means
 * binary), not the whole file.
 */
async function sniffText(path: string): Promise<number | SkipReason> {
  try {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      if (size === 0) return "empty";
      const head = new Uint8Array(Math.min(size, BINARY_SNIFF_BYTES));
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return head.subarray(0, bytesRead).includes(0) ? "binary" : size;
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (errorCode(e) === "ENOENT") return "dangling link"; // gone between the listing and the read
    return "unreadable";
  }
}

/**
 * Recursively lists text files under `dir` (skipping hidden folders and node_modules silently). Links are
 * followed to files, not to folders; dangling links, unreadable entries, special files (sockets, pipes,
 * devices), binary and empty files are left out and recorded in `found.skipped`.
 */
async function walk(dir: string, root: string, found: Found): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (dir === root) throw e;
    found.skipped.push({ path: dir, reason: errorCode(e) === "ENOENT" ? "dangling link" : "unreadable" });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      await walk(path, root, found);
      continue;
    }
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch((e) =>
        errorCode(e) === "ENOENT" ? "dangling link" : "unreadable"
      );
      if (typeof target === "string") {
        found.skipped.push({ path, reason: target as SkipReason });
        continue;
      }
      if (target.isDirectory()) {
        found.skipped.push({ path, reason: "link to a folder" });
        continue;
      }
      isFile = target.isFile();
    }
    if (!isFile) {
      found.skipped.push({ path, reason: "special file" });
      continue;
    }
    const size = await sniffText(path);
    if (typeof size === "string") found.skipped.push({ path, reason: size });
    else found.files.push({ path, rel: relative(root, path).split("\\").join("/"), size });
  }
}

async function userFiles(paths: string[]): Promise<Found> {
  const found: Found = { files: [], skipped: [] };
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i];
    let info;
    try {
      info = await stat(p);
    } catch (e) {
      if (errorCode(e) === "ENOENT") throw new Error(`data.paths[${i}]: no such file or directory: ${p}`);
      throw new Error(`data.paths[${i}]: cannot read ${p}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (info.isDirectory()) {
      await walk(join(p), p, found).catch((e) => {
        throw new Error(`data.paths[${i}]: cannot read ${p}: ${e instanceof Error ? e.message : String(e)}`);
      });
    } else if (!info.isFile()) {
      found.skipped.push({ path: join(p), reason: "special file" });
    } else {
      const size = await sniffText(p);
      if (typeof size === "string") found.skipped.push({ path: join(p), reason: size });
      else found.files.push({ path: join(p), rel: basename(p), size });
    }
  }
  // The same file reached through two entries is used once.
  const seen = new Set<string>();
  found.files = found.files.filter((f) => {
    const key = resolve(f.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (found.files.length === 0) {
    const skipped = skippedSummary(found.skipped);
    throw new Error(
      `data.paths: no text files found under ${paths.join(", ")}${skipped ? ` (${skipped})` : ""}`,
    );
  }
  return found;
}

/** Text held in memory, already split. */
export interface TextSplits {
  /** Training text. */
  train: string;
  /** Validation text. */
  val: string;
  /** Test text (default: none). */
  test?: string;
}

/** Pieces of in-memory split texts (one piece per split). */
function memoryPieces(texts: Record<SplitName, string>, bytes: Record<SplitName, number>) {
  return async function* (split: SplitName): AsyncIterable<CorpusPiece> {
    if (texts[split] === "") return;
    yield { text: texts[split], bytes: bytes[split], files: 0, separator: false };
    yield { text: "", bytes: 0, files: 1, separator: false };
  };
}

/** A UTF-8 byte count of `text` (for progress and sizes). */
function utf8Bytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) (n += 4, i++);
    else n += 3;
  }
  return n;
}

/** A corpus of split texts in memory. */
function memoryCorpus(
  texts: Record<SplitName, string>,
  info: Omit<CorpusFiles, "pieces" | "splitBytes">,
): Corpus {
  const splitBytes = {
    train: utf8Bytes(texts.train),
    val: utf8Bytes(texts.val),
    test: utf8Bytes(texts.test),
  };
  return { ...info, ...texts, splitBytes, pieces: memoryPieces(texts, splitBytes) };
}

/** What decides a split besides the files. */
function splitKeyOf(valFraction: number, testFraction: number, counts: number[]): string {
  return JSON.stringify({ val_fraction: valFraction, test_fraction: testFraction, files: counts });
}

/**
 * Text held in memory as a corpus: one string is split like a single file (at fractions of its length); splits
 * are used as given. Hashed like files named `<text>` (or `<train>`, `<val>`, `<test>`), so a run records what it
 * trained on and a resume can check it.
 */
export function textCorpus(text: string | TextSplits, valFraction: number, testFraction = 0): Corpus {
  const parts: Record<string, string> = typeof text === "string"
    ? { "<text>": text }
    : { "<train>": text.train, "<val>": text.val, ...(text.test ? { "<test>": text.test } : {}) };
  const enc = new TextEncoder();
  const files = Object.entries(parts).map(([name, t]) => ({ rel: name, bytes: enc.encode(t) }));
  const hash = hashTexts(files), bytes = files.reduce((n, f) => n + f.bytes.length, 0);
  if (typeof text === "string") {
    const names = ["<text>"], testFiles = testFraction > 0 ? names : [];
    const split = splitOne(text, valFraction, testFraction, "the text");
    const splitKey = splitKeyOf(valFraction, testFraction, [1]);
    return memoryCorpus(split, {
      files: names,
      trainFiles: names,
      valFiles: names,
      testFiles,
      hash,
      bytes,
      skipped: [],
      splitKey,
    });
  }
  return memoryCorpus({ train: text.train, val: text.val, test: text.test ?? "" }, {
    files: Object.keys(parts),
    trainFiles: ["<train>"],
    valFiles: ["<val>"],
    testFiles: text.test ? ["<test>"] : [],
    hash,
    bytes,
    skipped: [],
    splitKey: "splits",
  });
}

/** The files of a corpus (`data.paths`, or the built-in or a named corpus), sorted by path. */
async function corpusFiles(opts: CorpusOptions): Promise<Found> {
  const { corpus, paths } = opts;
  if (paths.length > 0) return await userFiles(paths);
  if (corpus === "code") return { files: await codeCorpusFiles(), skipped: [] };
  if (isNamedCorpus(corpus)) {
    const folder = await namedCorpusFolder(corpus);
    const found: Found = { files: [], skipped: [] };
    await walk(folder, folder, found);
    if (found.files.length === 0) throw new Error(`data.corpus: "${corpus}": no text files in ${folder}`);
    return found;
  }
  throw new Error(
    `data.corpus: unknown corpus ${JSON.stringify(corpus)} (expected "code", "sotu", "brown" or "kjv")`,
  );
}

/**
 * Lists, checks and hashes a corpus (the built-in `"code"` corpus, or the files under `paths` when that is
 * non-empty) without keeping its text. Files are sorted by path; the last ceil(valFraction·n) files (at least
 * one, leaving at least one for training) are the validation set, except that a single file is split at
 * (1 - valFraction) of its text. Errors name the config key (`data.paths[i]`, `data.valFraction`,
 * `data.corpus`).
 */
export async function scanCorpus(opts: CorpusOptions): Promise<CorpusFiles> {
  const { valFraction } = opts;
  const testFraction = opts.testFraction ?? 0;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new Error(`data.valFraction: must be in (0, 1), got ${valFraction}`);
  }
  if (!(testFraction >= 0 && valFraction + testFraction < 1)) {
    throw new Error(
      `data.test_fraction: must be >= 0 with data.val_fraction + data.test_fraction < 1, got ${testFraction}`,
    );
  }
  const { files, skipped } = await corpusFiles(opts);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const names = files.map((f) => f.path);
  const bytes = files.reduce((s, f) => s + f.size, 0);
  const hash = await hashFiles(files);

  if (files.length === 1) {
    const plan = await planFile(files[0], valFraction, testFraction, `data.paths: the only file ${names[0]}`);
    const ranges: Record<SplitName, [number, number]> = {
      train: [0, plan.train],
      val: [plan.train, plan.val],
      test: [plan.val, plan.length],
    };
    const share = ([from, to]: [number, number]) => Math.round((bytes * (to - from)) / plan.length);
    const splitBytes = { train: share(ranges.train), val: share(ranges.val), test: share(ranges.test) };
    return {
      files: names,
      trainFiles: names,
      valFiles: names,
      testFiles: testFraction > 0 ? names : [],
      hash,
      bytes,
      skipped,
      splitKey: splitKeyOf(valFraction, testFraction, [1]),
      splitBytes,
      pieces: async function* (split) {
        const [from, to] = ranges[split];
        if (to > from) yield* rangePieces(files[0], from, to);
      },
    };
  }
  const n = files.length;
  // The small epsilon keeps e.g. 0.1 · 30 = 3.0000000000000004 from rounding up to 4.
  const count = (f: number) => Math.ceil(f * n - 1e-9);
  if (testFraction > 0 && n < 3) {
    throw new Error(`data.test_fraction: ${n} files are too few for three splits (train, validation, test)`);
  }
  const nTest = testFraction > 0 ? Math.min(Math.max(count(testFraction), 1), n - 2) : 0;
  const nVal = Math.min(Math.max(count(valFraction), 1), n - nTest - 1);
  if (n - nTest - nVal < 1) throw new Error(`data.test_fraction: ${n} files are too few for three splits`);
  const cut = n - nTest - nVal;
  const ranges: Record<SplitName, SourceFile[]> = {
    train: files.slice(0, cut),
    val: files.slice(cut, n - nTest),
    test: files.slice(n - nTest),
  };
  const sizeOf = (fs: SourceFile[]) => fs.reduce((s, f) => s + f.size, 0) + Math.max(0, fs.length - 1);
  return {
    files: names,
    trainFiles: names.slice(0, cut),
    valFiles: names.slice(cut, n - nTest),
    testFiles: names.slice(n - nTest),
    hash,
    bytes,
    skipped,
    splitKey: splitKeyOf(valFraction, testFraction, [cut, nVal, nTest]),
    splitBytes: { train: sizeOf(ranges.train), val: sizeOf(ranges.val), test: sizeOf(ranges.test) },
    pieces: async function* (split) {
      const list = ranges[split];
      for (let i = 0; i < list.length; i++) {
        if (i > 0) yield { text: "\n", bytes: 1, files: 0, separator: true };
        yield* rangePieces(list[i], 0, Infinity);
      }
    },
  };
}

/** A split's text: its pieces joined. */
export async function splitText(corpus: CorpusFiles, split: SplitName): Promise<string> {
  const parts: string[] = [];
  for await (const p of corpus.pieces(split)) parts.push(p.text);
  return parts.join("");
}

/** {@link scanCorpus}, with each split's text read into memory (for small corpora, analysis and tests). */
export async function loadCorpus(opts: CorpusOptions): Promise<Corpus> {
  const c = await scanCorpus(opts);
  const texts = {
    train: await splitText(c, "train"),
    val: await splitText(c, "val"),
    test: await splitText(c, "test"),
  };
  return { ...c, ...texts, pieces: memoryPieces(texts, c.splitBytes) };
}
