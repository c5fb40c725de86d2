/**
 * Perplexity and bits-per-byte from summed token losses.
 *
 * All functions take totals, so that batches can be accumulated exactly and the per-token mean is formed once:
 *
 * ```
 * mean nats/token  ℓ̄   = L / T                 L = Σ_t −ln p(x_t | x_<t)  (natural-log cross-entropy, nats)
 * perplexity       PPL = exp(L / T)            T = number of predicted tokens
 * bits per token   bpt = L / (T · ln 2)
 * bits per byte    bpb = L / (B · ln 2)        B = number of UTF-8 bytes of the text whose tokens were predicted
 * ```
 *
 * Bits per byte normalises by the text, not by the tokenizer, so models with different vocabularies (char-level vs
 * BPE) can be compared on the same text: the total information L is the same quantity for both, only T differs.
 * For a fair comparison B must count exactly the bytes of the predicted tokens (e.g. excluding an unpredicted
 * first token / BOS context, or including it for both models alike).
 *
 * @module
 */

/** Totals of one evaluation: summed token losses in nats, number of predicted tokens, and their UTF-8 bytes. */
export interface LossTotals {
  /** Σ of per-token cross-entropy losses, natural log (nats). */
  readonly totalNats: number;
  /** Number of predicted tokens T (> 0). */
  readonly tokenCount: number;
  /** Number of UTF-8 bytes B of the predicted text (> 0); optional when bits per byte are not needed. */
  readonly byteCount?: number;
}

/** Every metric derivable from {@link LossTotals}. */
export interface LossSummary {
  /** L / T. */
  readonly meanNats: number;
  /** exp(L / T). */
  readonly perplexity: number;
  /** L / (T · ln 2). */
  readonly bitsPerToken: number;
  /** L / (B · ln 2), or null when no byte count was given. */
  readonly bitsPerByte: number | null;
  /** B / T (average bytes per token), or null when no byte count was given. */
  readonly bytesPerToken: number | null;
}

function checkCount(name: string, n: number): void {
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`${name} must be a positive finite number, got ${n}`);
  }
}

function checkNats(totalNats: number): void {
  if (Number.isNaN(totalNats) || totalNats < 0) {
    throw new RangeError(`totalNats must be a non-negative number, got ${totalNats}`);
  }
}

/** Perplexity from a mean loss in nats per token: PPL = exp(ℓ̄). */
export function perplexityFromMeanNats(meanNats: number): number {
  if (Number.isNaN(meanNats)) throw new RangeError("meanNats is NaN");
  return Math.exp(meanNats);
}

/** Perplexity from totals: PPL = exp(L / T), L = summed token losses in nats, T = token count. */
export function perplexity(totalNats: number, tokenCount: number): number {
  checkNats(totalNats);
  checkCount("tokenCount", tokenCount);
  return Math.exp(totalNats / tokenCount);
}

/** Bits per token: L / (T · ln 2). */
export function bitsPerToken(totalNats: number, tokenCount: number): number {
  checkNats(totalNats);
  checkCount("tokenCount", tokenCount);
  return totalNats / (tokenCount * Math.LN2);
}

/** Bits per byte: bpb = L / (ln 2 · B), L = total nats over the text, B = its UTF-8 byte count. */
export function bitsPerByte(totalNats: number, byteCount: number): number {
  checkNats(totalNats);
  checkCount("byteCount", byteCount);
  return totalNats / (Math.LN2 * byteCount);
}

/** Every metric of {@link LossSummary} from totals. */
export function summarizeLoss(totals: LossTotals): LossSummary {
  const { totalNats, tokenCount, byteCount } = totals;
  checkNats(totalNats);
  checkCount("tokenCount", tokenCount);
  const hasBytes = byteCount !== undefined;
  if (hasBytes) checkCount("byteCount", byteCount);
  return {
    meanNats: totalNats / tokenCount,
    perplexity: Math.exp(totalNats / tokenCount),
    bitsPerToken: totalNats / (tokenCount * Math.LN2),
    bitsPerByte: hasBytes ? totalNats / (Math.LN2 * byteCount) : null,
    bytesPerToken: hasBytes ? byteCount / tokenCount : null,
  };
}

/**
 * Number of bytes of `text` in UTF-8, without encoding it. Counts as `TextEncoder` encodes: code points < U+0080 →
 * 1, < U+0800 → 2, other BMP → 3, a surrogate pair (astral code point) → 4, a lone surrogate → 3 (it becomes
 * U+FFFD).
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}

/** Accumulates loss totals batch by batch; {@link LossAccumulator.summary} gives the metrics. */
export class LossAccumulator {
  #nats = 0;
  #tokens = 0;
  #bytes = 0;

  /**
   * Adds one batch.
   *
   * @param totalNats summed token losses of the batch (nats)
   * @param tokenCount tokens predicted in the batch
   * @param byteCount UTF-8 bytes of those tokens (0 if unknown)
   */
  add(totalNats: number, tokenCount: number, byteCount = 0): void {
    checkNats(totalNats);
    if (!(tokenCount >= 0) || !(byteCount >= 0)) {
      throw new RangeError(
        `counts must be non-negative, got tokenCount=${tokenCount}, byteCount=${byteCount}`,
      );
    }
    this.#nats += totalNats;
    this.#tokens += tokenCount;
    this.#bytes += byteCount;
  }

  /** The totals so far (byteCount omitted when no bytes were added). */
  get totals(): LossTotals {
    return this.#bytes > 0
      ? { totalNats: this.#nats, tokenCount: this.#tokens, byteCount: this.#bytes }
      : { totalNats: this.#nats, tokenCount: this.#tokens };
  }

  /** {@link summarizeLoss} of the totals so far (throws when no token was added). */
  summary(): LossSummary {
    return summarizeLoss(this.totals);
  }
}
