/**
 * Gradient flow and layer-wise dynamics from a run's `detail` events (`train.log_interval_detail`): heatmaps with
 * one row per parameter tensor (model order, so embeddings on top and the head at the bottom) and one column per
 * detail step, coloured by log₁₀ of the gradient norm or of the update/weight ratio, so vanishing or exploding
 * gradients and frozen layers show as bands; and per-block activation std and dead GELU share over steps.
 * Comparison reports draw each figure once per run that logged its data, labelled with the run, the heatmaps of
 * one quantity on one colour scale.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { Figure } from "./figures.ts";
import type { DetailPoint, TrainPoint } from "./metrics.ts";

/** A run's detail series, for {@link buildDetailFigures}. */
export interface DetailRun {
  /** Run label. */
  label: string;
  /** Its detail events by step. */
  detail: readonly DetailPoint[];
  /** Its train events (their per-layer-group update ratios and layer-wise learning rates). */
  train: readonly TrainPoint[];
}

interface HeatCell {
  step: number;
  name: string;
  value: number;
}

/** The smallest and largest value of `cells`, `null` when there are none. */
function extent(cells: readonly HeatCell[]): [number, number] | null {
  if (cells.length === 0) return null;
  return cells.reduce<[number, number]>(
    ([lo, hi], c) => [Math.min(lo, c.value), Math.max(hi, c.value)],
    [Infinity, -Infinity],
  );
}

/** A heatmap of `cells` coloured over `domain` (from dark at its low end to yellow at its high end). */
function heatmap(
  doc: Document,
  title: string,
  cells: HeatCell[],
  names: string[],
  width: number,
  domain: [number, number] | null,
): string {
  const range = domain === null ? "" : `: dark ${domain[0].toFixed(1)} … yellow ${domain[1].toFixed(1)}`;
  const svg = Plot.plot({
    document: doc,
    width,
    height: 40 + 14 * names.length,
    marginLeft: 260,
    marginTop: 28,
    marginBottom: 36,
    style: { background: "white", color: "#222", fontSize: "10px" },
    x: { type: "band", label: "step", labelAnchor: "right", tickFormat: (d: number) => String(d) },
    y: { domain: names, label: null },
    // (a colour ramp legend needs a canvas, which the server-side DOM lacks: the range goes into the title)
    color: { type: "linear", scheme: "viridis", ...(domain === null ? {} : { domain }) },
    marks: [
      Plot.cell(cells, {
        x: "step",
        y: "name",
        fill: "value",
        inset: 0.5,
        title: (d: HeatCell) => `${d.name}\nstep ${d.step}\nlog10 = ${d.value.toFixed(2)}`,
      }),
      Plot.text([title + range], {
        frameAnchor: "top-left",
        dy: -20,
        dx: -250,
        fontWeight: 600,
        fontSize: 12,
      }),
    ],
  });
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return svg.outerHTML;
}

function lines(
  doc: Document,
  title: string,
  points: { step: number; series: string; value: number }[],
  yLabel: string,
  width: number,
  log = false,
): string {
  const svg = Plot.plot({
    document: doc,
    width,
    height: 260,
    marginLeft: 60,
    marginTop: 30,
    marginRight: 70,
    style: { background: "white", color: "#222", fontSize: "11px" },
    x: { label: "step", labelAnchor: "right", grid: true },
    y: log
      ? { type: "log", label: null, grid: true, tickFormat: "~g" }
      : { label: null, grid: true, zero: true },
    color: { legend: true, domain: [...new Set(points.map((p) => p.series))] },
    marks: [
      // z named: Plot guesses the series from the stroke and warns when most have one point (a short run)
      Plot.lineY(points, { x: "step", y: "value", z: "series", stroke: "series", strokeWidth: 1.6 }),
      // each line named at its end, so an exported figure (without the HTML legend) still says which is which
      Plot.text(
        points,
        Plot.selectLast({
          x: "step",
          y: "value",
          z: "series",
          text: "series",
          fill: "series",
          dx: 5,
          textAnchor: "start",
          fontSize: 10,
        }),
      ),
      Plot.dot(points, {
        x: "step",
        y: "value",
        fill: "series",
        r: 2,
        title: (d: { step: number; series: string; value: number }) =>
          `${d.series}\nstep ${d.step}\n${d.value}`,
      }),
      Plot.text([`${title} (${yLabel})`], {
        frameAnchor: "top-left",
        dy: -22,
        dx: -50,
        fontWeight: 600,
        fontSize: 12,
      }),
    ],
  });
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return svg.outerHTML;
}

/** Points of a per-layer-group record of the train events (`update_ratio`, `layer_lr`), positive values only. */
function groupSeries(
  train: readonly TrainPoint[],
  get: (t: TrainPoint) => Record<string, number> | undefined,
): { step: number; series: string; value: number }[] {
  return train.flatMap((t) =>
    Object.entries(get(t) ?? {}).filter(([, v]) => v > 0).map(([g, v]) => ({
      step: t.step,
      series: g,
      value: v,
    }))
  );
}

/**
 * In a comparison every run gets its own copy of a figure: the id numbered by the run's place (`grad_flow-2`), the
 * title naming the run. A one-run report keeps the plain id and title.
 */
function ofRun(runs: readonly DetailRun[], run: DetailRun, f: Figure): Figure {
  if (runs.length === 1) return f;
  return { ...f, id: `${f.id}-${runs.indexOf(run) + 1}`, title: `${f.title}: ${run.label}` };
}

/** ` (run <label>)` in a comparison's captions, nothing in a one-run report. */
function who(runs: readonly DetailRun[], run: DetailRun): string {
  return runs.length > 1 ? ` (run ${run.label})` : "";
}

/** A heading drawn in a figure, naming its run in a comparison (an exported figure stands alone). */
function heading(runs: readonly DetailRun[], run: DetailRun, text: string): string {
  return runs.length > 1 ? `${text}, run ${run.label}` : text;
}

/**
 * The layer-wise figures of every run whose train lines carry them: the effective learning rate of each layer
 * group (`train.layer_lr_decay`) and each group's update/weight ratio, over steps; one figure per run.
 */
export function buildLayerFigures(doc: Document, runs: readonly DetailRun[], width = 900): Figure[] {
  const lrRuns = runs.filter((r) => r.train.some((t) => t.layer_lr !== undefined));
  const ratioRuns = runs.filter((r) => r.train.some((t) => t.update_ratio !== undefined));
  return [
    ...lrRuns.map((r) =>
      ofRun(runs, r, {
        id: "layer_lr",
        title: "Layer-wise learning rate",
        caption:
          `Effective learning rate of each layer group under train.layer_lr_decay${who(runs, r)}: the ` +
          `head gets the schedule's rate, each layer below it decay times the one above (log scale).`,
        svg: lines(
          doc,
          heading(runs, r, "Learning rate per layer group"),
          groupSeries(r.train, (t) => t.layer_lr),
          "lr",
          width,
          true,
        ),
      })
    ),
    ...ratioRuns.map((r) =>
      ofRun(runs, r, {
        id: "layer_update",
        title: "Update ratio per layer",
        caption:
          `‖Δθ‖ / ‖θ‖ of each layer group's update at every logged step${who(runs, r)} (log scale): how ` +
          `fast each layer actually moves. With layer-wise rates, lower layers should sit proportionally lower.`,
        svg: lines(
          doc,
          heading(runs, r, "Update / weight per layer group"),
          groupSeries(r.train, (t) => t.update_ratio),
          "ratio",
          width,
          true,
        ),
      })
    ),
  ];
}

type ParamStats = DetailPoint["params"][number];

/** log₁₀ of `get` for each tensor at each detail step of `run` (positive values only). */
function heatCells(run: DetailRun, get: (p: ParamStats) => number): HeatCell[] {
  return run.detail.flatMap((d) =>
    d.params.filter((p) => get(p) > 0).map((p) => ({ step: d.step, name: p.name, value: Math.log10(get(p)) }))
  );
}

/**
 * One heatmap figure per run of `runs` for the tensor statistic `get`, all on the colour scale of their joint
 * range so that a colour means the same value in each.
 */
function heatFigures(
  doc: Document,
  all: readonly DetailRun[],
  runs: readonly DetailRun[],
  get: (p: ParamStats) => number,
  f: { id: string; title: string; caption: (who: string) => string; heading: string; width: number },
): Figure[] {
  const cells = runs.map((r) => heatCells(r, get));
  const domain = extent(cells.flat());
  const shared = runs.length > 1 ? " Every run's heatmap has the same colour scale." : "";
  return runs.map((r, i) =>
    ofRun(all, r, {
      id: f.id,
      title: f.title,
      caption: f.caption(who(all, r)) + shared,
      svg: heatmap(
        doc,
        heading(all, r, f.heading),
        cells[i],
        r.detail[0].params.map((p) => p.name),
        f.width,
        domain,
      ),
    })
  );
}

/**
 * The gradient-flow, update-ratio and activation figures of every run with detail events, grouped by figure (each
 * run's gradient flow, then each run's update ratios, …); an empty list when no run has any.
 */
export function buildDetailFigures(doc: Document, runs: readonly DetailRun[], width = 900): Figure[] {
  const drawn = runs.filter((r) => r.detail.length > 0);
  const blockSeries = (r: DetailRun, get: (b: DetailPoint["blocks"][number]) => number | null) =>
    r.detail.flatMap((d) =>
      d.blocks.flatMap((b, i) => {
        const value = get(b);
        return value === null ? [] : [{ step: d.step, series: `block ${i}`, value }];
      })
    );
  return [
    ...heatFigures(doc, runs, drawn, (p) => p.grad_norm, {
      id: "grad_flow",
      title: "Gradient flow",
      caption: (w) =>
        `log₁₀ of each parameter tensor's gradient norm (before clipping), one row per tensor, one column ` +
        `per detail step${w}. A band fading towards the top means vanishing gradients; a bright band, exploding.`,
      heading: "Gradient norm per tensor (log₁₀)",
      width,
    }),
    ...heatFigures(doc, runs, drawn, (p) => p.update_ratio, {
      id: "update_flow",
      title: "Update / weight ratio",
      caption: (w) =>
        `log₁₀ of ‖Δθ‖ / ‖θ‖ of each tensor's optimizer update at the detail steps${w}; around −3 is the ` +
        `usual healthy range, much lower means a frozen tensor.`,
      heading: "Update / weight per tensor (log₁₀)",
      width,
    }),
    ...drawn.map((r) => {
      const std = blockSeries(r, (b) => b.std);
      return ofRun(runs, r, {
        id: "activations",
        title: "Block activations",
        caption: `Standard deviation of each block's output on the detail steps' first micro-batch${
          who(runs, r)
        }.`,
        svg: std.length > 0
          ? lines(doc, heading(runs, r, "Activation std per block"), std, "std", width)
          : null,
      });
    }),
    ...drawn.flatMap((r) => {
      const dead = blockSeries(r, (b) => b.dead_gelu);
      return dead.length === 0 ? [] : [ofRun(runs, r, {
        id: "dead_gelu",
        title: "Dead GELU units",
        caption:
          `Share of each block's MLP hidden units whose input is ≤ −3 at every position of the batch ` +
          `(GELU's output and slope ≈ 0 there)${who(runs, r)}.`,
        svg: lines(doc, heading(runs, r, "Dead GELU share per block"), dead, "share", width),
      })];
    }),
  ];
}
