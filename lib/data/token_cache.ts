/**
 * Tokenised corpora cached on disk as token shards (`shard.ts`): a corpus is encoded once per tokenizer, file by
 * file, into one shard per split (`<key>.train.tok`, `<key>.val.tok`), and later runs read the ids back by
 * position instead of encoding the text again. The key hashes the corpus, its split and the tokenizer, so a
 * changed corpus, split or tokenizer never reads stale ids. A shard that is truncated or damaged (its header,
 * length or sha256 disagree) is reported in one line naming the file and rebuilt.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { CorpusFiles, SplitName } from "./corpus.ts";
import { openShard, type ShardKey, type ShardReader, ShardWriter } from "./shard.ts";
import { streamEncoder, type Tokenizer } from "./tokenizer.ts";

/** The token shards of a corpus's training and validation splits. */
export interface TokenizedCorpus {
  /** Training ids. */
  train: ShardReader;
  /** Validation ids. */
  val: ShardReader;
  /** Whether both came from the cache. */
  cached: boolean;
  /** Closes both shards. */
  close(): void;
}

/** How far tokenisation is. */
export interface TokenizeProgress {
  /** The split being encoded. */
  split: SplitName;
  /** Files read (of this split). */
  files: number;
  /** Files of this split. */
  totalFiles: number;
  /** Bytes of text read (of this split). */
  bytes: number;
  /** Ids written (of this split). */
  tokens: number;
  /** Seconds since this split started. */
  seconds: number;
  /** Whether the split is done. */
  done: boolean;
}

/** Options of {@link tokenizeCached}. */
export interface TokenizeOptions {
  /** Called about every `progressSeconds` while a split is encoded, and when it is done. */
  onProgress?: (p: TokenizeProgress) => void;
  /** Seconds between progress calls (default 2). */
  progressSeconds?: number;
  /** One line per shard that is there but unusable (truncated, damaged), before it is rebuilt. */
  warn?: (line: string) => void;
}

/** sha256 (hex) of a tokenizer's JSON form. */
export function tokenizerHash(tok: Tokenizer): string {
  return createHash("sha256").update(JSON.stringify(tok.toJSON())).digest("hex");
}

/** One line for tokenisation progress: `tokenizing train: 12/950 files, 3.1 MB, 3.0M tokens, 4.2 MB/s`. */
export function tokenizeProgressLine(p: TokenizeProgress): string {
  const mb = p.bytes / 1e6, rate = p.seconds > 0 ? mb / p.seconds : 0;
  return `tokenizing ${p.split}: ${p.files}/${p.totalFiles} files, ${mb.toFixed(1)} MB, ` +
    `${(p.tokens / 1e6).toFixed(1)}M tokens, ${rate.toFixed(1)} MB/s${
      p.done ? `, ${p.seconds.toFixed(1)} s` : ""
    }`;
}

/** Encodes one split of `corpus` into the shard at `path`, piece by piece. */
async function writeSplit(
  path: string,
  key: ShardKey,
  corpus: CorpusFiles,
  tok: Tokenizer,
  o: TokenizeOptions,
): Promise<void> {
  const split = key.split as SplitName;
  const writer = await ShardWriter.create(path, key);
  const enc = streamEncoder(tok);
  const t0 = performance.now(), every = (o.progressSeconds ?? 2) * 1000;
  const totalFiles = split === "train" ? corpus.trainFiles.length : corpus.valFiles.length;
  let files = 0, bytes = 0, shown = t0;
  const report = (done: boolean) =>
    o.onProgress?.({
      split,
      files,
      totalFiles,
      bytes,
      tokens: writer.tokens,
      seconds: (performance.now() - t0) / 1000,
      done,
    });
  try {
    for await (const piece of corpus.pieces(split)) {
      await writer.push(enc.push(piece.text));
      files += piece.files;
      bytes += piece.bytes;
      if (performance.now() - shown >= every) (shown = performance.now(), report(false));
    }
    await writer.push(enc.end());
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  report(true);
}

/**
 * The shards of `corpus`'s training and validation splits under `tok`, from the cache in `dir` when they are
 * there and intact, else encoded now (streamed, file by file) and written to `dir` (created if missing). The
 * caller closes them ({@link TokenizedCorpus.close}).
 */
export async function tokenizeCached(
  dir: string,
  corpus: CorpusFiles,
  tok: Tokenizer,
  o: TokenizeOptions = {},
): Promise<TokenizedCorpus> {
  const tokHash = tokenizerHash(tok);
  // the split is part of the key: the same files split differently (val/test fractions) are other texts
  const key = createHash("sha256").update(`${corpus.hash}\0${corpus.splitKey}\0${tokHash}`).digest("hex")
    .slice(0, 32);
  const open: ShardReader[] = [];
  let cached = true;
  try {
    for (const split of ["train", "val"] as const) {
      const path = join(dir, `${key}.${split}.tok`);
      const shardKey = { tokenizerHash: tokHash, corpusHash: corpus.hash, split, vocabSize: tok.vocabSize };
      let shard = openShard(path, shardKey);
      if (typeof shard === "string") {
        if (shard !== "missing") o.warn?.(`warning: token cache: ${path}: ${shard}; rebuilding it`);
        cached = false;
        await mkdir(dir, { recursive: true });
        await writeSplit(path, shardKey, corpus, tok, o);
        shard = openShard(path, shardKey);
        if (typeof shard === "string") throw new Error(`${path}: the token shard just written is ${shard}`);
      }
      open.push(shard);
    }
  } catch (e) {
    for (const s of open) s.close();
    throw e;
  }
  const [train, val] = open;
  return { train, val, cached, close: () => open.forEach((s) => s.close()) };
}
