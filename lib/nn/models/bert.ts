/**
 * Bert: a bidirectional encoder (every position attends to every other one) trained with masked-LM.
 *
 * It is GPT's trunk with a different mask: the same {@link Block}s, the same variants (positions, norms, MLPs,
 * flash attention, activation checkpointing) and the same parameter names as {@link GPT} (`transformer.wte`,
 * `transformer.wpe`, `transformer.h.N.*`, `transformer.ln_f`, `lm_head` tied to `wte`), so the checkpoint
 * tooling, the optimizer's decay groups and the analysis code work on both families unchanged. Differences from
 * the original BERT, chosen to keep one trunk: pre-norm by default (BERT is post-norm; set
 * `normPlacement: "post"`), a final norm `ln_f` in both placements, no token-type embeddings, no embedding
 * LayerNorm, and the LM head is the tied projection alone (BERT's head adds a dense+GELU+LayerNorm transform
 * and a bias).
 *
 * Attention is bidirectional: `fullMask(T)` by default. Padding is per sequence: `lengths` (the first
 * `lengths[b]` tokens of row b are real) and/or `padId` (tokens equal to it are padding) hide padding keys from
 * every query, so real positions never see padding. Rows that need different masks run through the blocks in
 * separate passes (consecutive rows with the same mask share one pass); outputs at padding positions are
 * computed but meaningless — give them target -1.
 *
 * @module
 */
import { Rng } from "../../random.ts";
import { type AttentionMask, cat, causalMask, fullMask, narrow } from "../../tensor/mod.ts";
import type { DType, Tensor } from "../../tensor/tensor.ts";
import { type GPTConfig, TransformerTrunk } from "./gpt.ts";

/**
 * Shape and options of a Bert: GPT's keys and defaults (`vocabSize` counts the special ids too: [MASK],
 * padding; `attention: "flash"` takes any mask, so it is exact with the bidirectional and padding masks), plus
 * the base mask.
 */
export interface BertConfig extends GPTConfig {
  /**
   * The base attention mask: false (default) is BERT's bidirectional mask, true the causal one (each position
   * sees only itself and the ones before it: a left-to-right masked-LM, for comparison). Padding applies on top.
   */
  causal?: boolean;
}

/** Result of {@link Bert.forward}. */
export interface BertOutput {
  /** (B, T, vocab). */
  logits: Tensor;
  /** Mean cross-entropy over the positions whose target is not -1 (the masked ones), when targets were given. */
  loss: Tensor | null;
}

/** Options of {@link Bert.forward}. */
export interface BertForwardOptions {
  /** (B·T) masked-LM targets: the original id at masked positions, -1 elsewhere (ignored by the loss). */
  targets?: Int32Array;
  /** A (T, T) mask shared by every row; default {@link fullMask}. Padding (below) is applied on top of it. */
  mask?: AttentionMask;
  /** Real tokens per row (B entries, each in 1…T): positions from `lengths[b]` on are padding. */
  lengths?: ArrayLike<number>;
  /** Positions whose token id equals this one are padding. */
  padId?: number;
}

/** A bidirectional transformer encoder with a masked-LM head (GPT's trunk, names and initialisation). */
export class Bert extends TransformerTrunk {
  /** Builds the model with GPT's initialisation from a seeded generator (the same draws in the same order). */
  constructor(override readonly config: BertConfig, rng: Rng, dtype: DType = "float32") {
    super(config, rng, dtype, "Bert");
  }

  /**
   * idx: (B, T) token ids, row-major, at positions 0…T−1. Every position attends to every non-padding one.
   * Returns the logits (B, T, vocab) and, with targets, the masked-LM loss.
   */
  forward(idx: Int32Array, B: number, T: number, opts: BertForwardOptions = {}): BertOutput {
    if (!Number.isInteger(B) || B <= 0 || !Number.isInteger(T) || T <= 0) {
      throw new Error(`Bert.forward: B and T must be positive integers, got (${B}, ${T})`);
    }
    if (idx.length !== B * T) throw new Error(`Bert.forward: ${idx.length} ids for shape (${B}, ${T})`);
    if (T > this.config.blockSize) {
      throw new Error(`Bert.forward: ${T} positions exceed block_size ${this.config.blockSize}`);
    }
    if (opts.targets && opts.targets.length !== B * T) {
      throw new Error(`Bert.forward: ${opts.targets.length} targets for shape (${B}, ${T})`);
    }
    const base = opts.mask ?? (this.config.causal ? causalMask(T) : undefined);
    const groups = maskGroups(idx, B, T, { ...opts, mask: base });
    const x = this.embed(idx, B, T, 0);
    const recompute = (this.config.activationCheckpointing ?? false) && this.training;
    const parts = groups.map((g) => {
      let h = groups.length === 1 ? x : narrow(x, 0, g.start, g.count); // (rows, T, C)
      for (const block of this.h.items) h = this.runBlock(block, h, recompute, { mask: g.mask });
      return h;
    });
    return this.head(cat(parts), opts.targets); // (B, T, C) → logits (B, T, vocab)
  }
}

/** Convenience: a seeded Bert. */
export function createBert(config: BertConfig, seed: number, dtype: DType = "float32"): Bert {
  return new Bert(config, new Rng(seed), dtype);
}

/**
 * The (T, T) mask `base` (default {@link fullMask}) with the padding keys hidden: entry (i, j) stays 1 only when
 * `keep[j]` is non-zero, so no query sees a padding position. `keep` has T entries (1 = real token).
 */
export function paddingMask(
  keep: ArrayLike<number>,
  base: AttentionMask = fullMask(keep.length),
): AttentionMask {
  const T = keep.length;
  if (base.Tq !== T || base.Tk !== T) {
    throw new Error(`paddingMask: base mask is (${base.Tq}, ${base.Tk}) but there are ${T} positions`);
  }
  const data = base.data.slice();
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (!keep[j]) data[i * T + j] = 0;
  return { Tq: T, Tk: T, data };
}

/**
 * Each row's key-padding vector (1 = real token) from `lengths` and/or `padId`, or null when neither is given.
 * Throws on a row with no real token.
 */
export function keyPadding(
  idx: Int32Array,
  B: number,
  T: number,
  opts: { lengths?: ArrayLike<number>; padId?: number },
): Uint8Array[] | null {
  const { lengths, padId } = opts;
  if (lengths === undefined && padId === undefined) return null;
  if (lengths !== undefined && lengths.length !== B) {
    throw new Error(`Bert: ${lengths.length} lengths for a batch of ${B} rows`);
  }
  const rows: Uint8Array[] = [];
  for (let b = 0; b < B; b++) {
    const keep = new Uint8Array(T).fill(1);
    if (lengths !== undefined) {
      const n = lengths[b];
      if (!Number.isInteger(n) || n < 1 || n > T) {
        throw new Error(`Bert: lengths[${b}] is ${n}; it must be an integer in [1, ${T}]`);
      }
      keep.fill(0, n);
    }
    if (padId !== undefined) { for (let t = 0; t < T; t++) if (idx[b * T + t] === padId) keep[t] = 0; }
    if (!keep.includes(1)) throw new Error(`Bert: row ${b} is all padding; each row needs a real token`);
    rows.push(keep);
  }
  return rows;
}

/** Consecutive rows that share one attention mask. */
interface MaskGroup {
  start: number;
  count: number;
  mask: AttentionMask;
}

function maskGroups(idx: Int32Array, B: number, T: number, opts: BertForwardOptions): MaskGroup[] {
  const base = opts.mask ?? fullMask(T);
  if (base.Tq !== T || base.Tk !== T) {
    throw new Error(`Bert.forward: mask is (${base.Tq}, ${base.Tk}) but the sequence has ${T} positions`);
  }
  const keep = keyPadding(idx, B, T, opts);
  if (keep === null) return [{ start: 0, count: B, mask: base }];
  const same = (a: Uint8Array, b: Uint8Array) => a.every((v, i) => v === b[i]);
  const groups: MaskGroup[] = [];
  for (let b = 0; b < B; b++) {
    const last = groups[groups.length - 1];
    if (last && same(keep[last.start], keep[b])) last.count++;
    else groups.push({ start: b, count: 1, mask: paddingMask(keep[b], base) });
  }
  return groups;
}
