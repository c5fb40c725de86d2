/**
 * Training reports: one or more run directories → a self-contained HTML page with Plot figures.
 *
 * @module
 */
export { lossFigureSvg, renderReport, reportFigureSvgs, type ReportOptions, writeReport } from "./report.ts";
export { RunDirError } from "./rundir.ts";
export type { FigureOptions } from "./figures.ts";
export { emaDebiased, trailingMean } from "./smooth.ts";
