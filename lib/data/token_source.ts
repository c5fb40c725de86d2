/**
 * A stream of token ids read by position: what batchers and evaluation cut their windows from. An in-memory
 * `Int32Array` is one ({@link arrayTokens}); a token shard on disk is another (`shard.ts`), read a window at a
 * time so that memory does not grow with the corpus.
 *
 * @module
 */

/** Token ids `[0, length)`, read by position. */
export interface TokenSource {
  /** Number of ids. */
  readonly length: number;
  /** Copies ids `[start, start + out.length)` into `out`; throws when the range is outside `[0, length)`. */
  read(start: number, out: Int32Array): void;
}

/** Ids held in memory, as a {@link TokenSource}. */
export function arrayTokens(ids: Int32Array): TokenSource {
  return {
    length: ids.length,
    read(start: number, out: Int32Array): void {
      checkRange(start, out.length, ids.length);
      out.set(ids.subarray(start, start + out.length));
    },
  };
}

/** `tokens` as a {@link TokenSource} (an `Int32Array` is wrapped; a source is returned as it is). */
export function asTokenSource(tokens: Int32Array | TokenSource): TokenSource {
  return tokens instanceof Int32Array ? arrayTokens(tokens) : tokens;
}

/** Ids `[start, start + count)` of `src` in a new array. */
export function readTokens(src: TokenSource, start: number, count: number): Int32Array {
  const out = new Int32Array(count);
  src.read(start, out);
  return out;
}

/** Throws unless `[start, start + count)` lies within `[0, length)`. */
export function checkRange(start: number, count: number, length: number): void {
  if (!Number.isInteger(start) || start < 0 || count < 0 || start + count > length) {
    throw new Error(`tokens [${start}, ${start + count}) are outside [0, ${length})`);
  }
}
