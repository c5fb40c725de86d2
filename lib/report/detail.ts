/**
 * Gradient flow and layer-wise dynamics from a run's `detail` events (`train.log_interval_detail`): heatmaps with
 * one row per parameter tensor (model order, so embeddings on top and the head at the bottom) and one column per
 * detail step, coloured by log₁₀ of the gradient norm or of the update/weight ratio, so vanishing or exploding
 * gradients and frozen layers show as bands; and per-block activation std and dead GELU share over steps.
 * Comparison reports draw the first run that logged details.
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

function heatmap(doc: Document, title: string, cells: HeatCell[], names: string[], width: number): string {
  const lo = Math.min(...cells.map((c) => c.value)), hi = Math.max(...cells.map((c) => c.value));
  const range = cells.length > 0 ? `: dark ${lo.toFixed(1)} … yellow ${hi.toFixed(1)}` : "";
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
    color: { type: "linear", scheme: "viridis" },
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
 * The layer-wise figures of the first run whose train lines carry them: the effective learning rate of each layer
 * group (`train.layer_lr_decay`) and each group's update/weight ratio, over steps.
 */
export function buildLayerFigures(doc: Document, runs: readonly DetailRun[], width = 900): Figure[] {
  const figures: Figure[] = [];
  const lrRun = runs.find((r) => r.train.some((t) => t.layer_lr !== undefined));
  const ratioRun = lrRun ?? runs.find((r) => r.train.some((t) => t.update_ratio !== undefined));
  const who = (r: DetailRun) => runs.length > 1 ? ` (run ${r.label})` : "";
  if (lrRun !== undefined) {
    figures.push({
      id: "layer_lr",
      title: "Layer-wise learning rate",
      caption: `Effective learning rate of each layer group under train.layer_lr_decay${who(lrRun)}: the ` +
        `head gets the schedule's rate, each layer below it decay times the one above (log scale).`,
      svg: lines(
        doc,
        "Learning rate per layer group",
        groupSeries(lrRun.train, (t) => t.layer_lr),
        "lr",
        width,
        true,
      ),
    });
  }
  if (ratioRun !== undefined) {
    figures.push({
      id: "layer_update",
      title: "Update ratio per layer",
      caption:
        `‖Δθ‖ / ‖θ‖ of each layer group's update at every logged step${who(ratioRun)} (log scale): how ` +
        `fast each layer actually moves. With layer-wise rates, lower layers should sit proportionally lower.`,
      svg: lines(
        doc,
        "Update / weight per layer group",
        groupSeries(ratioRun.train, (t) => t.update_ratio),
        "ratio",
        width,
        true,
      ),
    });
  }
  return figures;
}

/**
 * The gradient-flow, update-ratio and activation figures of the first run with detail events; an empty list
 * when no run has any.
 */
export function buildDetailFigures(doc: Document, runs: readonly DetailRun[], width = 900): Figure[] {
  const run = runs.find((r) => r.detail.length > 0);
  if (run === undefined) return [];
  const names = run.detail[0].params.map((p) => p.name);
  const cells = (get: (p: DetailPoint["params"][number]) => number) =>
    run.detail.flatMap((d) =>
      d.params.filter((p) => get(p) > 0).map((p) => ({
        step: d.step,
        name: p.name,
        value: Math.log10(get(p)),
      }))
    );
  const who = runs.length > 1 ? ` (run ${run.label})` : "";
  const blocks = run.detail.flatMap((d) =>
    d.blocks.map((b, i) => ({ step: d.step, series: `block ${i}`, value: b.std }))
  );
  const dead = run.detail.flatMap((d) =>
    d.blocks.flatMap((b, i) =>
      b.dead_gelu === null ? [] : [{ step: d.step, series: `block ${i}`, value: b.dead_gelu }]
    )
  );
  const figures: Figure[] = [
    {
      id: "grad_flow",
      title: "Gradient flow",
      caption:
        `log₁₀ of each parameter tensor's gradient norm (before clipping), one row per tensor, one column ` +
        `per detail step${who}. A band fading towards the top means vanishing gradients; a bright band, exploding.`,
      svg: heatmap(doc, "Gradient norm per tensor (log₁₀)", cells((p) => p.grad_norm), names, width),
    },
    {
      id: "update_flow",
      title: "Update / weight ratio",
      caption:
        `log₁₀ of ‖Δθ‖ / ‖θ‖ of each tensor's optimizer update at the detail steps${who}; around −3 is the ` +
        `usual healthy range, much lower means a frozen tensor.`,
      svg: heatmap(doc, "Update / weight per tensor (log₁₀)", cells((p) => p.update_ratio), names, width),
    },
    {
      id: "activations",
      title: "Block activations",
      caption: `Standard deviation of each block's output on the detail steps' first micro-batch${who}.`,
      svg: blocks.length > 0 ? lines(doc, "Activation std per block", blocks, "std", width) : null,
    },
  ];
  if (dead.length > 0) {
    figures.push({
      id: "dead_gelu",
      title: "Dead GELU units",
      caption: `Share of each block's MLP hidden units whose input is ≤ −3 at every position of the batch ` +
        `(GELU's output and slope ≈ 0 there)${who}.`,
      svg: lines(doc, "Dead GELU share per block", dead, "share", width),
    });
  }
  return figures;
}
