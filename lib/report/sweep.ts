/**
 * The sweep report (`deno task report <sweep dir>`, also written at the end of `deno task sweep`): a table of
 * trials (the varied keys, seed, status, final and best metric, steps, time) also written as `trials.csv`; the
 * configurations ranked by their mean over seeds with a 95% t-interval (`summary.md`); a parallel-coordinates
 * plot of hyperparameters against the metric; validation curves grouped by configuration with the mean and a
 * min–max band across seeds; and for each pair of configurations that differ in one key, the difference in the
 * metric with a 95% confidence interval from a paired t-test across seeds (seed i of one against seed i of the
 * other: same data order and initialisation stream).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as Plot from "@observablehq/plot";
import { meanInterval, pairedDifference } from "../eval/stats.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { newDocument } from "./dom.ts";
import { defangUrls, escapeHtml } from "./escape.ts";
import { runColor } from "./figures.ts";
import { parseMetrics } from "./metrics.ts";
import { BASE_CSS } from "./style.ts";
import {
  metricOf,
  pendingStatus,
  readStatus,
  readSweepFile,
  type SweepFile,
  type Trial,
  trialDir,
  type TrialStatus,
} from "./sweepdir.ts";

/** A trial with its status and validation curve. */
export interface SweepTrialView {
  /** The trial. */
  trial: Trial;
  /** Its status (pending when it has none). */
  status: TrialStatus;
  /** The ranking metric (completed trials). */
  value: number | undefined;
  /** Validation loss by step, from its run's metrics.jsonl. */
  curve: { step: number; loss: number }[];
}

/** One configuration (a point of the sweep) over its seeds. */
export interface ConfigView {
  /** 0-based configuration index. */
  config: number;
  /** Its varied values. */
  point: Record<string, unknown>;
  /** Its trials, in seed order. */
  trials: SweepTrialView[];
  /** Mean, sd and 95% t-interval of the metric over completed seeds (null when none completed). */
  stats: { n: number; mean: number; std: number; lo: number; hi: number } | null;
}

/** A one-key comparison of two configurations. */
export interface PairComparison {
  /** The key they differ in. */
  key: string;
  /** Its value in `a` and `b`. */
  values: [unknown, unknown];
  /** The two configurations. */
  a: number;
  /** Second configuration. */
  b: number;
  /** Seeds both completed. */
  n: number;
  /** Mean of metric(a) − metric(b) over those seeds; CI and p from a paired t-test (NaN when n < 2). */
  diff: number;
  /** Lower end of the 95% interval. */
  lo: number;
  /** Upper end of the 95% interval. */
  hi: number;
  /** Two-sided p-value. */
  p: number;
}

/** Everything the report shows. */
export interface SweepView {
  /** The sweep folder. */
  dir: string;
  /** The resolved sweep. */
  sweep: SweepFile;
  /** The varied keys (grid and random), in order. */
  keys: string[];
  /** Every trial. */
  trials: SweepTrialView[];
  /** Configurations, best first (by mean metric; those without a completed seed last). */
  configs: ConfigView[];
  /** One-key comparisons. */
  pairs: PairComparison[];
}

function fmtValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

// a Markdown table cell: pipes escaped
function mdCell(s: string): string {
  return s.replaceAll("|", "\\|");
}

function fmt(x: number | undefined | null, digits = 4): string {
  return x === undefined || x === null || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}

/** Reads a sweep folder: sweep.json, every trial's status.json and validation curve. */
export async function readSweep(dir: string): Promise<SweepView> {
  const sweep = await readSweepFile(dir);
  const keys = [...new Set(sweep.trials.flatMap((t) => Object.keys(t.point)))];
  const trials: SweepTrialView[] = [];
  for (const t of sweep.trials) {
    const status = await readStatus(trialDir(dir, t.index)) ?? pendingStatus(t);
    let curve: SweepTrialView["curve"] = [];
    if (status.run_dir !== null) {
      try {
        const m = parseMetrics(await readFile(join(status.run_dir, "metrics.jsonl"), "utf8"));
        curve = m.val.filter((v) => v.loss !== undefined).map((v) => ({ step: v.step, loss: v.loss! }));
      } catch { /* no metrics yet */ }
    }
    trials.push({ trial: t, status, value: metricOf(t, status, sweep.metric), curve });
  }
  const byConfig = new Map<number, SweepTrialView[]>();
  for (const v of trials) byConfig.set(v.trial.config, [...(byConfig.get(v.trial.config) ?? []), v]);
  const configs: ConfigView[] = [...byConfig.entries()].map(([config, ts]) => {
    const values = ts.map((t) => t.value).filter((x): x is number => x !== undefined);
    return {
      config,
      point: ts[0].trial.point,
      trials: ts,
      stats: values.length > 0 ? meanInterval(values) : null,
    };
  });
  const sign = sweep.mode === "min" ? 1 : -1;
  configs.sort((a, b) =>
    a.stats === null
      ? (b.stats === null ? a.config - b.config : 1)
      : b.stats === null
      ? -1
      : sign * (a.stats.mean - b.stats.mean)
  );
  return { dir, sweep, keys, trials, configs, pairs: comparisons(keys, configs) };
}

/** Pairs of configurations that differ in exactly one key, with a paired t-test across shared seeds. */
export function comparisons(keys: readonly string[], configs: readonly ConfigView[]): PairComparison[] {
  const out: PairComparison[] = [];
  const sorted = [...configs].sort((a, b) => a.config - b.config);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const A = sorted[i], B = sorted[j];
      const differing = keys.filter((k) => JSON.stringify(A.point[k]) !== JSON.stringify(B.point[k]));
      if (differing.length !== 1) continue;
      const bySeed = new Map(B.trials.map((t) => [t.trial.seed, t.value]));
      const a: number[] = [], b: number[] = [];
      for (const t of A.trials) {
        const vb = bySeed.get(t.trial.seed);
        if (t.value !== undefined && vb !== undefined) a.push(t.value), b.push(vb);
      }
      const key = differing[0];
      const base = {
        key,
        values: [A.point[key], B.point[key]] as [unknown, unknown],
        a: A.config,
        b: B.config,
      };
      if (a.length === 0) {
        out.push({ ...base, n: 0, diff: NaN, lo: NaN, hi: NaN, p: NaN });
        continue;
      }
      const d = pairedDifference(a, b);
      out.push({ ...base, n: d.n, diff: d.diff, lo: d.lo, hi: d.hi, p: d.p });
    }
  }
  return out;
}

const CSV_FIXED = [
  "trial",
  "config",
  "seed",
  "status",
  "metric",
  "value",
  "best_val_loss",
  "val_loss",
  "steps",
  "seconds",
  "error",
];

function csvCell(v: unknown): string {
  const s = v === undefined || v === null
    ? ""
    : typeof v === "string"
    ? v
    : typeof v === "number"
    ? String(v)
    : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The trials table as CSV (RFC 4180 quoting): one row per trial, the varied keys as columns. */
export function sweepCsv(v: SweepView): string {
  const head = ["trial", "config", ...v.keys, ...CSV_FIXED.slice(2)];
  const rows = v.trials.map((t) => [
    t.trial.index,
    t.trial.config,
    ...v.keys.map((k) => t.trial.point[k]),
    t.trial.seed,
    t.status.status,
    v.sweep.metric,
    t.value,
    t.status.metrics?.best_val_loss,
    t.status.metrics?.val_loss,
    t.status.step,
    t.status.elapsed_s,
    t.status.error,
  ]);
  return [head, ...rows].map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

/** Markdown: configurations ranked by mean metric, with sd, 95% interval and how many seeds completed. */
export function sweepSummary(v: SweepView): string {
  const m = v.sweep.metric;
  const head = `| ${[...v.keys, "seeds done", `${m} mean`, "sd", "95% CI", "not completed"].join(" | ")} |`;
  const line = `|${[...v.keys, 1, 2, 3, 4, 5].map(() => " --- ").join("|")}|`;
  const body = v.configs.map((c) => {
    const s = c.stats;
    return `| ${
      [
        ...v.keys.map((k) => mdCell(fmtValue(c.point[k]))),
        String(s?.n ?? 0),
        fmt(s?.mean),
        fmt(s?.std),
        s && Number.isFinite(s.lo) ? `[${fmt(s.lo)}, ${fmt(s.hi)}]` : "–",
        String(c.trials.length - (s?.n ?? 0)),
      ].join(" | ")
    } |`;
  });
  const pairs = v.pairs.map((p) =>
    `- ${p.key}: ${fmtValue(p.values[0])} − ${fmtValue(p.values[1])} (${describePoint(v, p)}): ` +
    (p.n === 0
      ? "no seed completed in both"
      : `${fmt(p.diff)} (95% CI ${
        Number.isFinite(p.lo) ? `[${fmt(p.lo)}, ${fmt(p.hi)}]` : "– (one seed)"
      }, ` +
        `p ${Number.isFinite(p.p) ? p.p.toPrecision(2) : "–"}, n ${p.n})`)
  );
  return [
    head,
    line,
    ...body,
    ...(pairs.length > 0
      ? [
        "",
        `Differences in ${m} between configurations that differ in one key (paired t-test across seeds):`,
        "",
        ...pairs,
      ]
      : []),
  ].join("\n");
}

// the shared values of a pair (its other keys), e.g. `model.position=rope`
function describePoint(v: SweepView, p: PairComparison): string {
  const a = v.configs.find((c) => c.config === p.a)!;
  const rest = v.keys.filter((k) => k !== p.key).map((k) => `${k}=${fmtValue(a.point[k])}`);
  return rest.length > 0 ? rest.join(", ") : "no other key";
}

function configLabel(v: SweepView, point: Record<string, unknown>): string {
  return v.keys.map((k) => `${k.split(".").pop()}=${fmtValue(point[k])}`).join(" ") || "base";
}

/** Parallel coordinates: one line per completed trial across the varied keys and the metric, coloured by it. */
function parallelSvg(doc: Document, v: SweepView): string | null {
  const done = v.trials.filter((t) => t.value !== undefined);
  if (done.length === 0 || v.keys.length === 0) return null;
  const axes = [...v.keys, v.sweep.metric];
  const valueOf = (t: SweepTrialView, k: string): unknown =>
    k === v.sweep.metric ? t.value : t.trial.point[k];
  // each axis maps to [0, 1]: numbers linearly (log when positive over more than a factor of 20), others evenly
  const scales = axes.map((k) => {
    const vals = done.map((t) => valueOf(t, k));
    if (vals.every((x) => typeof x === "number")) {
      const xs = vals as number[];
      const lo = Math.min(...xs), hi = Math.max(...xs);
      const log = lo > 0 && hi / lo > 20;
      const f = (x: number) => (log ? Math.log(x) : x);
      const span = f(hi) - f(lo);
      return {
        pos: (x: unknown) => (span === 0 ? 0.5 : (f(x as number) - f(lo)) / span),
        ticks: [...new Set([lo, hi])].map((x) => ({
          at: span === 0 ? 0.5 : (f(x) - f(lo)) / span,
          text: fmtNum(x),
        })),
      };
    }
    const cats = [...new Set(vals.map(fmtValue))];
    const at = (c: string) => (cats.length === 1 ? 0.5 : cats.indexOf(c) / (cats.length - 1));
    return { pos: (x: unknown) => at(fmtValue(x)), ticks: cats.map((c) => ({ at: at(c), text: c })) };
  });
  const lines = done.flatMap((t) =>
    axes.map((k, i) => ({ trial: t.trial.index, axis: k, y: scales[i].pos(valueOf(t, k)), value: t.value! }))
  );
  const ticks = axes.flatMap((k, i) => scales[i].ticks.map((tk) => ({ axis: k, y: tk.at, text: tk.text })));
  const svg = Plot.plot({
    document: doc,
    width: 900,
    height: 340,
    marginTop: 30,
    marginLeft: 40,
    marginRight: 90,
    marginBottom: 40,
    style: { background: "white", color: "#222", fontSize: "11px" },
    x: { type: "point", domain: axes, label: null, tickFormat: (k: string) => k },
    y: { domain: [0, 1], axis: null },
    color: {
      type: "linear",
      scheme: v.sweep.mode === "min" ? "viridis" : "magma",
      reverse: v.sweep.mode === "min",
      legend: false,
    },
    marks: [
      Plot.ruleX(axes, { stroke: "#999" }),
      Plot.line(lines, {
        x: "axis",
        y: "y",
        z: "trial",
        stroke: "value",
        strokeWidth: 1.6,
        strokeOpacity: 0.85,
        title: (d: { trial: number; value: number }) => `trial ${d.trial}: ${v.sweep.metric} ${fmt(d.value)}`,
      }),
      Plot.dot(ticks, { x: "axis", y: "y", r: 2, fill: "#555" }),
      Plot.text(ticks, { x: "axis", y: "y", text: "text", dx: 6, textAnchor: "start", fill: "#333" }),
    ],
  });
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return svg.outerHTML;
}

function fmtNum(x: number): string {
  return Math.abs(x) >= 1000 || (Math.abs(x) < 1e-3 && x !== 0)
    ? x.toExponential(2)
    : String(Number(x.toPrecision(4)));
}

/** Validation loss by step per configuration: mean over seeds (line) and min–max band. */
function curvesSvg(doc: Document, v: SweepView): string | null {
  const rows: { config: string; step: number; mean: number; lo: number; hi: number }[] = [];
  const labels: string[] = [];
  for (const c of [...v.configs].sort((a, b) => a.config - b.config)) {
    const bySteps = new Map<number, number[]>();
    // completed seeds only: a diverged or unfinished seed would make the mean jump where it stops
    for (const t of c.trials.filter((t) => t.value !== undefined)) {
      for (const p of t.curve) bySteps.set(p.step, [...(bySteps.get(p.step) ?? []), p.loss]);
    }
    if (bySteps.size === 0) continue;
    const label = configLabel(v, c.point);
    labels.push(label);
    for (const [step, xs] of [...bySteps.entries()].sort((a, b) => a[0] - b[0])) {
      rows.push({
        config: label,
        step,
        mean: xs.reduce((a, b) => a + b, 0) / xs.length,
        lo: Math.min(...xs),
        hi: Math.max(...xs),
      });
    }
  }
  if (rows.length === 0) return null;
  const colors = labels.map((_, i) => runColor(i));
  const svg = Plot.plot({
    document: doc,
    width: 900,
    height: 380,
    marginLeft: 60,
    marginTop: 20,
    style: { background: "white", color: "#222", fontSize: "11px" },
    x: { label: "step", labelAnchor: "right", grid: true },
    y: { label: "val loss", grid: true },
    color: { domain: labels, range: colors, legend: true },
    marks: [
      // z named: Plot guesses the series from the colour and warns when most have one point (short trials)
      Plot.areaY(rows, { x: "step", y1: "lo", y2: "hi", z: "config", fill: "config", fillOpacity: 0.15 }),
      Plot.lineY(rows, { x: "step", y: "mean", z: "config", stroke: "config", strokeWidth: 1.8 }),
      Plot.dot(rows, {
        x: "step",
        y: "mean",
        fill: "config",
        r: 2,
        title: (d: { config: string; step: number; mean: number; lo: number; hi: number }) =>
          `${d.config}\nstep ${d.step}\nmean ${fmt(d.mean)} (seeds ${fmt(d.lo)} … ${fmt(d.hi)})`,
      }),
    ],
  });
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return svg.outerHTML;
}

const CSS = `${BASE_CSS}
th, td { text-align: left; vertical-align: top; }
td.num { text-align: right; }
.status-completed { color: #1a7f37; } .status-failed, .status-diverged { color: #cf222e; }
.status-running, .status-timeout, .status-cancelled, .status-pending { color: #9a6700; }
td.err { font-family: system-ui, sans-serif; color: #9a6700; max-width: 340px; overflow-wrap: anywhere; }
tr.best td { background: #eef7ee; }
`;

/** The report page. */
export function renderSweepPage(v: SweepView): string {
  const doc = newDocument();
  const m = v.sweep.metric;
  const done = v.trials.filter((t) => t.status.status === "completed").length;
  const trialRows = v.trials.map((t) => {
    const s = t.status;
    return `<tr><td class="num">${t.trial.index}</td>${
      v.keys.map((k) => `<td>${escapeHtml(fmtValue(t.trial.point[k]))}</td>`).join("")
    }` +
      `<td class="num">${t.trial.seed}</td><td class="status-${escapeHtml(s.status)}">${
        escapeHtml(s.status)
      }${
        s.status === "diverged" && s.step !== null ? ` (step ${escapeHtml(String(s.step))})` : ""
      }</td><td class="num">${fmt(t.value)}</td><td class="num">${fmt(s.metrics?.best_val_loss)}</td>` +
      `<td class="num">${escapeHtml(String(s.step ?? "–"))}</td><td class="num">${
        escapeHtml(String(s.elapsed_s ?? "–"))
      }</td><td class="err">${escapeHtml(s.error ?? "")}</td></tr>`;
  });
  const configRows = v.configs.map((c, i) => {
    const s = c.stats;
    return `<tr${i === 0 && s !== null ? ' class="best"' : ""}>${
      v.keys.map((k) => `<td>${escapeHtml(fmtValue(c.point[k]))}</td>`).join("")
    }` +
      `<td class="num">${s?.n ?? 0}/${c.trials.length}</td><td class="num">${
        fmt(s?.mean)
      }</td><td class="num">${fmt(s?.std)}</td>` +
      `<td class="num">${s && Number.isFinite(s.lo) ? `[${fmt(s.lo)}, ${fmt(s.hi)}]` : "–"}</td></tr>`;
  });
  const pairRows = v.pairs.map((p) =>
    `<tr><td>${escapeHtml(p.key)}</td><td>${
      escapeHtml(`${fmtValue(p.values[0])} − ${fmtValue(p.values[1])}`)
    }</td>` +
    `<td>${escapeHtml(describePoint(v, p))}</td><td class="num">${p.n}</td><td class="num">${
      fmt(p.diff)
    }</td>` +
    `<td class="num">${Number.isFinite(p.lo) ? `[${fmt(p.lo)}, ${fmt(p.hi)}]` : "–"}</td>` +
    `<td class="num">${Number.isFinite(p.p) ? p.p.toPrecision(2) : "–"}</td></tr>`
  );
  const par = parallelSvg(doc, v), curves = curvesSvg(doc, v);
  const keyHeads = v.keys.map((k) => `<th>${escapeHtml(k)}</th>`).join("");
  return defangUrls(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sweep report: ${escapeHtml(v.sweep.name)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Sweep report: ${escapeHtml(v.sweep.name)}</h1>
<p class="sub">${v.trials.length} trials (${v.configs.length} configurations × ${v.sweep.seeds.length} seeds), ${done} completed ·
ranked by ${escapeHtml(m)} (${escapeHtml(String(v.sweep.mode))}) · ${escapeHtml(v.dir)}</p>
<h2 id="configurations">Configurations</h2>
<p class="sub">Mean of ${
    escapeHtml(m)
  } over the seeds that completed, sample sd, and a 95% t-interval of the mean; best first.</p>
<table><thead><tr>${keyHeads}<th>seeds</th><th>mean</th><th>sd</th><th>95% CI</th></tr></thead>
<tbody>${configRows.join("\n")}</tbody></table>
<h2 id="differences">One-key differences</h2>
<p class="sub">For each pair of configurations that differ in exactly one key: mean over seeds of
${escapeHtml(m)}(first) − ${escapeHtml(m)}(second), with a 95% confidence interval and two-sided p from a
<b>paired t-test</b> across seeds (seed i of one against seed i of the other; only seeds both completed).
An interval that excludes 0 is a difference the seeds support.</p>
${
    pairRows.length > 0
      ? `<table><thead><tr><th>key</th><th>values</th><th>other keys</th><th>n</th><th>difference</th><th>95% CI</th><th>p</th></tr></thead>
<tbody>${pairRows.join("\n")}</tbody></table>`
      : '<p class="empty">No two configurations differ in exactly one key.</p>'
  }
<h2 id="parallel">Hyperparameters and ${escapeHtml(m)}</h2>
${
    par === null
      ? '<p class="empty">No completed trial yet.</p>'
      : `<figure id="fig-parallel">${par}<figcaption>Parallel coordinates: one line per completed trial through its value of each varied key and its
${escapeHtml(m)} (last axis); colour = ${escapeHtml(m)} (${
        v.sweep.mode === "min" ? "brighter is lower, i.e. better" : "brighter is higher, i.e. better"
      }).</figcaption></figure>`
  }
<h2 id="curves">Validation curves</h2>
${
    curves === null
      ? '<p class="empty">No validation point logged yet.</p>'
      : `<figure id="fig-curves">${curves}<figcaption>Validation loss per configuration: the mean over seeds (line) and the band from the lowest to the
highest seed at each evaluation (completed seeds only).</figcaption></figure>`
  }
<h2 id="trials">Trials</h2>
<p class="sub">Also in trials.csv next to this page.</p>
<table><thead><tr><th>#</th>${keyHeads}<th>seed</th><th>status</th><th>${
    escapeHtml(m)
  }</th><th>best val</th><th>steps</th><th>s</th><th>error</th></tr></thead>
<tbody>${trialRows.join("\n")}</tbody></table>
</body>
</html>
`);
}

/**
 * Writes `report.html`, `trials.csv` and `summary.md` into the sweep folder (each atomically); returns the
 * summary text and the paths.
 */
export async function writeSweepReport(dir: string): Promise<{ summary: string; paths: string[] }> {
  const v = await readSweep(dir);
  const summary = sweepSummary(v);
  const paths = [join(dir, "summary.md"), join(dir, "trials.csv"), join(dir, "report.html")];
  await writeFileAtomic(paths[0], summary + "\n");
  await writeFileAtomic(paths[1], sweepCsv(v));
  await writeFileAtomic(paths[2], renderSweepPage(v));
  return { summary, paths };
}
