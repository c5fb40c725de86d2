/**
 * How long the attention analysis takes on a quickstart-size GPT (4 layers, 4 heads, width 128, block 128,
 * 106 tokens: 0.82 M parameters, seeded random weights): head statistics over `--windows` validation-like
 * windows of 128 tokens plus 16 induction sequences, and an exact PCA and a seeded t-SNE of the embeddings.
 * One JSON line.
 *
 *   deno run --allow-read --allow-env bench/analysis_time.ts [--windows 200]
 *
 * @module
 */
import { headStatistics, sampleWindows } from "../lib/analysis/attention.ts";
import { embeddingWeights, projectEmbeddings } from "../lib/analysis/embeddings.ts";
import { CharTokenizer } from "../lib/data/char_tokenizer.ts";
import { GPT } from "../lib/nn/models/gpt.ts";
import { Rng } from "../lib/random.ts";
import { round } from "./_common.ts";
import { type Command, runMain } from "../lib/experiment/cli/_command.ts";

/** The declaration of `bench/analysis_time.ts`. */
export const ANALYSIS_TIME = {
  name: "analysis_time",
  run: "deno run --allow-read --allow-env bench/analysis_time.ts",
  description:
    "How long the attention analysis takes on a quickstart-size GPT (seeded random weights): head statistics over --windows windows of 128 tokens plus 16 induction sequences, and an exact PCA and a seeded t-SNE of the embeddings. One JSON line.",
  positionals: [],
  flags: {
    windows: {
      type: "integer",
      min: 1,
      default: 200,
      description: "validation-like windows for the head statistics",
    },
  },
  examples: [
    "deno run --allow-read --allow-env bench/analysis_time.ts --windows 200",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(ANALYSIS_TIME, ({ values }) => {
    const windows = values.windows;
    const V = 106, T = 128;
    const model = new GPT({
      vocabSize: V,
      blockSize: T,
      nLayer: 4,
      nHead: 4,
      nEmbd: 128,
      dropout: 0,
      bias: true,
      tieWeights: true,
    }, new Rng(0));
    const rng = new Rng(1), text = new Int32Array(windows * T + 1);
    for (let i = 0; i < text.length; i++) text[i] = rng.int(V);
    const tok = CharTokenizer.fromText(
      Array.from({ length: V }, (_, i) => String.fromCodePoint(0x4e00 + i)).join(""),
    );

    let t0 = performance.now();
    const stats = headStatistics(model, sampleWindows(text, T, windows), { inductionSequences: 16 });
    const statsS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    projectEmbeddings(embeddingWeights(model), tok, { method: "pca" });
    const pcaS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    projectEmbeddings(embeddingWeights(model), tok, { method: "tsne", seed: 0 });
    const tsneS = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({
      params: model.numParameters(),
      windows: stats.windows,
      T: stats.T,
      induction_sequences: stats.inductionSequences,
      head_stats_s: round(statsS, 2),
      pca_s: round(pcaS, 3),
      tsne_s: round(tsneS, 2),
      deno: Deno.version.deno,
    }));
  });
}
