/**
 * The "see inside the model" page: attention maps of one prompt (every layer × head as small multiples, and one
 * head zoomed in), a table of per-head statistics against their chance levels, and a 2-D scatter of the token
 * embeddings. Figures are drawn by Observable Plot into a server-side (linkedom) DOM, as in `figures.ts`; the page
 * is one self-contained HTML string with inline CSS and SVG, no script and no external resource.
 *
 * The inputs are plain data (shapes below), so this module depends on nothing in `lib/analysis`.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { newDocument } from "./dom.ts";
import { clearlyAboveChance } from "../analysis/attention.ts";
import { defangUrls, escapeHtml } from "./escape.ts";
import { RUN_COLORS } from "./figures.ts";
import { standaloneSvg } from "./export.ts";
import { BASE_CSS } from "./style.ts";

/** Attention maps of one prompt. */
export interface AttentionView {
  /** Visible label of each prompt token. */
  labels: string[];
  /** maps[layer][head]: (T, T) row-major probabilities, row = query, column = key. */
  maps: ArrayLike<number>[][];
  /** The head shown large. */
  zoom: { layer: number; head: number };
}

/** Statistics of one head (the fields of `HeadStat` in lib/analysis/attention.ts). */
export interface HeadStatView {
  /** Layer index. */
  layer: number;
  /** Head index. */
  head: number;
  /** Mean row entropy (nats). */
  entropy: number;
  /** Mean attended distance (positions). */
  distance: number;
  /** Previous-token score. */
  prevToken: number;
  /** First-token (sink) score. */
  sink: number;
  /** Induction score (NaN when not measured). */
  induction: number;
}

/** Per-head statistics and what they are under uniform causal attention. */
export interface StatsView {
  /** Window length. */
  T: number;
  /** Number of text windows. */
  windows: number;
  /** Induction sequence length L (repeated twice), 0 when not measured. */
  inductionLength: number;
  /** Number of repeated random sequences. */
  inductionSequences: number;
  /** One row per head. */
  heads: HeadStatView[];
  /** Uniform causal attention's values. */
  chance: Omit<HeadStatView, "layer" | "head">;
}

/** A 2-D projection of the token embeddings. */
export interface EmbeddingView {
  /** Method name shown in the heading, e.g. "PCA". */
  method: string;
  /** Points with token label and category. */
  points: { id: number; label: string; category: string; x: number; y: number }[];
  /** Categories in legend order. */
  categories: string[];
  /** Axis titles. */
  axes: [string, string];
  /** One sentence on how the projection was made. */
  note: string;
}

/** Everything on the page; each section is shown when given. */
export interface AnalysisPage {
  /** Page heading and `<title>`. */
  title: string;
  /** A line under the heading (run, checkpoint step…). */
  subtitle?: string;
  /** Attention maps of one prompt. */
  attention?: AttentionView;
  /** Per-head statistics. */
  stats?: StatsView;
  /** Token embedding scatter. */
  embeddings?: EmbeddingView;
}

/** Prompts up to this many tokens get token labels on both axes of every small multiple. */
export const LABELLED_OVERVIEW_TOKENS = 24;
/** Points up to this many are all labelled in the embedding scatter (more: an evenly spread subset). */
export const LABELLED_POINTS = 300;

const HEAT_SCHEME = "blues";
const HEAT_LOW = "#f7fbff";
const HEAT_HIGH = "#08306b";

const CSS = `${BASE_CSS}
th, td { text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.chance td { color: #777; font-style: italic; }
td.hi { font-weight: 700; color: #0b4ea2; }
td.best { background: #eef4fc; }
.legend { font-size: 12px; color: #444; margin: 4px 0; }
.legend span.item { margin-right: 14px; white-space: nowrap; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; }
.ramp { display: inline-block; width: 160px; height: 10px; vertical-align: middle; margin: 0 6px;
  background: linear-gradient(to right, ${HEAT_LOW}, #6baed6, ${HEAT_HIGH}); border: 1px solid #ccc; }
span.tok { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: #222;
  border: 1px solid #ddd; border-radius: 2px; padding: 0 2px; margin: 0 1px; white-space: pre; }
`;

interface Cell {
  layer: number;
  head: number;
  i: number;
  j: number;
  p: number;
}

/** The causal (j ≤ i) cells of one (T, T) map. */
function cells(map: ArrayLike<number>, T: number, layer: number, head: number): Cell[] {
  const out: Cell[] = [];
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) out.push({ layer, head, i, j, p: map[i * T + j] });
  return out;
}

/** Tick positions: every position for short prompts, else about a dozen. */
function positionTicks(T: number, labelled: boolean): number[] {
  const step = labelled ? 1 : Math.max(1, Math.ceil(T / 12));
  return Array.from({ length: T }, (_, i) => i).filter((i) => i % step === 0);
}

function finish(svg: SVGSVGElement | HTMLElement): string {
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return svg.outerHTML;
}

/**
 * Every layer × head map of one prompt as small multiples (layers down, heads across). Only the causal lower
 * triangle is filled; the frame shows the empty upper triangle. Short prompts get token labels on both axes.
 */
export function attentionOverviewSvg(doc: Document, view: AttentionView): string {
  const T = view.labels.length, L = view.maps.length, H = view.maps[0]?.length ?? 0;
  const labelled = T <= LABELLED_OVERVIEW_TOKENS;
  const data = view.maps.flatMap((row, l) => row.flatMap((m, h) => cells(m, T, l, h)));
  const facet = Math.max(110, Math.min(210, T * 11));
  const marginLeft = labelled ? 84 : 64, marginBottom = labelled ? 46 : 30;
  const positions = Array.from({ length: T }, (_, i) => i);
  const tickFormat = (k: number) => (labelled ? view.labels[k] : String(k));
  const svg = Plot.plot({
    document: doc,
    width: marginLeft + 56 + H * facet * 1.08,
    height: 30 + marginBottom + L * facet * 1.08,
    marginLeft,
    marginTop: 30,
    marginRight: 56,
    marginBottom,
    style: { background: "white", color: "#222", fontSize: labelled ? "8px" : "9px" },
    fx: { label: null, tickFormat: (h: number) => `head ${h}`, axis: "top", padding: 0.08 },
    fy: { label: null, tickFormat: (l: number) => `layer ${l}`, axis: "right", padding: 0.08 },
    x: {
      domain: positions,
      ticks: positionTicks(T, labelled),
      tickFormat,
      tickRotate: labelled ? -90 : 0,
      tickSize: 0,
      label: null,
    },
    y: { domain: positions, ticks: positionTicks(T, labelled), tickFormat, tickSize: 0, label: null },
    color: { type: "linear", scheme: HEAT_SCHEME, domain: [0, 1] },
    marks: [
      Plot.frame({ stroke: "#bbb" }),
      Plot.cell(data, { x: "j", y: "i", fill: "p", fx: "head", fy: "layer", inset: 0 }),
    ],
  });
  return finish(svg);
}

/** One head's map, large, with token labels on both axes and a tooltip per cell (values printed when short). */
export function attentionHeadSvg(doc: Document, view: AttentionView, layer: number, head: number): string {
  const T = view.labels.length, map = view.maps[layer]?.[head];
  if (map === undefined) throw new Error(`attentionHeadSvg: no head ${layer}.${head}`);
  const data = cells(map, T, layer, head);
  const labelled = T <= 64;
  const positions = Array.from({ length: T }, (_, i) => i);
  const tickFormat = (k: number) => (labelled ? view.labels[k] : String(k));
  const side = Math.max(300, Math.min(760, T * 24));
  const lab = (k: number) => `${JSON.stringify(view.labels[k])} (${k})`;
  const marks: Plot.Markish[] = [
    Plot.frame({ stroke: "#bbb" }),
    Plot.cell(data, {
      x: "j",
      y: "i",
      fill: "p",
      inset: 0.5,
      title: (d: Cell) => `query ${lab(d.i)} → key ${lab(d.j)}: ${d.p.toFixed(3)}`,
    }),
  ];
  if (T <= 16) {
    marks.push(Plot.text(data.filter((d) => d.p >= 0.005), {
      x: "j",
      y: "i",
      text: (d: Cell) => d.p.toFixed(2).replace(/^0/, ""),
      fill: (d: Cell) => (d.p > 0.5 ? "white" : "#222"),
      fontSize: 9,
    }));
  }
  const svg = Plot.plot({
    document: doc,
    width: side + 110,
    height: side + 90,
    marginLeft: 90,
    marginTop: 20,
    marginBottom: 70,
    marginRight: 20,
    style: { background: "white", color: "#222", fontSize: "10px" },
    x: {
      domain: positions,
      ticks: positionTicks(T, labelled),
      tickFormat,
      tickRotate: -90,
      label: "key position (attended to) →",
      labelAnchor: "right",
    },
    y: { domain: positions, ticks: positionTicks(T, labelled), tickFormat, label: "↓ query position" },
    color: { type: "linear", scheme: HEAT_SCHEME, domain: [0, 1] },
    marks,
  });
  return finish(svg);
}

/** The token embedding scatter: a dot per token coloured by category, labelled by its text. */
export function embeddingScatterSvg(doc: Document, view: EmbeddingView): string {
  const n = view.points.length;
  const every = Math.max(1, Math.ceil(n / LABELLED_POINTS));
  const labelled = view.points.filter((_, k) => k % every === 0);
  const colors = view.categories.map((_, k) => RUN_COLORS[k % RUN_COLORS.length]);
  type P = EmbeddingView["points"][number];
  const svg = Plot.plot({
    document: doc,
    width: 900,
    height: 640,
    marginLeft: 56,
    marginBottom: 40,
    marginTop: 16,
    marginRight: 24,
    style: { background: "white", color: "#222", fontSize: "10px" },
    x: { label: view.axes[0], grid: true, labelAnchor: "right", nice: true },
    y: { label: view.axes[1], grid: true, nice: true },
    color: { type: "ordinal", domain: view.categories, range: colors },
    marks: [
      Plot.dot(view.points, {
        x: "x",
        y: "y",
        r: 3.2,
        fill: "category",
        fillOpacity: 0.85,
        title: (d: P) => `${d.label} (id ${d.id}, ${d.category})`,
      }),
      Plot.text(labelled, {
        x: "x",
        y: "y",
        text: "label",
        dx: 5,
        textAnchor: "start",
        fill: "#333",
        fontSize: n > 150 ? 8 : 10,
      }),
    ],
  });
  return finish(svg);
}

function fmt(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "—";
}

const above = clearlyAboveChance;

function statsSection(s: StatsView): string {
  const cols: Array<[keyof StatsView["chance"], string, number, boolean]> = [
    ["entropy", "entropy (nats)", 3, false],
    ["distance", "mean distance", 2, false],
    ["prevToken", "previous-token", 3, true],
    ["sink", "first-token (sink)", 3, true],
    ["induction", "induction", 3, true],
  ];
  const best = new Map<string, number>();
  for (const [key, , , typed] of cols) {
    if (!typed) continue;
    let max = -Infinity;
    for (const h of s.heads) if (h[key] > max) max = h[key];
    best.set(key, max);
  }
  const rows = s.heads.map((h) => {
    const tds = cols.map(([key, , digits, typed]) => {
      const cls = typed
        ? [above(h[key], s.chance[key]) ? "hi" : "", h[key] === best.get(key) ? "best" : ""].filter(Boolean)
        : [];
      return `<td${cls.length ? ` class="${cls.join(" ")}"` : ""}>${fmt(h[key], digits)}</td>`;
    });
    return `<tr><td>${h.layer}.${h.head}</td>${tds.join("")}</tr>`;
  });
  const chanceRow = `<tr class="chance"><td>uniform (chance)</td>${
    cols.map(([key, , digits]) => `<td>${fmt(s.chance[key], digits)}</td>`).join("")
  }</tr>`;
  const induction = s.inductionSequences > 0
    ? `Induction: ${s.inductionSequences} random sequences of ${s.inductionLength} tokens, each repeated ` +
      `twice; for queries in the second copy, the weight on the token after the previous occurrence of the ` +
      `current token.`
    : "Induction was not measured.";
  return `<h2 id="head-stats">Per-head statistics</h2>
<p class="sub">Means over query rows 1…T−1 of ${s.windows} validation windows of ${s.T} tokens.
Entropy of each attention row (uniform causal attention has the most); mean distance Σ p·(i−j); previous-token:
weight on j = i−1; first-token (sink): weight on j = 0. ${
    escapeHtml(induction)
  } The grey row is uniform causal
attention (chance). <b class="hi">Bold</b>: clearly above chance (at least twice chance and 0.1 above it);
shaded: the best head for that score.</p>
<table><thead><tr><th>layer.head</th>${
    cols.map(([, title]) => `<th>${escapeHtml(title)}</th>`).join("")
  }</tr></thead>
<tbody>
${chanceRow}
${rows.join("\n")}
</tbody></table>`;
}

function rampLegend(): string {
  return `<div class="legend">attention weight 0<span class="ramp"></span>1</div>`;
}

function attentionSections(doc: Document, a: AttentionView): string {
  const T = a.labels.length, { layer, head } = a.zoom;
  const prompt = a.labels.map((t) => `<span class="tok">${escapeHtml(t)}</span>`).join("");
  return `<h2 id="attention-maps">Attention maps</h2>
<p class="sub">Prompt (${T} tokens): ${prompt}</p>
${rampLegend()}
<figure id="attention-overview">${attentionOverviewSvg(doc, a)}
<figcaption>Every layer (rows) and head (columns). In each map row i is the query position and column j the key
position it attends to; only j ≤ i can be attended (causal mask), so the upper triangle is empty.</figcaption>
</figure>
<h2 id="attention-zoom">Layer ${layer}, head ${head}</h2>
<figure>${attentionHeadSvg(doc, a, layer, head)}
<figcaption>One head at full size: each row is a query token's attention over the tokens up to it.</figcaption>
</figure>`;
}

function embeddingSection(doc: Document, e: EmbeddingView): string {
  const legend = e.categories.map((c, k) =>
    `<span class="item"><span class="sw" style="background:${RUN_COLORS[k % RUN_COLORS.length]}"></span>${
      escapeHtml(c)
    }</span>`
  ).join("");
  const shown = e.points.length > LABELLED_POINTS
    ? ` Every ${Math.ceil(e.points.length / LABELLED_POINTS)}th point is labelled.`
    : "";
  return `<h2 id="embeddings">Token embeddings (${escapeHtml(e.method)})</h2>
<p class="sub">${escapeHtml(e.note)}${escapeHtml(shown)}</p>
<div class="legend">${legend}</div>
<figure id="embedding-scatter">${embeddingScatterSvg(doc, e)}
<figcaption>Each dot is one token's row of the embedding matrix (wte), coloured by category.</figcaption>
</figure>`;
}

/**
 * Every figure of an analysis page as a standalone SVG document, by id: `attention-overview`,
 * `attention-L<l>-H<h>` (the zoomed head) and `embeddings-<method>`. For papers and READMEs (the colour legends
 * are HTML on the page and are not in the files).
 */
export function analysisFigureSvgs(page: AnalysisPage): Map<string, string> {
  const doc = newDocument();
  const out = new Map<string, string>();
  const put = (id: string, markup: string) => {
    const svg = standaloneSvg(markup);
    if (svg !== null) out.set(id, svg);
  };
  if (page.attention) {
    const { layer, head } = page.attention.zoom;
    put("attention-overview", attentionOverviewSvg(doc, page.attention));
    put(`attention-L${layer}-H${head}`, attentionHeadSvg(doc, page.attention, layer, head));
  }
  if (page.embeddings) {
    put(
      `embeddings-${page.embeddings.method.toLowerCase().replace(/[^a-z]/g, "")}`,
      embeddingScatterSvg(doc, page.embeddings),
    );
  }
  return out;
}

/** The whole page as a self-contained HTML string. */
export function renderAnalysisPage(page: AnalysisPage): string {
  const doc = newDocument();
  const parts: string[] = [];
  if (page.attention) parts.push(attentionSections(doc, page.attention));
  if (page.stats) parts.push(statsSection(page.stats));
  if (page.embeddings) parts.push(embeddingSection(doc, page.embeddings));
  if (parts.length === 0) parts.push('<p class="empty">Nothing to show.</p>');
  return defangUrls(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${page.subtitle ? `<p class="sub">${escapeHtml(page.subtitle)}</p>` : ""}
${parts.join("\n")}
</body>
</html>
`);
}
