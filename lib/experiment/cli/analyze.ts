/**
 * `deno task analyze`: Looks inside a run's newest checkpoint (attention maps and head statistics, or the
 * token embeddings) and writes a self-contained page into the run directory. Its flags, defaults and examples
 * are declared once in {@link ANALYZE} (`--help` prints them; docs/cli.md lists them).
 *
 * @module
 */
import { corpusOptions } from "../families.ts";
import { join } from "node:path";
import { BpeTokenizer } from "../../data/bpe.ts";
import { CharTokenizer } from "../../data/char_tokenizer.ts";
import { scanCorpus, splitText } from "../../data/corpus.ts";
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
import { parseFigureFormat, writeFigures } from "../../report/export.ts";
import type { Config } from "../config.ts";
import { loadRun } from "../load.ts";
import { failer, THREADS_FLAG, useThreads } from "./_shared.ts";
import { type Command, type FlagValues, type Parsed, parseOrExit } from "./_command.ts";
import { checkWritable, existingPath, onlyUnderRuns, userPath } from "./_paths.ts";

/** The declaration of `deno task analyze`. */
export const ANALYZE = {
  name: "analyze",
  run: "deno task analyze",
  description:
    "Looks inside a run's newest checkpoint and writes a self-contained page into the run directory. " +
    "attention (gpt runs): the attention maps of a prompt for every layer and head, one head zoomed in, and " +
    "per-head statistics (previous-token, first-token, induction, entropy) over evenly spaced validation " +
    "windows → analysis-attention.html; prints the best head of each type against chance. embeddings: the " +
    "token embedding matrix projected to 2-D by PCA, t-SNE or UMAP (seeded), coloured by character class or " +
    "frequency → analysis-embeddings.html.",
  positionals: [
    { name: "RUN_DIR", description: "the run to look into (runs/<name>-<stamp>)" },
    { name: "ANALYSIS", description: "attention or embeddings", choices: ["attention", "embeddings"] },
  ],
  flags: {
    prompt: {
      type: "string",
      defaultText: "the run's train.sample_prompt",
      description: "attention: the text whose maps are drawn",
    },
    layer: {
      type: "integer",
      min: 0,
      defaultText: "the best previous-token head",
      description: "attention: the zoomed head's layer (with --head)",
    },
    head: {
      type: "integer",
      min: 0,
      defaultText: "the best previous-token head",
      description: "attention: the zoomed head",
    },
    windows: {
      type: "integer",
      min: 1,
      default: 200,
      description: "attention: validation windows for the statistics",
    },
    "induction-length": {
      type: "integer",
      min: 0,
      value: "L",
      defaultText: "block_size / 2",
      description: "attention: length of the repeated random sequences of the induction test",
    },
    method: {
      type: "string",
      choices: ["pca", "tsne", "umap"],
      default: "pca",
      value: "METHOD",
      description: "embeddings: the projection",
    },
    seed: {
      type: "integer",
      min: 0,
      default: 0,
      description: "seed of the sampled windows and of t-SNE/UMAP",
    },
    perplexity: {
      type: "number",
      min: 1,
      defaultText: "t-SNE's own",
      description: "embeddings: t-SNE perplexity",
    },
    iterations: {
      type: "integer",
      min: 1,
      defaultText: "the method's own",
      description: "embeddings: t-SNE/UMAP iterations",
    },
    "max-points": {
      type: "integer",
      min: 4,
      default: 1000,
      description: "embeddings: t-SNE/UMAP project at most N tokens (the most frequent)",
    },
    color: {
      type: "string",
      choices: ["kind", "frequency"],
      value: "BY",
      defaultText: "kind (char tokenizers), frequency (BPE)",
      description: "embeddings: what the colours show",
    },
    figures: {
      type: "string",
      value: "DIR",
      defaultText: "none",
      description: "also write each figure as its own file into DIR (under runs/ for the task)",
    },
    format: {
      type: "string",
      choices: ["svg", "png"],
      value: "FORMAT",
      defaultText: "svg",
      description: "file format of --figures",
    },
    threads: THREADS_FLAG,
  },
  examples: [
    "deno task analyze runs/tiny-20260101-120000 attention",
    "deno task analyze runs/tiny-20260101-120000 embeddings --method tsne --seed 1",
  ],
} as const satisfies Command;

const fail: (msg: string, code?: number) => never = failer("analyze");

type Values = FlagValues<typeof ANALYZE.flags>;
type Args = Parsed<typeof ANALYZE>;

/** Writes the page to `out` and, with `--figures DIR`, each of its figures to DIR. */
async function writePage(out: string, page: AnalysisPage, values: Values): Promise<void> {
  await writeFileAtomic(out, renderAnalysisPage(page));
  if (values.figures === undefined) return;
  for (
    const path of await writeFigures(
      analysisFigureSvgs(page),
      values.figures,
      parseFigureFormat(values.format),
    )
  ) {
    console.log(path);
  }
}

/** The run's validation text as token ids (characters a char model never saw are left out). */
async function validationTokens(config: Config, tok: Tokenizer): Promise<Int32Array> {
  const c = await scanCorpus(corpusOptions(config));
  const val = await splitText(c, "val"); // only the validation split is read into memory
  return tok.encode(tok instanceof CharTokenizer ? tok.keepKnown(val).text : val);
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

async function attention(runDir: string, { values, typed }: Args): Promise<void> {
  const { config, tokenizer, model, step } = await loadRun(runDir);
  if (!(model instanceof GPT)) {
    fail(`attention analysis needs a gpt run; ${runDir} is a ${config.model.family} run`);
  }
  const T = model.config.blockSize;
  const { layer: layerArg, head: headArg } = values;
  if ((layerArg === undefined) !== (headArg === undefined)) {
    fail(`${typed("layer")} and ${typed("head")} go together`);
  }
  if (layerArg !== undefined && layerArg >= model.config.nLayer) {
    fail(`${typed("layer")}: the model has ${model.config.nLayer} layers`);
  }
  if (headArg !== undefined && headArg >= model.config.nHead) {
    fail(`${typed("head")}: the model has ${model.config.nHead} heads`);
  }
  const nWindows = values.windows;
  const L = values["induction-length"] ?? Math.floor(T / 2);
  if (2 * L > T) fail(`${typed("induction-length")}: ${L} repeated twice exceeds block_size ${T}`);
  const seed = values.seed;

  const val = await validationTokens(config, tokenizer);
  if (val.length < 2) fail(`${runDir}: the validation text has fewer than 2 tokens`);
  let prompt = values.prompt ?? config.train.sample_prompt;
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

async function embeddings(runDir: string, { values }: Args): Promise<void> {
  const method = values.method as "pca" | "tsne" | "umap";
  const { color, seed, iterations, perplexity } = values;
  const maxPoints = values["max-points"];

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
  const parsed = parseOrExit(ANALYZE, args);
  const { values, positionals, typed } = parsed;
  const runDir = existingPath(positionals[0], fail), what = positionals[1];
  if (values.format !== undefined && values.figures === undefined) {
    fail(`${typed("format")} needs --figures DIR`);
  }
  // every output checked before any work: the page goes into the run, the figures into --figures
  const permissions = "--allow-env --allow-ffi --allow-sys=cpus,networkInterfaces,hostname";
  const page = join(runDir, `analysis-${what}.html`);
  checkWritable(page, page, fail, onlyUnderRuns("analyze", permissions, runDir, "analyze a run there", args));
  if (values.figures !== undefined) {
    const typedDir = values.figures;
    values.figures = userPath(typedDir);
    const instead = `give a folder there (e.g. ${typed("figures")} ${join(runDir, "figures")})`;
    checkWritable(
      `${typed("figures")} ${typedDir}`,
      join(values.figures, "figure"),
      fail,
      onlyUnderRuns("analyze", permissions, values.figures, instead, args),
    );
  }
  await useThreads(values.threads);
  try {
    if (what === "attention") await attention(runDir, parsed);
    else await embeddings(runDir, parsed);
  } catch (e) {
    fail((e as Error).message);
  }
}

if (import.meta.main) await main(Deno.args);
