/**
 * Reports: pure functions of run directories and sweep folders. One or more runs → a self-contained HTML page
 * with Observable Plot figures (loss, learning rate, gradient norm, per-layer statistics, samples, evaluation),
 * SVG or PNG files of each figure; a sweep folder → a ranked table, confidence intervals, paired differences
 * and curves per configuration; an analysis page of attention maps and embedding projections.
 *
 * @example Write the report of a finished run
 * ```ts
 * import { writeReport } from "@lcm/core/report";
 * await writeReport(["runs/quickstart-20260101-120000"], "runs/quickstart-20260101-120000/report.html");
 * ```
 *
 * @module
 */
export { lossFigureSvg, renderReport, reportFigureSvgs, type ReportOptions, writeReport } from "./report.ts";
export { RunDirError } from "./rundir.ts";
export type { Figure, FigureOptions } from "./figures.ts";
export { emaDebiased, trailingMean } from "./smooth.ts";
export { FIGURE_FORMATS, type FigureFormat, svgToPng, writeFigures } from "./export.ts";
export { buildDetailFigures, buildLayerFigures, type DetailRun } from "./detail.ts";
export type { DetailPoint, ParsedMetrics, TrainPoint, ValPoint } from "./metrics.ts";
export {
  type AnalysisPage,
  attentionHeadSvg,
  attentionOverviewSvg,
  type AttentionView,
  embeddingScatterSvg,
  type EmbeddingView,
  type HeadStatView,
  renderAnalysisPage,
  type StatsView,
} from "./analysis.ts";
export {
  type ConfigView,
  type PairComparison,
  readSweep,
  renderSweepPage,
  sweepCsv,
  sweepSummary,
  type SweepTrialView,
  type SweepView,
  writeSweepReport,
} from "./sweep.ts";
export {
  type Distribution,
  metricOf,
  pendingStatus,
  type RandomSearch,
  readStatus,
  readSweepFile,
  type SlurmSpec,
  SWEEP_METRICS,
  SweepError,
  type SweepFile,
  type SweepMetric,
  type SweepSpec,
  type Trial,
  trialDir,
  type TrialState,
  type TrialStatus,
} from "./sweepdir.ts";
