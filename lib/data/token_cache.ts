/**
 * Tokenised corpora cached on disk: a corpus is encoded once per tokenizer, and later runs read the token ids
 * back instead of encoding the text again (BPE encoding of a 10 MB corpus takes about a second; reading the ids
 * takes milliseconds). Each entry is two little-endian int32 files (`<key>.train.i32`, `<key>.val.i32`) next to
 * a manifest `<key>.json` naming the corpus hash, the hash of the two split texts, the tokenizer hash and the
 * token counts; the key is a hash of all three, so a changed corpus, split or tokenizer never reads stale ids. Files are written to a temporary name and
 * renamed; a damaged entry is ignored and rewritten.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** The token ids of a corpus's two splits. */
export interface TokenizedCorpus {
  /** Training ids. */
  train: Int32Array;
  /** Validation ids. */
  val: Int32Array;
  /** Whether they came from the cache. */
  cached: boolean;
}

/** sha256 (hex) of a tokenizer's JSON form. */
export function tokenizerHash(tok: Tokenizer): string {
  return createHash("sha256").update(JSON.stringify(tok.toJSON())).digest("hex");
}

function toBytes(ids: Int32Array): Uint8Array {
  const out = new Uint8Array(ids.length * 4), view = new DataView(out.buffer);
  for (let i = 0; i < ids.length; i++) view.setInt32(i * 4, ids[i], true);
  return out;
}

function fromBytes(bytes: Uint8Array, n: number, vocab: number): Int32Array | null {
  if (bytes.length !== n * 4) return null;
  const out = new Int32Array(n), view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const id = view.getInt32(i * 4, true);
    if (id < 0 || id >= vocab) return null;
    out[i] = id;
  }
  return out;
}

/**
 * The ids of `corpus.train` and `corpus.val` under `tok`, from the cache in `dir` when an entry for this corpus
 * hash and tokenizer is there and intact, else encoded now and written to `dir` (created if missing).
 */
export async function tokenizeCached(
  dir: string,
  corpus: { train: string; val: string; hash: string },
  tok: Tokenizer,
): Promise<TokenizedCorpus> {
  const tokHash = tokenizerHash(tok);
  // the split is part of the key: the same files split differently (val/test fractions) are other texts
  const split = createHash("sha256").update(corpus.train).update("\0").update(corpus.val).digest("hex");
  const key = createHash("sha256").update(`${corpus.hash}\0${split}\0${tokHash}`).digest("hex").slice(0, 32);
  const base = join(dir, key);
  try {
    const m = JSON.parse(await readFile(`${base}.json`, "utf8")) as Record<string, unknown>;
    if (m.corpus_hash === corpus.hash && m.split_hash === split && m.tokenizer_hash === tokHash) {
      const train = fromBytes(await readFile(`${base}.train.i32`), Number(m.train_tokens), tok.vocabSize);
      const val = fromBytes(await readFile(`${base}.val.i32`), Number(m.val_tokens), tok.vocabSize);
      if (train !== null && val !== null) return { train, val, cached: true };
    }
  } catch {
    // no entry (or a damaged one): encode and write it below
  }
  const train = tok.encode(corpus.train), val = tok.encode(corpus.val);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(`${base}.train.i32`, toBytes(train));
  await writeFileAtomic(`${base}.val.i32`, toBytes(val));
  await writeFileAtomic(
    `${base}.json`,
    JSON.stringify({
      corpus_hash: corpus.hash,
      split_hash: split,
      tokenizer_hash: tokHash,
      train_tokens: train.length,
      val_tokens: val.length,
      created: new Date().toISOString(),
    }) + "\n",
  );
  return { train, val, cached: false };
}
