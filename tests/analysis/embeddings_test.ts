import { join } from "node:path";
import { attentionMaps, headStatistics, sampleWindows } from "../../lib/analysis/attention.ts";
import { embeddingWeights, projectEmbeddings, selectTokens } from "../../lib/analysis/embeddings.ts";
import {
  bpeKind,
  charCategory,
  frequencyCategories,
  tokenCategory,
  tokenCounts,
  tokenLabel,
} from "../../lib/analysis/tokens.ts";
import { BpeTokenizer } from "../../lib/data/bpe.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { renderAnalysisPage } from "../../lib/report/analysis.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { tinyConfig } from "../_helpers/models.ts";

Deno.test("token categories and labels", () => {
  assertEquals(["a", "É", "7", ";", "+", " ", "\n", "\u0001"].map(charCategory), [
    "letter",
    "letter",
    "digit",
    "punctuation",
    "punctuation",
    "whitespace",
    "whitespace",
    "other",
  ]);
  assertEquals([" the", "ing", "42", "();", "\n\n", " 1", "a1"].map((t) => bpeKind(t)), [
    "word-start (Ġ…)",
    "letters",
    "digits",
    "punctuation",
    "whitespace",
    "word-start (Ġ…)",
    "other",
  ]);
  assertEquals(bpeKind("<|endoftext|>", true), "special");
  const tok = new CharTokenizer([" ", "\n", "a", "1"]);
  assertEquals([0, 1, 2, 3].map((i) => tokenLabel(tok, i)), ["␣", "↵", "a", "1"]);
  assertEquals([0, 2, 3].map((i) => tokenCategory(tok, i)), ["whitespace", "letter", "digit"]);
});

Deno.test("BPE tokens: GPT-2-alphabet labels and kinds", () => {
  const tok = BpeTokenizer.train("the cat the hat the mat 42 42 ;; ;;", {
    vocabSize: 270,
    minFrequency: 2,
    specialTokens: ["<|endoftext|>"],
  });
  const the = tok.encode(" the");
  assertEquals(the.length, 1);
  assertEquals(tokenLabel(tok, the[0]), "Ġthe");
  assertEquals(tokenCategory(tok, the[0]), "word-start (Ġ…)");
  assertEquals(tokenCategory(tok, tok.encode("t")[0]), "letters");
  assertEquals(tokenCategory(tok, tok.encode(";")[0]), "punctuation");
  assertEquals(tokenCategory(tok, tok.encode(" ")[0]), "whitespace");
  const eot = tok.tokenId("<|endoftext|>");
  assertEquals([tokenLabel(tok, eot), tokenCategory(tok, eot)], ["<|endoftext|>", "special"]);
});

Deno.test("frequency buckets and token selection", () => {
  const counts = tokenCounts(Int32Array.from([2, 2, 2, 0, 0, 1]), 1200);
  const cats = frequencyCategories(counts);
  assertEquals([cats[2], cats[0], cats[1], cats[3]], ["top 100", "top 100", "top 100", "unseen"]);
  const many = Int32Array.from({ length: 1200 }, (_, i) => 1200 - i); // id i occurs 1200 − i times
  const c2 = frequencyCategories(many);
  assertEquals([c2[0], c2[99], c2[100], c2[999], c2[1000]], [
    "top 100",
    "top 100",
    "top 100–1000",
    "top 100–1000",
    "rarer",
  ]);
  assertEquals(selectTokens(5, 10), [0, 1, 2, 3, 4]);
  assertEquals(selectTokens(6, 3, [0, 5, 1, 9, 0, 2]), [1, 3, 5]);
  assertEquals(selectTokens(6, 3), [0, 1, 2]);
});

Deno.test("projectEmbeddings: PCA and seeded t-SNE of a model's wte, labelled and categorised", () => {
  const tok = CharTokenizer.fromText("abcdefgh 0123;:,.\n");
  const model = new GPT(tinyConfig({ vocabSize: tok.vocabSize }), new Rng(2));
  const w = embeddingWeights(model);
  assertEquals(w.shape, [tok.vocabSize, 16]);
  const p = projectEmbeddings(w, tok, { method: "pca" });
  assertEquals(p.points.length, tok.vocabSize);
  assertEquals(p.categories, ["letter", "digit", "punctuation", "whitespace"]);
  assertTrue(p.explained![0] >= p.explained![1] && p.explained![0] + p.explained![1] <= 1);
  // PCA coordinates are centred
  assertClose(p.points.reduce((s, q) => s + q.x, 0), 0, 1e-9);
  const t1 = projectEmbeddings(w, tok, {
    method: "tsne",
    seed: 3,
    iterations: 200,
    ids: [0, 1, 2, 3, 4, 5, 6, 7],
  });
  const t2 = projectEmbeddings(w, tok, {
    method: "tsne",
    seed: 3,
    iterations: 200,
    ids: [0, 1, 2, 3, 4, 5, 6, 7],
  });
  assertEquals(t1.points, t2.points);
  assertEquals(t1.points.map((q) => q.id), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertTrue(t1.note.includes("perplexity"));
  assertThrows(() => projectEmbeddings(w, tok, { method: "pca", ids: [0, 99] }), "id 99");
});

Deno.test("from a run directory: loadRun → attention maps, head statistics, embeddings → one page", async () => {
  const corpus = await makeCodeCorpus(3, 2000);
  const out = await Deno.makeTempDir({ prefix: "lcm-analysis-" });
  const { config } = loadConfig({
    path: "configs/tiny.jsonc",
    sets: [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.max_steps=10", "train.sample_tokens=0"],
  });
  const r = await runExperiment({ config, noReport: true });
  const { model, tokenizer } = await loadRun(r.runDir);
  assertTrue(model instanceof GPT);
  const gpt = model as GPT;
  const text = await Deno.readTextFile(join(corpus, "file02.ts"));
  const ids = tokenizer.encode(text.slice(0, 600));
  const maps = attentionMaps(gpt, ids.slice(0, 12));
  const stats = headStatistics(gpt, sampleWindows(ids, 32, 6), { inductionSequences: 2 });
  assertEquals([stats.heads.length, stats.T, stats.inductionLength], [2, 32, 16]);
  for (const h of stats.heads) {
    assertTrue(h.entropy >= 0 && h.entropy <= stats.chance.entropy + 1e-6, `entropy ${h.entropy}`);
    for (const k of ["prevToken", "sink", "induction"] as const) assertTrue(h[k] >= 0 && h[k] <= 1, k);
  }
  const emb = projectEmbeddings(embeddingWeights(gpt), tokenizer, { method: "pca" });
  const html = renderAnalysisPage({
    title: "tiny",
    attention: {
      labels: Array.from(maps.ids, (id) => tokenLabel(tokenizer, id)),
      maps: maps.maps,
      zoom: { layer: 0, head: 1 },
    },
    stats,
    embeddings: emb,
  });
  for (const id of ["attention-maps", "attention-zoom", "head-stats", "embeddings"]) {
    assertTrue(html.includes(`id="${id}"`), id);
  }
  await Deno.remove(out, { recursive: true });
  await Deno.remove(corpus, { recursive: true });
});

Deno.test("projectEmbeddings: UMAP (umap-js) is seeded: the same seed gives the same picture", () => {
  const rng = new Rng(3), V = 40, C = 8, w = new Float32Array(V * C);
  for (let i = 0; i < w.length; i++) w[i] = (Math.floor(i / C / 20) * 4) + rng.next(); // two groups of 20 rows
  const weights = new Tensor(w, [V, C]);
  const tok = CharTokenizer.fromText("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
  const a = projectEmbeddings(weights, tok, { method: "umap", seed: 5 });
  const b = projectEmbeddings(weights, tok, { method: "umap", seed: 5 });
  assertEquals(a.points.map((p) => [p.x, p.y]), b.points.map((p) => [p.x, p.y]));
  assertEquals(a.axes, ["UMAP 1", "UMAP 2"]);
  // the two groups stay apart: each point's nearest neighbour is in its own group
  const pts = a.points;
  pts.forEach((p, i) => {
    let best = -1, bestD = Infinity;
    pts.forEach((q, j) => {
      const d = (p.x - q.x) ** 2 + (p.y - q.y) ** 2;
      if (j !== i && d < bestD) [best, bestD] = [j, d];
    });
    assertEquals(Math.floor(best / 20), Math.floor(i / 20), `point ${i}`);
  });
});
