/**
 * Token shards: one split of a tokenised corpus in one binary file, read by position.
 *
 * Layout: a header of {@link SHARD_HEADER_BYTES} bytes holding one JSON object (padded with spaces, ending in a
 * newline), then the ids, little-endian, as `uint16` when the vocabulary has at most 65,536 ids, else `uint32`.
 * The header names the format and version, the dtype, the token count, the vocabulary size, the tokenizer's and
 * the corpus's hashes, the split and the sha256 of the id bytes, so a shard written for another corpus or
 * tokenizer, a truncated one and a damaged one are all told apart from a good one ({@link openShard}).
 *
 * A shard is written to a temporary file (`<path>.tmp-…`), flushed and renamed: a killed tokenisation leaves no
 * shard behind, only a temporary file the next write replaces.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { AtomicWriter } from "../io/atomic.ts";
import { checkRange, type TokenSource } from "./token_source.ts";

/** Bytes before the first id. */
export const SHARD_HEADER_BYTES = 4096;
const FORMAT = "lcm-token-shard";
const VERSION = 1;
const HASH_CHUNK = 1 << 20;

if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) {
  throw new Error("token shards: a little-endian machine is required");
}

/** How the ids are stored. */
export type ShardDtype = "uint16" | "uint32";

/** What a shard must have been written for. */
export interface ShardKey {
  /** sha256 of the tokenizer's JSON. */
  tokenizerHash: string;
  /** sha256 of the corpus files. */
  corpusHash: string;
  /** The split ("train", "val"). */
  split: string;
  /** Vocabulary size (decides the dtype). */
  vocabSize: number;
}

/** The header of a shard. */
export interface ShardHeader {
  /** Always "lcm-token-shard". */
  format: string;
  /** Format version (1). */
  version: number;
  /** Bytes per id: uint16 or uint32. */
  dtype: ShardDtype;
  /** Number of ids. */
  tokens: number;
  /** Vocabulary size. */
  vocab_size: number;
  /** sha256 of the tokenizer's JSON. */
  tokenizer_hash: string;
  /** sha256 of the corpus files. */
  corpus_hash: string;
  /** The split. */
  split: string;
  /** sha256 (hex) of the id bytes after the header. */
  sha256: string;
}

/** The dtype for a vocabulary of `vocabSize` ids. */
export function shardDtype(vocabSize: number): ShardDtype {
  return vocabSize <= 65536 ? "uint16" : "uint32";
}

const width = (dtype: ShardDtype) => (dtype === "uint16" ? 2 : 4);

/** Writes one shard, a chunk of ids at a time; {@link ShardWriter.finish} makes it visible. */
export class ShardWriter {
  readonly #file: AtomicWriter;
  readonly #key: ShardKey;
  readonly #dtype: ShardDtype;
  readonly #hash = createHash("sha256");
  #tokens = 0;

  private constructor(file: AtomicWriter, key: ShardKey) {
    this.#file = file;
    this.#key = key;
    this.#dtype = shardDtype(key.vocabSize);
  }

  /** Starts the shard at `path` (its temporary file, with room for the header). */
  static async create(path: string, key: ShardKey): Promise<ShardWriter> {
    const file = await AtomicWriter.open(path);
    await file.write(new Uint8Array(SHARD_HEADER_BYTES));
    return new ShardWriter(file, key);
  }

  /** Ids written so far. */
  get tokens(): number {
    return this.#tokens;
  }

  /** Appends `ids` (each in [0, vocabSize)). */
  async push(ids: Int32Array): Promise<void> {
    if (ids.length === 0) return;
    const V = this.#key.vocabSize;
    const out = this.#dtype === "uint16" ? new Uint16Array(ids.length) : new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || id >= V) throw new Error(`token shard: id ${id} is outside [0, ${V})`);
      out[i] = id;
    }
    const bytes = new Uint8Array(out.buffer);
    this.#hash.update(bytes);
    await this.#file.write(bytes);
    this.#tokens += ids.length;
  }

  /** Writes the header, flushes and renames the shard into place. */
  async finish(): Promise<void> {
    const k = this.#key;
    const header: ShardHeader = {
      format: FORMAT,
      version: VERSION,
      dtype: this.#dtype,
      tokens: this.#tokens,
      vocab_size: k.vocabSize,
      tokenizer_hash: k.tokenizerHash,
      corpus_hash: k.corpusHash,
      split: k.split,
      sha256: this.#hash.digest("hex"),
    };
    const text = new TextEncoder().encode(JSON.stringify(header));
    const block = new Uint8Array(SHARD_HEADER_BYTES).fill(0x20);
    block.set(text);
    block[SHARD_HEADER_BYTES - 1] = 0x0a;
    await this.#file.writeAt(block, 0);
    await this.#file.commit();
  }

  /** Removes the temporary file (after a failure). */
  async abort(): Promise<void> {
    await this.#file.abort();
  }
}

/** An open shard: its ids by position, read from the file. */
export class ShardReader implements TokenSource {
  /** The header. */
  readonly header: ShardHeader;
  /** The file. */
  readonly path: string;
  readonly #fd: number;
  readonly #width: number;
  #buf = new Uint8Array(0);

  /** @internal Use {@link openShard}. */
  constructor(path: string, fd: number, header: ShardHeader) {
    this.path = path;
    this.#fd = fd;
    this.header = header;
    this.#width = width(header.dtype);
  }

  /** Number of ids. */
  get length(): number {
    return this.header.tokens;
  }

  /** Copies ids `[start, start + out.length)` into `out` (one positioned read). */
  read(start: number, out: Int32Array): void {
    checkRange(start, out.length, this.length);
    const n = out.length * this.#width;
    if (this.#buf.length < n) this.#buf = new Uint8Array(n);
    const buf = this.#buf;
    let got = 0;
    while (got < n) {
      const r = readSync(this.#fd, buf, got, n - got, SHARD_HEADER_BYTES + start * this.#width + got);
      if (r === 0) throw new Error(`${this.path}: token shard ends early (truncated while open?)`);
      got += r;
    }
    const ids = this.#width === 2
      ? new Uint16Array(buf.buffer, 0, out.length)
      : new Uint32Array(buf.buffer, 0, out.length);
    for (let i = 0; i < out.length; i++) out[i] = ids[i];
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.#fd);
  }
}

/** Why the header in `block` is not a shard of `key`, or the header. */
function parseHeader(block: Uint8Array, key: ShardKey): ShardHeader | string {
  let h: ShardHeader;
  try {
    h = JSON.parse(new TextDecoder().decode(block));
  } catch {
    return "the header is not JSON";
  }
  if (typeof h !== "object" || h === null || h.format !== FORMAT) return "not a token shard";
  if (h.version !== VERSION) return `format version ${h.version}, expected ${VERSION}`;
  if (h.tokenizer_hash !== key.tokenizerHash) return "written for another tokenizer";
  if (h.corpus_hash !== key.corpusHash || h.split !== key.split) return "written for another corpus or split";
  if (h.vocab_size !== key.vocabSize || h.dtype !== shardDtype(key.vocabSize)) return "another vocabulary";
  if (!Number.isInteger(h.tokens) || h.tokens < 0 || typeof h.sha256 !== "string") return "a damaged header";
  return h;
}

/**
 * Opens the shard at `path` written for `key`, checking its header, its length and the sha256 of its ids (read
 * in 1 MiB chunks). Returns the reader, or why the file cannot be used ("missing", "truncated: …", …).
 */
export function openShard(path: string, key: ShardKey): ShardReader | string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "missing";
  }
  const fail = (why: string) => (closeSync(fd), why);
  const size = fstatSync(fd).size;
  if (size < SHARD_HEADER_BYTES) return fail(`truncated: ${size} bytes, shorter than its header`);
  const block = new Uint8Array(SHARD_HEADER_BYTES);
  readSync(fd, block, 0, SHARD_HEADER_BYTES, 0);
  const h = parseHeader(block, key);
  if (typeof h === "string") return fail(h);
  const want = SHARD_HEADER_BYTES + h.tokens * width(h.dtype);
  if (size !== want) return fail(`truncated or extended: ${size} bytes, its header says ${want}`);
  const hash = createHash("sha256"), chunk = new Uint8Array(HASH_CHUNK);
  for (let at = SHARD_HEADER_BYTES; at < size;) {
    const r = readSync(fd, chunk, 0, Math.min(HASH_CHUNK, size - at), at);
    if (r === 0) return fail("truncated while read");
    hash.update(chunk.subarray(0, r));
    at += r;
  }
  if (hash.digest("hex") !== h.sha256) return fail("damaged: its ids do not match the header's sha256");
  return new ShardReader(path, fd, h);
}
