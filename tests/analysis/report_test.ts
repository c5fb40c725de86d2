import { parseHTML } from "linkedom";
import {
  type AttentionView,
  type EmbeddingView,
  renderAnalysisPage,
  type StatsView,
} from "../../lib/report/analysis.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { uniformChance } from "../../lib/analysis/attention.ts";

const T = 4;
const uniform = (t: number) =>
  Float32Array.from(
    { length: t * t },
    (_, k) => (k % t <= Math.floor(k / t) ? 1 / (Math.floor(k / t) + 1) : 0),
  );
const shifted = (t: number) =>
  Float32Array.from({ length: t * t }, (_, k) => {
    const i = Math.floor(k / t), j = k % t;
    return i === 0 ? (j === 0 ? 1 : 0) : j === i - 1 ? 1 : 0;
  });

const attention: AttentionView = {
  labels: ["a", "<b>", "␣", "&"],
  maps: [[uniform(T), shifted(T)], [shifted(T), uniform(T)]],
  zoom: { layer: 0, head: 1 },
};

const stats: StatsView = {
  T: 16,
  windows: 3,
  inductionLength: 4,
  inductionSequences: 2,
  heads: [
    { layer: 0, head: 0, entropy: 1.2, distance: 4, prevToken: 0.09, sink: 0.1, induction: 0.05 },
    { layer: 0, head: 1, entropy: 0.1, distance: 1, prevToken: 0.95, sink: 0.01, induction: 0.02 },
    { layer: 1, head: 0, entropy: 0.4, distance: 8, prevToken: 0.05, sink: 0.9, induction: 0.01 },
    { layer: 1, head: 1, entropy: 0.8, distance: 3, prevToken: 0.1, sink: 0.05, induction: 0.7 },
  ],
  chance: uniformChance(16, 4),
};

const embeddings: EmbeddingView = {
  method: "PCA",
  points: [
    { id: 0, label: "a", category: "letter", x: 0, y: 1 },
    { id: 1, label: "7", category: "digit", x: 1, y: 0 },
    { id: 2, label: "<", category: "punctuation", x: -1, y: 0.5 },
  ],
  categories: ["letter", "digit", "punctuation"],
  axes: ["PC1 (50.0% of variance)", "PC2 (30.0%)"],
  note: "PCA of 3 token embeddings.",
};

Deno.test("the analysis page has every section, self-contained and escaped", () => {
  const html = renderAnalysisPage({
    title: "Analysis <run>",
    subtitle: "step 5",
    attention,
    stats,
    embeddings,
  });
  const { document } = parseHTML(html);
  const ids = [...document.querySelectorAll("h2")].map((h) => h.getAttribute("id"));
  assertEquals(ids, ["attention-maps", "attention-zoom", "head-stats", "embeddings"]);
  assertEquals(document.querySelectorAll("svg").length, 3);
  assertTrue(document.querySelector("title")!.textContent === "Analysis <run>");
  assertTrue(!html.includes("<b>") && html.includes("&lt;b&gt;"), "labels are escaped");
  assertTrue(!/<script|<link|src=|https?:\/\/(?!www\.w3\.org)/.test(html), "no script or external resource");
  // the overview holds only causal cells: 10 of the 16 per map, 4 maps (plus one frame per facet)
  const overview = document.querySelector("#attention-overview svg")!;
  const rects = overview.querySelectorAll("rect").length;
  assertTrue(rects >= 40 && rects < 64, `${rects} rects in the overview`);
  assertTrue(html.includes("Layer 0, head 1"));
  // the statistics table: a chance row, then one row per head; clearly-above-chance scores in bold
  const rows = [...document.querySelectorAll("#head-stats + p + table tbody tr")];
  assertEquals(rows.length, 5);
  assertTrue(rows[0].getAttribute("class") === "chance");
  assertEquals(document.querySelectorAll("td.hi").length, 3); // 0.1 previous-token, 1.0 sink, 1.1 induction
  // the scatter: one dot per token, a label per token, the legend names every category
  const scatter = document.querySelector("#embedding-scatter svg")!;
  assertEquals(scatter.querySelectorAll("circle").length, 3);
  assertTrue(scatter.textContent!.includes("7"));
  for (const c of embeddings.categories) assertTrue(html.includes(`</span>${c}</span>`), c);
});

Deno.test("sections are optional; a missing zoom head is an error", () => {
  const html = renderAnalysisPage({ title: "empty" });
  assertTrue(html.includes("Nothing to show."));
  const only = renderAnalysisPage({ title: "e", embeddings });
  assertTrue(only.includes('id="embeddings"') && !only.includes('id="attention-maps"'));
  assertThrows(
    () => renderAnalysisPage({ title: "x", attention: { ...attention, zoom: { layer: 3, head: 0 } } }),
    "no head 3.0",
  );
});
