/**
 * Training corpora: a list of text files, sorted by path, split into train and validation by whole files
 * (the last files go to validation), hashed so a run records exactly what it trained on.
 *
 * The built-in corpus `"code"` is the TypeScript declaration files `lib/*.d.ts` shipped in the npm package
 * `typescript` (found through module resolution). `"sotu"`, `"brown"` and `"kjv"` are read from the folder
 * `deno task corpus <name>` unpacks them into (see `corpora.ts`). A non-empty `paths` list replaces the corpus
 * with the user's own files and folders.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
// A static import so that Deno installs the package (even on a fresh machine) before it is resolved below.
import typescriptPackage from "typescript/package.json" with { type: "json" };
import { isNamedCorpus, type NamedCorpus, namedCorpusFolder } from "./corpora.ts";

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

/** A loaded corpus. */
export interface Corpus {
  /** Every file, sorted by path. */
  files: string[];
  /** Files whose text is in `train`. */
  trainFiles: string[];
  /** Files whose text is in `val` (the last files; the single file itself when there is only one). */
  valFiles: string[];
  /** Training text: the train files joined with "\n". */
  train: string;
  /** Validation text: the validation files joined with "\n". */
  val: string;
  /** Files whose text is in `test` (the very last files; none without a test fraction). */
  testFiles: string[];
  /** Test text: the test files joined with "\n" ("" without a test fraction). */
  test: string;
  /** sha256 (hex) over each file's relative path and bytes, in order. */
  hash: string;
  /** Total size of the files in bytes. */
  bytes: number;
  /** Entries of the walked folders that were left out, in the order met (see {@link skippedSummary}). */
  skipped: SkippedEntry[];
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

interface SourceFile {
  /** Path used for reading and reporting. */
  path: string;
  /** Path relative to the entry it was found under (what the hash sees). */
  rel: string;
  bytes: Uint8Array;
}

const BINARY_SNIFF_BYTES = 8192;

function isText(bytes: Uint8Array): boolean {
  return !bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

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
      bytes: await readFile(join(libDir, n)),
    })),
  );
}

/** What a walk found: the text files, and the entries it left out. */
interface Found {
  files: SourceFile[];
  skipped: SkippedEntry[];
}

/** A file's bytes, or why it is not a text file of the corpus. */
async function readText(path: string): Promise<Uint8Array | SkipReason> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if (errorCode(e) === "ENOENT") return "dangling link"; // gone between the listing and the read
    return "unreadable";
  }
  if (bytes.length === 0) return "empty";
  return isText(bytes) ? bytes : "binary";
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
    const bytes = await readText(path);
    if (typeof bytes === "string") found.skipped.push({ path, reason: bytes });
    else found.files.push({ path, rel: relative(root, path).split("\\").join("/"), bytes });
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
      const bytes = await readText(p);
      if (typeof bytes === "string") found.skipped.push({ path: join(p), reason: bytes });
      else found.files.push({ path: join(p), rel: basename(p), bytes });
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

/** sha256 over, per file in order: relative path, NUL, byte length, NUL, bytes. */
function hashFiles(files: readonly SourceFile[]): string {
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`${f.rel}\0${f.bytes.length}\0`);
    h.update(f.bytes);
  }
  return h.digest("hex");
}

/** Splits one text at (1 - valFraction) of its length, never inside a surrogate pair; `what` names it. */
function splitText(text: string, valFraction: number, what: string): [string, string] {
  const tooShort = `${what} is too short to split into train and validation`;
  if (text.length < 2) throw new Error(tooShort);
  let cut = Math.min(Math.max(Math.round(text.length * (1 - valFraction)), 1), text.length - 1);
  const c = text.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut = cut + 1 < text.length ? cut + 1 : cut - 1;
  if (cut < 1) throw new Error(tooShort);
  return [text.slice(0, cut), text.slice(cut)];
}

/** One text split into train, validation and (with a test fraction) test, at fractions of its length. */
function splitOne(
  text: string,
  valFraction: number,
  testFraction: number,
  what: string,
): { train: string; val: string; test: string } {
  const [rest, test] = testFraction > 0 ? splitText(text, testFraction, what) : [text, ""];
  const [train, val] = splitText(rest, valFraction / (1 - testFraction), what);
  return { train, val, test };
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
  const files = Object.entries(parts).map(([name, t]) => ({ path: name, rel: name, bytes: enc.encode(t) }));
  const hash = hashFiles(files), bytes = files.reduce((n, f) => n + f.bytes.length, 0);
  if (typeof text === "string") {
    const names = ["<text>"], testFiles = testFraction > 0 ? names : [];
    const split = splitOne(text, valFraction, testFraction, "the text");
    return {
      files: names,
      trainFiles: names,
      valFiles: names,
      testFiles,
      ...split,
      hash,
      bytes,
      skipped: [],
    };
  }
  return {
    files: Object.keys(parts),
    trainFiles: ["<train>"],
    valFiles: ["<val>"],
    testFiles: text.test ? ["<test>"] : [],
    train: text.train,
    val: text.val,
    test: text.test ?? "",
    hash,
    bytes,
    skipped: [],
  };
}

/**
 * Loads a corpus: the built-in `"code"` corpus, or the files under `paths` when that is non-empty. Files are
 * sorted by path; the last ceil(valFraction·n) files (at least one, leaving at least one for training) are the
 * validation set, except that a single file is split at (1 - valFraction) of its text. Errors name the config
 * key (`data.paths[i]`, `data.valFraction`, `data.corpus`).
 */
export async function loadCorpus(opts: CorpusOptions): Promise<Corpus> {
  const { corpus, paths, valFraction } = opts;
  const testFraction = opts.testFraction ?? 0;
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new Error(`data.valFraction: must be in (0, 1), got ${valFraction}`);
  }
  if (!(testFraction >= 0 && valFraction + testFraction < 1)) {
    throw new Error(
      `data.test_fraction: must be >= 0 with data.val_fraction + data.test_fraction < 1, got ${testFraction}`,
    );
  }
  let files: SourceFile[], skipped: SkippedEntry[] = [];
  if (paths.length > 0) {
    ({ files, skipped } = await userFiles(paths));
  } else if (corpus === "code") {
    files = await codeCorpusFiles();
  } else if (isNamedCorpus(corpus)) {
    const folder = await namedCorpusFolder(corpus);
    const found: Found = { files: [], skipped: [] };
    await walk(folder, folder, found);
    ({ files, skipped } = found);
    if (files.length === 0) throw new Error(`data.corpus: "${corpus}": no text files in ${folder}`);
  } else {
    throw new Error(
      `data.corpus: unknown corpus ${JSON.stringify(corpus)} (expected "code", "sotu", "brown" or "kjv")`,
    );
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const decoder = new TextDecoder("utf-8");
  const texts = files.map((f) => decoder.decode(f.bytes));
  const names = files.map((f) => f.path);
  const bytes = files.reduce((s, f) => s + f.bytes.length, 0);
  const hash = hashFiles(files);

  if (files.length === 1) {
    const split = splitOne(texts[0], valFraction, testFraction, `data.paths: the only file ${names[0]}`);
    const testFiles = testFraction > 0 ? names : [];
    return { files: names, trainFiles: names, valFiles: names, testFiles, ...split, hash, bytes, skipped };
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
  return {
    files: names,
    trainFiles: names.slice(0, cut),
    valFiles: names.slice(cut, n - nTest),
    train: texts.slice(0, cut).join("\n"),
    val: texts.slice(cut, n - nTest).join("\n"),
    testFiles: names.slice(n - nTest),
    test: texts.slice(n - nTest).join("\n"),
    hash,
    bytes,
    skipped,
  };
}
