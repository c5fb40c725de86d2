/**
 * The report's panels (loss, perplexity, learning rate, gradient norm, throughput), drawn by Observable Plot into
 * a server-side DOM. Every figure is one standalone `<svg>` (xmlns set, title and legend inside), with runs
 * overlaid and coloured per run. Static SVG `<title>` tooltips mark validation points; nothing needs a script.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { TrainPoint, ValPoint } from "./metrics.ts";
import { drawHeader, headerLayout, type LegendItem } from "./legend.ts";
import { logTicks, yExtent } from "./logticks.ts";
import { column, type RawAndSmooth, rawAndSmooth, thin, type XY } from "./series.ts";
import { hoverData, hoverJson, type HoverSeries } from "./hover.ts";

/** One run as the figures see it. */
export interface PlotRun {
  /** Unique label, shown in legends. */
  label: string;
  /** CSS colour of the run. */
  color: string;
  /** Train events by step. */
  train: readonly TrainPoint[];
  /** Validation events by step. */
  val: readonly ValPoint[];
  /** The run's gradient-clipping threshold (`train.grad_clip`; 0 or absent: none), to mark clipped steps. */
  gradClip?: number;
}

/** Figure size and smoothing. */
export interface FigureOptions {
  /** Figure width in px (default 900). */
  width?: number;
  /** Figure height in px, header included (default 300). */
  height?: number;
  /**
   * EMA decay for train loss and gradient norm. Default: chosen from the longest run's number of logged train
   * points `n` so that the smoothing spans ~1% of the run, `clamp(1 - 100/n, 0.5, 0.99)` rounded to 2 digits.
   */
  beta?: number;
  /** Trailing-mean window, in logged points, for throughput (default 10). */
  window?: number;
  /** Most points drawn per line (default 1000). */
  maxPoints?: number;
}

/** A rendered panel. */
export interface Figure {
  /** Stable id, e.g. `loss`. */
  id: string;
  /** Short title (also drawn in the SVG). */
  title: string;
  /** One sentence on how to read it. */
  caption: string;
  /** The `<svg>` markup, or `null` when no run logged the data. */
  svg: string | null;
  /** The panel's hover data as JSON (see `hover.ts`), for line panels. */
  hover?: string;
}

/** Plot's categorical palette ("observable10"), one colour per run, cycling. */
export const RUN_COLORS: readonly string[] = [
  "#4269d0",
  "#efb118",
  "#ff725c",
  "#6cc5b0",
  "#3ca951",
  "#ff8ab7",
  "#a463f2",
  "#97bbf5",
  "#9c6b4e",
  "#9498a0",
];

/** The colour of the `i`-th run. */
export function runColor(i: number): string {
  return RUN_COLORS[i % RUN_COLORS.length];
}

const SINGLE_VAL_COLOR = "#ff725c";
const KEY_COLOR = "#777";
const MARGIN_LEFT = 64;

/** The default EMA decay for a series of `n` points: see {@link FigureOptions.beta}. */
export function autoBeta(n: number): number {
  return Math.round(100 * Math.min(0.99, Math.max(0.5, 1 - 100 / n))) / 100;
}

interface Resolved {
  width: number;
  height: number;
  beta: number;
  window: number;
  maxPoints: number;
}

function resolve(o: FigureOptions, runs: readonly PlotRun[]): Resolved {
  return {
    width: o.width ?? 900,
    height: o.height ?? 300,
    beta: o.beta ?? autoBeta(Math.max(...runs.map((r) => r.train.length))),
    window: o.window ?? 10,
    maxPoints: o.maxPoints ?? 1000,
  };
}

/** Shared x domain so panels line up: first to last logged step over all runs. */
function stepDomain(runs: readonly PlotRun[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const r of runs) {
    for (const p of [...r.train, ...r.val]) lo = Math.min(lo, p.step), hi = Math.max(hi, p.step);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return lo === hi ? [lo, lo + 1] : [lo, hi];
}

interface PanelSpec {
  yLabel: string;
  log?: boolean;
  zero?: boolean;
  tickFormat?: string | ((v: number) => string);
  /** Data range of a log panel, for {@link logTicks}. */
  yExtent?: [number, number];
  legend: LegendItem[];
  marks: Plot.Markish[];
  /** The lines the hover read-out reports (see `hover.ts`). */
  hover: HoverSeries[];
}

function renderPanel(
  doc: Document,
  title: string,
  spec: PanelSpec,
  x: [number, number],
  o: Resolved,
): { svg: string; hover?: string } {
  const layout = headerLayout(spec.legend, MARGIN_LEFT, o.width - 20);
  const marginTop = layout.height + 22;
  const svg = Plot.plot({
    document: doc,
    width: o.width,
    height: o.height,
    marginTop,
    marginLeft: MARGIN_LEFT,
    marginRight: 20,
    marginBottom: 36,
    style: { background: "white", color: "#222", fontSize: "11px" },
    x: { domain: x, label: "step", labelAnchor: "right", labelArrow: "none", grid: true },
    y: {
      type: spec.log ? "log" : "linear",
      label: null,
      grid: true,
      zero: spec.zero,
      nice: !spec.log,
      ticks: spec.log && spec.yExtent ? logTicks(...spec.yExtent) : undefined,
      tickFormat: spec.tickFormat ?? (spec.log ? "~g" : undefined),
    },
    marks: spec.marks,
  });
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  drawHeader(
    doc,
    svg,
    { title, items: spec.legend, yLabel: spec.yLabel, yLabelAt: marginTop - 10 },
    layout,
    MARGIN_LEFT,
  );
  const hover = hoverData(svg, spec.hover);
  return { svg: svg.outerHTML, hover: hover === null ? undefined : hoverJson(hover) };
}

function series(label: string, color: string, pts: readonly XY[]): HoverSeries {
  return { label, color, xs: pts.map((p) => p.x), ys: pts.map((p) => p.y) };
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

/** Legend for "colour = run" when several runs, plus grey entries keying the line styles. */
function legendFor(runs: readonly PlotRun[], styles: LegendItem[], singleColors: string[]): LegendItem[] {
  if (runs.length === 1) return styles.map((s, i) => ({ ...s, color: singleColors[i] }));
  const items: LegendItem[] = runs.map((r) => ({ label: r.label, color: r.color, style: "line" }));
  return styles.length > 1 ? [...items, ...styles.map((s) => ({ ...s, color: KEY_COLOR }))] : items;
}

/** Faint raw line + smoothed line per run (runs without points skipped). */
function rawSmoothMarks(
  all: Array<[PlotRun, RawAndSmooth]>,
  what: string,
  hover: HoverSeries[],
): Plot.Markish[] {
  const marks: Plot.Markish[] = [];
  for (const [r, { raw, smooth }] of all) {
    if (raw.length === 0) continue;
    hover.push(series(all.length > 1 ? `${r.label} ${what}` : what, r.color, smooth));
    marks.push(
      Plot.lineY(raw, { x: "x", y: "y", stroke: r.color, strokeOpacity: 0.3, strokeWidth: 1 }),
      Plot.lineY(smooth, {
        x: "x",
        y: "y",
        stroke: r.color,
        strokeWidth: 1.8,
        title: () => `${r.label}: ${what}`,
      }),
    );
  }
  return marks;
}

function valMarks(
  runs: readonly PlotRun[],
  r: PlotRun,
  pts: XY[],
  color: string,
  what: string,
  hover: HoverSeries[],
): Plot.Markish[] {
  hover.push(series(runs.length > 1 ? `${r.label} ${what}` : what, color, pts));
  return [
    Plot.lineY(pts, { x: "x", y: "y", stroke: color, strokeWidth: 1.5, strokeDasharray: "4,3" }),
    Plot.dot(pts, {
      x: "x",
      y: "y",
      r: 2.5,
      fill: color,
      title: (d: XY) => `${r.label}\nstep ${d.x}\n${what} ${fmt(d.y)}`,
    }),
  ];
}

function valColor(runs: readonly PlotRun[], r: PlotRun): string {
  return runs.length === 1 ? SINGLE_VAL_COLOR : r.color;
}

function lossPanel(runs: readonly PlotRun[], o: Resolved): PanelSpec | null {
  const ema = `EMA β=${o.beta}`;
  const series = runs.map((r): [PlotRun, RawAndSmooth] => [
    r,
    rawAndSmooth(column(r.train, (p) => p.loss), { ema: o.beta }, o.maxPoints),
  ]);
  const hover: HoverSeries[] = [];
  const marks = rawSmoothMarks(series, `train loss (${ema})`, hover);
  for (const r of runs) {
    const c = column(r.val, (p) => p.loss);
    if (c.xs.length > 0) {
      marks.push(...valMarks(runs, r, thin(c.xs, c.ys, o.maxPoints), valColor(runs, r), "val loss", hover));
    }
  }
  if (marks.length === 0) return null;
  const styles: LegendItem[] = [
    { label: "train (raw)", color: "", style: "faint" },
    { label: `train (${ema})`, color: "", style: "line" },
    { label: "val", color: "", style: "dashed-dot" },
  ];
  const c0 = runs[0].color;
  return {
    yLabel: "loss (nats/token)",
    legend: legendFor(runs, styles, [c0, c0, SINGLE_VAL_COLOR]),
    marks,
    hover,
  };
}

/**
 * Loss spikes: logged train losses more than 3 standard deviations above the mean of the 10 logged points before
 * them (and 5% above it), drawn as crosses.
 */
export function lossSpikes(train: readonly TrainPoint[]): TrainPoint[] {
  const out: TrainPoint[] = [];
  const window: number[] = [];
  for (const p of train) {
    if (p.loss === undefined) continue;
    if (window.length === 10) {
      const mean = window.reduce((a, b) => a + b, 0) / 10;
      const sd = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / 10);
      if (p.loss > mean + 3 * sd && p.loss > 1.05 * mean) out.push(p);
      window.shift();
    }
    window.push(p.loss);
  }
  return out;
}

function spikeMarks(runs: readonly PlotRun[]): Plot.Markish[] {
  return runs.flatMap((r) => {
    const spikes = lossSpikes(r.train);
    return spikes.length === 0 ? [] : [
      Plot.dot(spikes, {
        x: "step",
        y: "loss",
        symbol: "times",
        r: 5,
        stroke: "#d62728",
        strokeWidth: 2,
        title: (p: TrainPoint) => `${r.label}\nloss spike at step ${p.step}: ${fmt(p.loss!)}`,
      }),
    ];
  });
}

function clipMarks(runs: readonly PlotRun[]): Plot.Markish[] {
  return runs.flatMap((r) => {
    const clip = r.gradClip ?? 0;
    if (!(clip > 0)) return [];
    const clipped = r.train.filter((p) => p.grad_norm !== undefined && p.grad_norm > clip);
    return [
      Plot.ruleY([clip], { stroke: r.color, strokeDasharray: "2,3", strokeOpacity: 0.8 }),
      Plot.dot(clipped, {
        x: "step",
        y: "grad_norm",
        r: 2.5,
        fill: "#d62728",
        title: (p: TrainPoint) =>
          `${r.label}\nstep ${p.step}: norm ${fmt(p.grad_norm!)} > clip ${clip} (clipped)`,
      }),
    ];
  });
}

function perplexityPanel(runs: readonly PlotRun[], o: Resolved): PanelSpec | null {
  const ema = `EMA β=${o.beta}`;
  const marks: Plot.Markish[] = [];
  const hover: HoverSeries[] = [];
  const all: XY[][] = [];
  for (const r of runs) {
    const c = column(r.train, (p) => p.loss);
    if (c.xs.length > 0) {
      const { smooth } = rawAndSmooth(c, { ema: o.beta }, o.maxPoints);
      const pts = smooth.map((p) => ({ x: p.x, y: Math.exp(p.y) }));
      all.push(pts);
      hover.push(series(runs.length > 1 ? `${r.label} train ppl` : "train ppl", r.color, pts));
      marks.push(Plot.lineY(pts, { x: "x", y: "y", stroke: r.color, strokeWidth: 1.5, strokeOpacity: 0.8 }));
    }
    const v = column(r.val, (p) => p.ppl, true);
    if (v.xs.length > 0) {
      const pts = thin(v.xs, v.ys, o.maxPoints);
      all.push(pts);
      marks.push(...valMarks(runs, r, pts, valColor(runs, r), "val ppl", hover));
    }
  }
  if (marks.length === 0) return null;
  const styles: LegendItem[] = [
    { label: `train, exp(${ema})`, color: "", style: "line" },
    { label: "val", color: "", style: "dashed-dot" },
  ];
  return {
    yLabel: "perplexity (log scale)",
    log: true,
    yExtent: yExtent(all),
    legend: legendFor(runs, styles, [runs[0].color, SINGLE_VAL_COLOR]),
    marks,
    hover,
  };
}

function accuracyPanel(runs: readonly PlotRun[], o: Resolved): PanelSpec | null {
  const marks: Plot.Markish[] = [];
  const hover: HoverSeries[] = [];
  for (const r of runs) {
    for (
      const [what, get] of [
        ["masked accuracy", (p: ValPoint) => p.masked_accuracy],
        ["exact match", (p: ValPoint) => p.exact_match],
      ] as const
    ) {
      const v = column(r.val, get, true);
      if (v.xs.length > 0) {
        marks.push(...valMarks(runs, r, thin(v.xs, v.ys, o.maxPoints), valColor(runs, r), what, hover));
      }
    }
  }
  if (marks.length === 0) return null;
  return {
    yLabel: "accuracy",
    zero: true,
    legend: legendFor(runs, [{ label: "val", color: "", style: "dashed-dot" }], [
      runs[0].color,
      SINGLE_VAL_COLOR,
    ]),
    marks,
    hover,
  };
}

/** One plain line per run of a train-event field (no smoothing). */
function plainPanel(
  runs: readonly PlotRun[],
  o: Resolved,
  yLabel: string,
  get: (t: TrainPoint) => number | undefined,
  tickFormat: string,
): PanelSpec | null {
  const marks: Plot.Markish[] = [];
  const hover: HoverSeries[] = [];
  for (const r of runs) {
    const c = column(r.train, get);
    if (c.xs.length === 0) continue;
    const pts = thin(c.xs, c.ys, o.maxPoints);
    hover.push(series(runs.length > 1 ? r.label : yLabel, r.color, pts));
    marks.push(Plot.lineY(pts, { x: "x", y: "y", stroke: r.color, strokeWidth: 1.8 }));
  }
  if (marks.length === 0) return null;
  const legend = runs.length > 1 ? legendFor(runs, [], []) : [];
  return { yLabel, tickFormat, zero: true, legend, marks, hover };
}

function smoothedPanel(
  runs: readonly PlotRun[],
  o: Resolved,
  p: {
    yLabel: string;
    get: (t: TrainPoint) => number | undefined;
    smoother: { ema: number } | { window: number };
    smoothLabel: string;
    log?: boolean;
    zero?: boolean;
    tickFormat?: string | ((v: number) => string);
  },
): PanelSpec | null {
  const series = runs.map((r): [PlotRun, RawAndSmooth] => [
    r,
    rawAndSmooth(column(r.train, p.get, p.log), p.smoother, o.maxPoints),
  ]);
  const hover: HoverSeries[] = [];
  const marks = rawSmoothMarks(series, `${p.yLabel} (${p.smoothLabel})`, hover);
  if (marks.length === 0) return null;
  const styles: LegendItem[] = [
    { label: "raw", color: "", style: "faint" },
    { label: p.smoothLabel, color: "", style: "line" },
  ];
  const c0 = runs[0].color;
  return {
    yLabel: p.yLabel,
    log: p.log,
    yExtent: yExtent(series.flatMap(([, s]) => [s.raw, s.smooth])),
    zero: p.zero,
    tickFormat: p.tickFormat,
    legend: legendFor(runs, styles, [c0, c0]),
    marks,
    hover,
  };
}

// A panel with extra marks drawn on top (nothing when the panel has no data).
function withMarks(spec: PanelSpec | null, extra: Plot.Markish[]): PanelSpec | null {
  return spec === null ? null : { ...spec, marks: [...spec.marks, ...extra] };
}

function specs(runs: readonly PlotRun[], o: Resolved): Array<[string, string, string, PanelSpec | null]> {
  const ema = `EMA β=${o.beta}`;
  return [
    [
      "loss",
      "Loss",
      "Training loss as logged (faint) and smoothed; validation loss at each evaluation (dots); red crosses mark " +
      "loss spikes (more than 3 standard deviations above the previous 10 logged points).",
      withMarks(lossPanel(runs, o), spikeMarks(runs)),
    ],
    [
      "perplexity",
      "Perplexity",
      "Perplexity = exp(loss): validation (dots) and exp of the smoothed training loss.",
      perplexityPanel(runs, o),
    ],
    [
      "accuracy",
      "Validation accuracy",
      "bert runs: share of masked positions predicted right; t5 runs: share of held-out examples decoded " +
      "exactly (greedy). At each evaluation.",
      accuracyPanel(runs, o),
    ],
    [
      "lr",
      "Learning rate",
      "Learning rate per step (schedule incl. warm-up).",
      plainPanel(runs, o, "learning rate", (t) => t.lr, "~g"),
    ],
    [
      "grad_norm",
      "Gradient norm",
      "Global gradient norm before clipping, as logged (faint) and smoothed; log scale. The dashed line is " +
      "train.grad_clip; red dots are logged steps whose gradient was clipped.",
      withMarks(
        smoothedPanel(runs, o, {
          yLabel: "grad norm (log scale)",
          get: (t) => t.grad_norm,
          smoother: { ema: o.beta },
          smoothLabel: ema,
          log: true,
        }),
        clipMarks(runs),
      ),
    ],
    [
      "tokens_per_s",
      "Throughput",
      `Training throughput, as logged (faint) and as a trailing mean of the last ${o.window} logged points.`,
      smoothedPanel(runs, o, {
        yLabel: "tokens / s",
        get: (t) => t.tokens_per_s,
        smoother: { window: o.window },
        smoothLabel: `mean of last ${o.window}`,
        tickFormat: (v: number) => (v >= 1000 ? `${v / 1000}k` : String(v)),
        zero: true,
      }),
    ],
    [
      "memory",
      "Memory",
      "Resident memory (RSS) of the training process at each logged step: the model, optimizer state, " +
      "activations and the runtime. A line that keeps rising is a leak.",
      plainPanel(runs, o, "RSS (MiB)", (t) => t.rss_mb, "~s"),
    ],
  ];
}

const OPTIONAL_PANELS = new Set(["accuracy", "memory"]);

/**
 * Renders every panel for `runs` (at least one) into `doc`. Panels without data come back with `svg: null`,
 * except the accuracy and memory panels, which are only there when some run logged an accuracy or its RSS.
 */
export function buildFigures(doc: Document, runs: readonly PlotRun[], opts: FigureOptions = {}): Figure[] {
  if (runs.length === 0) throw new Error("buildFigures: no runs");
  const o = resolve(opts, runs);
  const x = stepDomain(runs);
  // the accuracy panel belongs to bert and t5 runs, the memory panel to runs logged since RSS was: left out
  // entirely, not shown empty, for the others
  return specs(runs, o).filter(([id, , , spec]) => !OPTIONAL_PANELS.has(id) || spec !== null).map((
    [id, title, caption, spec],
  ) => {
    if (spec === null) return { id, title, caption, svg: null };
    const { svg, hover } = renderPanel(doc, title, spec, x, o);
    return { id, title, caption, svg, ...(hover === undefined ? {} : { hover }) };
  });
}

/** Renders only the loss panel; `null` when no run logged a loss. */
export function buildLossFigure(
  doc: Document,
  runs: readonly PlotRun[],
  opts: FigureOptions = {},
): string | null {
  if (runs.length === 0) throw new Error("buildLossFigure: no runs");
  const o = resolve(opts, runs);
  const spec = lossPanel(runs, o);
  return spec === null ? null : renderPanel(doc, "Loss", spec, stepDomain(runs), o).svg;
}
