/**
 * The runs table: one column per run, one row per fact (status, size, final losses, seed, dates, provenance).
 * Values come from `manifest.json` where present, else from the metrics (marked "last logged").
 *
 * @module
 */
import type { RunData } from "./rundir.ts";
import {
  formatCount,
  formatDate,
  formatDuration,
  formatLoss,
  formatPpl,
  groupDigits,
  median,
} from "./format.ts";

/** A table cell: plain text (escaped when rendered) and an optional grey remark after it. */
export interface Cell {
  /** Main text; `"—"` when unknown. */
  text: string;
  /** Grey remark, e.g. `last logged`. */
  note?: string;
}

/** One row of the runs table. */
export interface SummaryRow {
  /** Row heading. */
  label: string;
  /** One cell per run. */
  cells: Cell[];
}

const NA: Cell = { text: "—" };

function lastDefined<T>(xs: readonly T[], get: (x: T) => number | undefined): [T, number] | undefined {
  for (let i = xs.length - 1; i >= 0; i--) {
    const v = get(xs[i]);
    if (v !== undefined) return [xs[i], v];
  }
  return undefined;
}

function finalLoss(run: RunData, split: "train" | "val"): { loss: number; note?: string } | undefined {
  const fromManifest = split === "train" ? run.manifest?.final?.train_loss : run.manifest?.final?.val_loss;
  if (fromManifest !== undefined) return { loss: fromManifest };
  const last = lastDefined<{ step: number; loss?: number }>(
    split === "train" ? run.train : run.val,
    (p) => p.loss,
  );
  return last && { loss: last[1], note: `last logged, step ${last[0].step}` };
}

function lossCells(run: RunData, split: "train" | "val"): [Cell, Cell] {
  const f = finalLoss(run, split);
  if (f === undefined) return [NA, NA];
  return [{ text: formatLoss(f.loss), note: f.note }, { text: formatPpl(Math.exp(f.loss)) }];
}

function bestVal(run: RunData): Cell {
  let best: { step: number; loss: number } | undefined;
  for (const p of run.val) {
    if (p.loss !== undefined && (!best || p.loss < best.loss)) best = { step: p.step, loss: p.loss };
  }
  return best ? { text: formatLoss(best.loss), note: `step ${best.step}` } : NA;
}

function lastStep(run: RunData): Cell {
  const s = run.manifest?.final?.step;
  if (s !== undefined) return { text: groupDigits(s) };
  const last = Math.max(run.train.at(-1)?.step ?? -Infinity, run.val.at(-1)?.step ?? -Infinity); // sorted
  return Number.isFinite(last) ? { text: groupDigits(last), note: "last logged" } : NA;
}

/** Seconds from the manifest's start to its end; `undefined` while running or when either time is missing. */
function wallSeconds(run: RunData): number | undefined {
  const m = run.manifest;
  if (!m?.start_time || !m.end_time) return undefined;
  const d = (Date.parse(m.end_time) - Date.parse(m.start_time)) / 1000;
  return Number.isFinite(d) ? d : undefined;
}

/**
 * The time spent training: the `elapsed_s` of the last logged event, which the trainer carries across resumes (so
 * the time a run stood stopped does not count); the wall clock when no event logged it.
 */
function trainingTime(run: RunData): Cell {
  const el = lastDefined([...run.train, ...run.val].sort((a, b) => a.step - b.step), (p) => p.elapsed_s);
  if (el) return { text: formatDuration(el[1]) };
  const wall = wallSeconds(run);
  return wall === undefined ? NA : { text: formatDuration(wall), note: "wall clock: no elapsed_s logged" };
}

function wallClock(run: RunData): Cell {
  const wall = wallSeconds(run);
  if (wall === undefined) return NA;
  const n = run.resumes.length;
  const pauses = n === 0
    ? ""
    : n === 1
    ? ", the pause before its resume included"
    : `, the pauses before its ${n} resumes included`;
  return { text: formatDuration(wall), note: `start to end${pauses}` };
}

/**
 * The backend and threads that ran (the adapter on a GPU), noting a different backend asked for (an unavailable
 * blas falls back).
 */
function backend(run: RunData): Cell {
  const rt = run.manifest?.runtime;
  if (rt?.backend_used === undefined) return NA;
  const t = rt.threads;
  const asked = rt.backend_requested;
  const where = rt.adapter !== undefined
    ? `${rt.backend_used}, ${rt.adapter}`
    : t === undefined
    ? rt.backend_used
    : `${rt.backend_used}, ${t} thread${t > 1 ? "s" : ""}`;
  return {
    text: where,
    note: asked !== undefined && asked !== "auto" && asked !== rt.backend_used
      ? `${asked} requested`
      : undefined,
  };
}

function text(v: string | number | null | undefined, f: (x: number) => string = String): Cell {
  if (v === undefined || v === null || v === "") return NA;
  return { text: typeof v === "number" ? f(v) : v };
}

/** The rows of the runs table for `runs`, in display order. */
export function summaryRows(runs: readonly RunData[]): SummaryRow[] {
  const row = (label: string, f: (r: RunData) => Cell): SummaryRow => ({ label, cells: runs.map(f) });
  const losses = runs.map((r) => [...lossCells(r, "train"), ...lossCells(r, "val")]);
  const col = (i: number) => losses.map((l) => l[i]);
  const rows = [
    row("run dir", (r) => ({ text: r.dir })),
    row("status", (r) => text(r.manifest?.status ?? "unknown (no manifest)")),
    row("parameters", (r) => text(r.manifest?.params, formatCount)),
    row("vocab size", (r) => text(r.manifest?.vocab_size, groupDigits)),
    row("steps", lastStep),
    { label: "final train loss", cells: col(0) },
    { label: "final train perplexity", cells: col(1) },
    { label: "final val loss", cells: col(2) },
    { label: "final val perplexity", cells: col(3) },
    row("best val loss", bestVal),
    row("median tokens/s", (r) => {
      const m = median(r.train.flatMap((p) => (p.tokens_per_s === undefined ? [] : [p.tokens_per_s])));
      return m === undefined ? NA : { text: groupDigits(m) };
    }),
    row("seed", (r) => text(r.manifest?.seed)),
    row("started", (r) => text(r.manifest?.start_time && formatDate(r.manifest.start_time))),
    row("ended", (r) => text(r.manifest?.end_time && formatDate(r.manifest.end_time))),
    row("training time", trainingTime),
    row("wall clock", wallClock),
    row("train / val tokens", (r) => {
      const m = r.manifest;
      if (m?.train_tokens === undefined && m?.val_tokens === undefined) return NA;
      const f = (v: number | undefined) => (v === undefined ? "—" : groupDigits(v));
      return { text: `${f(m.train_tokens)} / ${f(m.val_tokens)}` };
    }),
    row(
      "git commit",
      (r) =>
        r.manifest?.git_commit === null
          ? { text: "—", note: "not a git checkout" }
          : text(r.manifest?.git_commit),
    ),
    row("library", (r) => {
      const l = r.manifest?.library;
      const what = [l?.name, l?.version].filter((x) => x !== undefined).join(" ");
      return what ? { text: what, note: l?.commit && `commit ${l.commit.slice(0, 12)}` } : NA;
    }),
    row("config hash", (r) => text(r.manifest?.config_hash)),
    row("data hash", (r) => text(r.manifest?.data_hash)),
    row("backend", backend),
    row("runtime", (r) => {
      const m = r.manifest;
      const rt = Object.entries(m?.versions ?? {}).map(([k, v]) => `${k} ${v}`).join(", ");
      return text(rt || (m?.deno_version && `deno ${m.deno_version}`));
    }),
  ];
  if (runs.some((r) => r.manifest?.error)) rows.push(row("error", (r) => text(r.manifest?.error)));
  return rows;
}
