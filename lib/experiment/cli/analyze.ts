/**
 * `deno task analyze RUN_DIR attention [--prompt TEXT] [--layer L --head H] [--windows N] [--induction-length L]
 * [--seed S]`
 * `deno task analyze RUN_DIR embeddings [--method pca|tsne|umap] [--seed S] [--perplexity P] [--iterations N]
 * [--max-points N] [--color kind|frequency]`
 *
 * Looks inside a run's newest checkpoint and writes a self-contained page into the run directory:
 *
 * - `attention` (gpt runs): the attention maps of a prompt (default the run's sample prompt) for every layer
 *   and head, one head zoomed in (`--layer/--head`, default the best previous-token head), and per-head
 *   statistics over `--windows` (default 200) evenly spaced validation windows of block_size tokens plus an
 *   induction test on repeated random sequences → `analysis-attention.html`. Prints the best head of each type
 *   against chance.
 * - `embeddings`: the token embedding matrix projected to 2-D by PCA (default) or exact t-SNE (seeded; at most
 *   `--max-points` tokens, the most frequent in the validation text) → `analysis-embeddings.html`. Points are
 *   coloured by character class (char tokenizers) or by frequency bucket (BPE; `--color kind` for token kinds).
 *   `--method umap` runs umap-js, seeded.
 *
 * @module
 */
import { join } from "node:path";
import { BpeTokenizer } from "../../data/bpe.ts";
import { CharTokenizer } from "../../data/char_tokenizer.ts";
import { loadCorpus } from "../../data/corpus.ts";
import type { Tokenizer } from "../../data/tokenizer.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { GPT } from "../../nn/models/gpt.ts";
import {
  attentionMaps,
  bestHead,
  clearlyAboveChance,
  type HeadStat,
  headStatistics,
  type HeadStatsResult,
  type HeadTypeScore,
  sampleWindows,
} from "../../analysis/attention.ts";
import { embeddingWeights, projectEmbeddings, selectTokens } from "../../analysis/embeddings.ts";
import { FREQUENCY_BUCKETS, frequencyCategories, tokenCounts, tokenLabel } from "../../analysis/tokens.ts";
import { analysisFigureSvgs, type AnalysisPage, renderAnalysisPage } from "../../report/analysis.ts";
import { type FigureFormat, parseFigureFormat, writeFigures } from "../../report/export.ts";
import type { Config } from "../config.ts";
import { loadRun } from "../load.ts";
import { failer, numberFlag, parseCommandLine } from "./_shared.ts";

const USAGE =
  "usage: deno task analyze RUN_DIR attention [--prompt TEXT] [--layer L --head H] [--windows N] " +
  "[--induction-length L] [--seed S]\n" +
  "       deno task analyze RUN_DIR embeddings [--method pca|tsne|umap] [--seed S] [--perplexity P] " +
  "[--iterations N] [--max-points N] [--color kind|frequency]\n" +
  "       either also takes --figures DIR [--format svg|png]: each figure as its own file (DIR under runs/)";

const fail: (msg: string, code?: number) => never = failer("analyze");

function int(name: string, v: string | undefined, min: number): number | undefined {
  return numberFlag(fail, name, v, { int: true, min });
}

type Values = Record<string, string | boolean | undefined>;

/** The `--format` of `--figures` (checked before any analysis runs). */
function figureFormat(values: Values): FigureFormat {
  try {
    return parseFigureFormat(values.format as string | undefined);
  } catch (e) {
    fail((e as Error).message);
  }
}

/** Writes the page to `out` and, with `--figures DIR`, each of its figures to DIR. */
async function writePage(out: string, page: AnalysisPage, values: Values): Promise<void> {
  await writeFileAtomic(out, renderAnalysisPage(page));
  if (values.figures === undefined) return;
  for (
    const path of await writeFigures(analysisFigureSvgs(page), values.figures as string, figureFormat(values))
  ) {
    console.log(path);
  }
}

/** The run's validation text as token ids (characters a char model never saw are left out). */
async function validationTokens(config: Config, tok: Tokenizer): Promise<Int32Array> {
  const d = config.data;
  const c = await loadCorpus({
    corpus: d.corpus,
    paths: d.paths,
    valFraction: d.val_fraction,
    testFraction: d.test_fraction,
  });
  return tok.encode(tok instanceof CharTokenizer ? tok.keepKnown(c.val).text : c.val);
}

function seconds(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

function describe(stats: HeadStatsResult, score: HeadTypeScore, name: string): string {
  const h = bestHead(stats.heads, score);
  const chance = stats.chance[score];
  if (h === undefined || !Number.isFinite(h[score])) return `${name}: not measured`;
  const verdict = clearlyAboveChance(h[score], chance) ? "clearly above chance" : "not clearly above chance";
  return `best ${name} head: ${h.layer}.${h.head}  ${h[score].toFixed(3)} (chance ${chance.toFixed(3)}, ` +
    `${(h[score] / chance).toFixed(1)}×) — ${verdict}`;
}

async function attention(
  runDir: string,
  values: Values,
): Promise<void> {
  const { config, tokenizer, model, step } = await loadRun(runDir);
  if (!(model instanceof GPT)) {
    fail(`attention analysis needs a gpt run; ${runDir} is a ${config.model.family} run`);
  }
  const T = model.config.blockSize;
  const layerArg = int("layer", values.layer as string | undefined, 0);
  const headArg = int("head", values.head as string | undefined, 0);
  if ((layerArg === undefined) !== (headArg === undefined)) fail("--layer and --head go together");
  if (layerArg !== undefined && layerArg >= model.config.nLayer) {
    fail(`--layer: the model has ${model.config.nLayer} layers`);
  }
  if (headArg !== undefined && headArg >= model.config.nHead) {
    fail(`--head: the model has ${model.config.nHead} heads`);
  }
  const nWindows = int("windows", values.windows as string | undefined, 1) ?? 200;
  const L = int("induction-length", values["induction-length"] as string | undefined, 0) ?? Math.floor(T / 2);
  if (2 * L > T) fail(`--induction-length: ${L} repeated twice exceeds block_size ${T}`);
  const seed = int("seed", values.seed as string | undefined, 0) ?? 0;

  const val = await validationTokens(config, tokenizer);
  if (val.length < 2) fail(`${runDir}: the validation text has fewer than 2 tokens`);
  let prompt = typeof values.prompt === "string" ? values.prompt : config.train.sample_prompt;
  if (tokenizer instanceof CharTokenizer) {
    const { text, dropped } = tokenizer.keepKnown(prompt);
    if (dropped > 0) console.error(`analyze: left out ${dropped} unknown characters`);
    prompt = text;
  }
  let ids = prompt === "" ? val.slice(0, Math.min(32, T)) : tokenizer.encode(prompt);
  if (ids.length > T) {
    console.error(`analyze: the prompt has ${ids.length} tokens; keeping the first ${T}`);
    ids = ids.slice(0, T);
  }
  if (ids.length < 1) fail("the prompt is empty");

  const t0 = performance.now();
  const windows = sampleWindows(val, Math.min(T, val.length), nWindows);
  const pool = tokenizer instanceof BpeTokenizer
    ? Array.from({ length: tokenizer.vocabSize }, (_, i) => i).filter((i) => !tokenizer.isSpecial(i))
    : undefined;
  const stats = headStatistics(model, windows, { inductionLength: L, seed, inductionPool: pool });
  const statsTime = seconds(t0);
  const maps = attentionMaps(model, ids);
  const zoomHead: HeadStat = layerArg !== undefined
    ? stats.heads[layerArg * model.config.nHead + headArg!]
    : bestHead(stats.heads, "prevToken")!;
  const out = join(runDir, "analysis-attention.html");
  await writePage(out, {
    title: `Attention: ${runDir.replace(/\/+$/, "").split("/").pop()}`,
    subtitle:
      `${runDir} · checkpoint step ${step} · ${model.config.nLayer} layers × ${model.config.nHead} heads`,
    attention: {
      labels: Array.from(ids, (id) => tokenLabel(tokenizer, id)),
      maps: maps.maps,
      zoom: { layer: zoomHead.layer, head: zoomHead.head },
    },
    stats,
  }, values);
  console.log(
    `attention: ${stats.nLayer} layers × ${stats.nHead} heads, ${stats.windows} windows of ${stats.T} tokens` +
      (stats.inductionSequences > 0 ? ` + ${stats.inductionSequences} induction sequences of 2×${L}` : "") +
      ` in ${statsTime} (total ${seconds(t0)})`,
  );
  console.log(describe(stats, "prevToken", "previous-token"));
  console.log(describe(stats, "sink", "first-token (sink)"));
  console.log(describe(stats, "induction", "induction"));
  let low = stats.heads[0];
  for (const h of stats.heads) if (h.entropy < low.entropy) low = h;
  console.log(
    `lowest-entropy head: ${low.layer}.${low.head}  ${low.entropy.toFixed(3)} nats ` +
      `(uniform ${stats.chance.entropy.toFixed(3)})`,
  );
  console.log(`zoomed head: ${zoomHead.layer}.${zoomHead.head}`);
  console.log(out);
}

async function embeddings(
  runDir: string,
  values: Values,
): Promise<void> {
  const method = (values.method as string | undefined) ?? "pca";
  if (method !== "pca" && method !== "tsne" && method !== "umap") {
    fail(`--method: expected pca, tsne or umap, got "${method}"`);
  }
  const color = values.color as string | undefined;
  if (color !== undefined && color !== "kind" && color !== "frequency") {
    fail(`--color: expected kind or frequency, got "${color}"`);
  }
  const seed = int("seed", values.seed as string | undefined, 0) ?? 0;
  const maxPoints = int("max-points", values["max-points"] as string | undefined, 4) ?? 1000;
  const iterations = int("iterations", values.iterations as string | undefined, 1);
  const perplexity = values.perplexity === undefined ? undefined : Number(values.perplexity);
  if (perplexity !== undefined && !(perplexity >= 1)) fail(`--perplexity: expected a number >= 1`);

  const { config, tokenizer, model, step } = await loadRun(runDir);
  const weights = embeddingWeights(model);
  const V = Math.min(weights.shape[0], tokenizer.vocabSize);
  const byFrequency = color === "frequency" || (color === undefined && tokenizer instanceof BpeTokenizer);
  const needCounts = byFrequency || (method !== "pca" && V > maxPoints);
  const counts = needCounts
    ? tokenCounts(await validationTokens(config, tokenizer), tokenizer.vocabSize)
    : undefined;
  const ids = method !== "pca" ? selectTokens(V, maxPoints, counts) : selectTokens(V, V);
  const t0 = performance.now();
  const projection = projectEmbeddings(weights, tokenizer, {
    method,
    ids,
    seed,
    perplexity,
    iterations,
    ...(byFrequency && counts
      ? { categories: frequencyCategories(counts), categoryOrder: FREQUENCY_BUCKETS }
      : {}),
  });
  const out = join(runDir, "analysis-embeddings.html");
  await writePage(out, {
    title: `Token embeddings: ${runDir.replace(/\/+$/, "").split("/").pop()}`,
    subtitle: `${runDir} · checkpoint step ${step} · ${V} tokens` +
      (byFrequency ? " · colour = frequency in the validation text" : ""),
    embeddings: { ...projection, method: method === "pca" ? "PCA" : method === "umap" ? "UMAP" : "t-SNE" },
  }, values);
  console.log(`embeddings: ${projection.note} (${seconds(t0)})`);
  const byCat = new Map<string, number>();
  for (const p of projection.points) byCat.set(p.category, (byCat.get(p.category) ?? 0) + 1);
  console.log(`categories: ${projection.categories.map((c) => `${c} ${byCat.get(c)}`).join(", ")}`);
  console.log(out);
}

async function main(args: string[]): Promise<void> {
  const parsed = parseCommandLine(fail, USAGE, args, {
    prompt: { type: "string" },
    layer: { type: "string" },
    head: { type: "string" },
    windows: { type: "string" },
    "induction-length": { type: "string" },
    method: { type: "string" },
    seed: { type: "string" },
    perplexity: { type: "string" },
    iterations: { type: "string" },
    "max-points": { type: "string" },
    color: { type: "string" },
    figures: { type: "string" },
    format: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const { values, positionals } = parsed;
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 2) fail(`expected a run directory and "attention" or "embeddings"\n${USAGE}`);
  const [runDir, what] = positionals;
  if (values.format !== undefined && values.figures === undefined) {
    fail(`--format needs --figures DIR\n${USAGE}`);
  }
  figureFormat(values); // a bad --format fails now, not after the analysis
  try {
    if (what === "attention") await attention(runDir, values);
    else if (what === "embeddings") await embeddings(runDir, values);
    else fail(`unknown analysis "${what}": expected attention or embeddings\n${USAGE}`);
  } catch (e) {
    fail((e as Error).message);
  }
}

await main(Deno.args);
