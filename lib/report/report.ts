/**
 * The report's entry points: run directories in, one self-contained `report.html` (or a standalone loss SVG)
 * out. A report never re-runs anything; it is a function of what the run directories hold.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { newDocument } from "./dom.ts";
import { buildDetailFigures, buildLayerFigures } from "./detail.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { defangUrls } from "./escape.ts";
import { standaloneSvg } from "./export.ts";
import {
  buildFigures,
  buildLossFigure,
  type Figure,
  type FigureOptions,
  type PlotRun,
  runColor,
} from "./figures.ts";
import { renderPage, type RunView } from "./html.ts";
import { readRun, type RunData } from "./rundir.ts";

/** Options of {@link renderReport}: a page title plus figure size and smoothing. */
export interface ReportOptions extends FigureOptions {
  /** Page title; default `Training report: <name>` for one run, `Comparison of N runs` for several. */
  title?: string;
}

/** Labels are the manifest names; where names collide, the directory names; then a counter. */
export function runLabels(runs: readonly RunData[]): string[] {
  const count = (xs: string[]) =>
    xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const names = runs.map((r) => r.manifest?.name ?? (basename(r.dir) || r.dir));
  const nameCount = count(names);
  const labels = names.map((n, i) => (nameCount.get(n)! > 1 ? basename(runs[i].dir) || runs[i].dir : n));
  const labelCount = count(labels);
  return labels.map((l, i) => (labelCount.get(l)! > 1 ? `${l} (${i + 1})` : l));
}

async function readAll(runDirs: readonly string[]): Promise<RunView[]> {
  if (runDirs.length === 0) throw new Error("report: no run directories given");
  const data: RunData[] = [];
  for (const dir of runDirs) data.push(await readRun(dir)); // in order: the first bad directory is reported
  const labels = runLabels(data);
  return data.map((d, i) => ({ label: labels[i], color: runColor(i), data: d }));
}

function plotRuns(views: readonly RunView[]): PlotRun[] {
  return views.map((v) => {
    const train = v.data.config?.train as { grad_clip?: unknown } | undefined;
    const gradClip = typeof train?.grad_clip === "number" ? train.grad_clip : undefined;
    return { label: v.label, color: v.color, train: v.data.train, val: v.data.val, gradClip };
  });
}

/**
 * Renders one HTML report for `runDirs` (one run, or several overlaid and compared). Throws
 * {@link RunDirError} for a directory that does not exist or has no `metrics.jsonl`.
 */
export async function renderReport(runDirs: string[], opts: ReportOptions = {}): Promise<string> {
  const runs = await readAll(runDirs);
  const title = opts.title ??
    (runs.length === 1 ? `Training report: ${runs[0].label}` : `Comparison of ${runs.length} runs`);
  return defangUrls(renderPage({ title, runs, figures: figuresOf(runs, opts) }));
}

function figuresOf(runs: readonly RunView[], opts: FigureOptions): Figure[] {
  const doc = newDocument();
  const detailRuns = runs.map((r) => ({ label: r.label, detail: r.data.detail, train: r.data.train }));
  return [
    ...buildFigures(doc, plotRuns(runs), opts),
    ...buildDetailFigures(doc, detailRuns, opts.width),
    ...buildLayerFigures(doc, detailRuns, opts.width),
  ];
}

/**
 * Every figure of the report of `runDirs` as a standalone SVG document, by figure id (`loss`, `grad_norm`,
 * `grad_flow`, …); figures without data are left out. For papers and READMEs.
 */
export async function reportFigureSvgs(
  runDirs: string[],
  opts: FigureOptions = {},
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of figuresOf(await readAll(runDirs), opts)) {
    const svg = f.svg === null ? null : standaloneSvg(f.svg);
    if (svg !== null) out.set(f.id, svg);
  }
  return out;
}

/**
 * Renders the report and writes it to `outPath` atomically (a temporary file in the same folder, renamed over
 * the target), creating the folder if needed. A reader never sees a half-written report.
 */
export async function writeReport(
  runDirs: string[],
  outPath: string,
  opts: ReportOptions = {},
): Promise<void> {
  const html = await renderReport(runDirs, opts);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFileAtomic(outPath, html);
}

/** The loss panel of `runDirs` as a standalone SVG document (for a README). Throws when no run logged a loss. */
export async function lossFigureSvg(runDirs: string[], opts: FigureOptions = {}): Promise<string> {
  const runs = await readAll(runDirs);
  const svg = buildLossFigure(newDocument(), plotRuns(runs), opts);
  if (svg === null) throw new Error(`report: no loss values in ${runDirs.join(", ")}`);
  return defangUrls(svg) + "\n";
}
