/**
 * The token embedding matrix (one row per token) projected to 2-D, each point labelled with its token and
 * coloured by a category: PCA ({@link pca}, exact and deterministic) or t-SNE ({@link tsne}, exact, seeded).
 *
 * @module
 */
import type { Tokenizer } from "../data/tokenizer.ts";
import type { TransformerTrunk } from "../nn/models/gpt.ts";
import type { T5 } from "../nn/models/t5.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { UMAP } from "umap-js";
import { Rng } from "../random.ts";
import { pca } from "./pca.ts";
import { tsne } from "./tsne.ts";
import { categoryOrder, tokenCategory, tokenLabel } from "./tokens.ts";

/** Projection methods. */
export type ProjectionMethod = "pca" | "tsne" | "umap";

/** One token in the projection. */
export interface EmbeddingPoint {
  /** Token id. */
  id: number;
  /** Visible token text. */
  label: string;
  /** Category (colour). */
  category: string;
  /** First coordinate. */
  x: number;
  /** Second coordinate. */
  y: number;
}

/** A 2-D projection of token embeddings. */
export interface EmbeddingProjection {
  /** How it was made. */
  method: ProjectionMethod;
  /** The projected tokens. */
  points: EmbeddingPoint[];
  /** Categories that occur, in legend order. */
  categories: string[];
  /** Axis titles. */
  axes: [string, string];
  /** One sentence on what was projected and how. */
  note: string;
  /** PCA: share of the total variance along each axis. */
  explained?: [number, number];
}

/** Options of {@link projectEmbeddings}. */
export interface ProjectOptions {
  /** PCA or t-SNE. */
  method: ProjectionMethod;
  /** Token ids to project (default all); PCA is fitted on these rows. */
  ids?: readonly number[];
  /** A category per token id (default {@link tokenCategory}). */
  categories?: readonly string[];
  /** Legend order of the categories (default {@link categoryOrder}, then any others in order of appearance). */
  categoryOrder?: readonly string[];
  /** t-SNE seed (default 0). */
  seed?: number;
  /** t-SNE perplexity (default 30). */
  perplexity?: number;
  /** t-SNE iterations (default 1000). */
  iterations?: number;
}

/** The token embedding table (vocab, C) of a GPT or BERT (`wte`) or a T5 (`shared`). */
export function embeddingWeights(model: TransformerTrunk | T5): Tensor {
  return "wte" in model ? model.wte.weight : model.shared.weight;
}

/**
 * Up to `max` token ids: the most frequent first when `counts` is given (ties by id), else the lowest ids.
 * Returns every id when there are no more than `max`.
 */
export function selectTokens(vocabSize: number, max: number, counts?: ArrayLike<number>): number[] {
  const ids = Array.from({ length: vocabSize }, (_, i) => i);
  if (vocabSize <= max) return ids;
  if (counts !== undefined) ids.sort((a, b) => counts[b] - counts[a] || a - b);
  return ids.slice(0, max).sort((a, b) => a - b);
}

/** Projects rows `ids` of the (vocab, C) embedding table to 2-D and labels them with `tok`'s tokens. */
export function projectEmbeddings(
  weights: Tensor,
  tok: Tokenizer,
  opts: ProjectOptions,
): EmbeddingProjection {
  if (weights.shape.length !== 2) {
    throw new Error(`projectEmbeddings: weights [${weights.shape}] must be 2-D`);
  }
  const [V, C] = weights.shape;
  const ids = opts.ids ?? Array.from({ length: V }, (_, i) => i);
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id < V)) {
      throw new Error(`projectEmbeddings: id ${id} not in [0, ${V})`);
    }
  }
  const n = ids.length, rows = new Float64Array(n * C);
  const values = weights.readSync();
  ids.forEach((id, r) => rows.set(values.subarray(id * C, (id + 1) * C), r * C));
  let xy: Float64Array, axes: [string, string], note: string, explained: [number, number] | undefined;
  if (opts.method === "pca") {
    const r = pca(rows, n, C, 2);
    xy = r.projection;
    explained = [r.explainedRatio[0], r.explainedRatio[1]];
    axes = [`PC1 (${pct(explained[0])} of variance)`, `PC2 (${pct(explained[1])})`];
    note = `PCA of ${n} token embeddings (${C} dimensions), centred; PC1 and PC2 explain ` +
      `${pct(explained[0] + explained[1])} of the variance.`;
  } else if (opts.method === "umap") {
    // umap-js (npm) with its random numbers from the project's seeded generator: the same picture every run
    const rng = new Rng(opts.seed ?? 0);
    const data = Array.from({ length: n }, (_, r) => Array.from(rows.subarray(r * C, (r + 1) * C)));
    const neighbours = Math.max(2, Math.min(15, n - 1));
    const fit = new UMAP({ nComponents: 2, nNeighbors: neighbours, minDist: 0.1, random: () => rng.next() })
      .fit(data);
    xy = Float64Array.from(fit.flat());
    axes = ["UMAP 1", "UMAP 2"];
    note =
      `UMAP (umap-js) of ${n} token embeddings (${C} dimensions), ${neighbours} neighbours, min distance 0.1, ` +
      `seed ${opts.seed ?? 0}. Distances between far-apart groups are not meaningful.`;
  } else {
    const r = tsne(rows, n, C, { seed: opts.seed, perplexity: opts.perplexity, iterations: opts.iterations });
    xy = r.coords;
    axes = ["t-SNE 1", "t-SNE 2"];
    note = `Exact t-SNE of ${n} token embeddings (${C} dimensions), perplexity ${round(r.perplexity)}, ` +
      `seed ${opts.seed ?? 0}, final KL ${
        r.kl.toFixed(3)
      }. Distances between far-apart groups are not meaningful.`;
  }
  const points = ids.map((id, r) => ({
    id,
    label: tokenLabel(tok, id),
    category: opts.categories?.[id] ?? tokenCategory(tok, id),
    x: xy[2 * r],
    y: xy[2 * r + 1],
  }));
  const present = new Set(points.map((p) => p.category));
  const order = [...(opts.categoryOrder ?? categoryOrder(tok))];
  for (const p of points) if (!order.includes(p.category)) order.push(p.category);
  return {
    method: opts.method,
    points,
    categories: order.filter((c) => present.has(c)),
    axes,
    note,
    ...(explained ? { explained } : {}),
  };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
