/**
 * Assembling the report page: one self-contained HTML string with inline CSS, inline SVG figures, no external
 * resource, and one inline script that only adds hover read-outs (the page reads the same without it). All text from run directories passes through {@link escapeHtml} here (figures are
 * escaped by the DOM serializer that produced them).
 *
 * @module
 */
import { configDiff, flattenConfig } from "./config.ts";
import { escapeHtml } from "./escape.ts";
import { BASE_CSS } from "./style.ts";
import { HOVER_CSS, HOVER_SCRIPT } from "./hover.ts";
import type { Figure } from "./figures.ts";
import type { RunData } from "./rundir.ts";
import { type Cell, summaryRows } from "./summary.ts";

/** A run with its display label and colour. */
export interface RunView {
  /** Unique label used in legends and column headings. */
  label: string;
  /** CSS colour of the run in every figure. */
  color: string;
  /** What was read from its directory. */
  data: RunData;
}

/** Everything on the page. */
export interface Page {
  /** Page heading and `<title>`. */
  title: string;
  /** Runs in input order. */
  runs: RunView[];
  /** Panels in display order. */
  figures: Figure[];
}

/** Characters of each run's `samples.txt` shown before truncating. */
export const SAMPLE_CHARS = 20_000;

const CSS = `${BASE_CSS}
body { max-width: 960px; }
th, td { text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; }
.note { color: #888; font-family: system-ui, sans-serif; font-size: 11px; margin-left: 6px; }
.missing { color: #aaa; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.status-completed { color: #1a7f37; } .status-failed { color: #cf222e; }
.status-running, .status-interrupted { color: #9a6700; }
ul.notes { margin: 4px 0; padding-left: 20px; color: #9a6700; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
pre.samples { background: #f6f8fa; border: 1px solid #e3e3e3; border-radius: 4px; padding: 10px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 480px; overflow: auto; font-size: 12px; }
`;

function cell(c: Cell, extraClass = ""): string {
  const cls = [c.text === "—" ? "missing" : "", extraClass].filter(Boolean).join(" ");
  const note = c.note ? `<span class="note">${escapeHtml(c.note)}</span>` : "";
  return `<td${cls ? ` class="${cls}"` : ""}>${escapeHtml(c.text)}${note}</td>`;
}

function runHead(r: RunView): string {
  return `<th><span class="sw" style="background:${escapeHtml(r.color)}"></span>${escapeHtml(r.label)}</th>`;
}

function summarySection(runs: RunView[]): string {
  const rows = summaryRows(runs.map((r) => r.data)).map((row) => {
    const cells = row.cells.map((c) =>
      cell(c, row.label === "status" ? `status-${c.text.replace(/[^a-z]/g, "")}` : "")
    );
    return `<tr><th>${escapeHtml(row.label)}</th>${cells.join("")}</tr>`;
  });
  const notes = runs.filter((r) => r.data.notes.length > 0).map((r) =>
    `<li><b>${escapeHtml(r.label)}</b>: ${r.data.notes.map(escapeHtml).join(" ")}</li>`
  );
  return `<h2>${runs.length === 1 ? "Run" : "Runs"}</h2>
<table><thead><tr><th></th>${runs.map(runHead).join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>
${notes.length > 0 ? `<ul class="notes">${notes.join("")}</ul>` : ""}`;
}

function configTable(config: unknown): string {
  const rows = flattenConfig(config).map((e) =>
    `<tr><th>${escapeHtml(e.path)}</th><td>${escapeHtml(e.value)}</td></tr>`
  );
  return `<table><tbody>${rows.join("\n")}</tbody></table>`;
}

function diffSection(runs: RunView[]): string {
  const withConfig = runs.filter((r) => r.data.config !== null);
  const lacking = runs.filter((r) => r.data.config === null).map((r) => escapeHtml(r.label));
  const lackNote = lacking.length > 0 ? `<p class="empty">No config for ${lacking.join(", ")}.</p>` : "";
  if (withConfig.length < 2) {
    return `<h2>Config differences</h2>${lackNote}<p class="empty">Fewer than two configs.</p>`;
  }
  const rows = configDiff(withConfig.map((r) => r.data.config));
  if (rows.length === 0) {
    return `<h2>Config differences</h2>${lackNote}<p class="empty">All ${withConfig.length} configs are identical.</p>`;
  }
  const body = rows.map((row) =>
    `<tr><th>${escapeHtml(row.path)}</th>${
      row.values.map((v) => cell(v === undefined ? { text: "—", note: "absent" } : { text: v })).join("")
    }</tr>`
  );
  return `<h2>Config differences</h2>${lackNote}
<table class="diff"><thead><tr><th>key</th>${withConfig.map(runHead).join("")}</tr></thead><tbody>
${body.join("\n")}
</tbody></table>`;
}

function configSection(runs: RunView[]): string {
  if (runs.length === 1) {
    const c = runs[0].data.config;
    return `<h2>Config</h2>${
      c === null ? '<p class="empty">No config file in the run directory.</p>' : configTable(c)
    }`;
  }
  const parts = runs.map((r) =>
    `<details><summary>${escapeHtml(r.label)}</summary>${
      r.data.config === null ? '<p class="empty">No config file.</p>' : configTable(r.data.config)
    }</details>`
  );
  return `<h2>Full configs</h2>${parts.join("\n")}`;
}

function figuresSection(figures: Figure[]): string {
  const parts = figures.map((f) =>
    f.svg === null
      ? `<h3>${escapeHtml(f.title)}</h3><p class="empty">No run logged this.</p>`
      : `<figure id="fig-${f.id}">${f.svg}${
        f.hover === undefined ? "" : `<script type="application/json" class="hover-data">${f.hover}</script>`
      }<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`
  );
  // a table of contents: one link per drawn figure
  const toc = figures.filter((f) => f.svg !== null).map((f) =>
    `<a href="#fig-${f.id}">${escapeHtml(f.title)}</a>`
  );
  return `<h2>Curves</h2>\n<p class="toc">${toc.join(" · ")}</p>\n${parts.join("\n")}`;
}

/** The figures `deno task eval` writes, in the order the table shows them. */
const EVAL_COLUMNS: [string, string, number][] = [
  ["ppl", "perplexity", 2],
  ["bpb", "bits/byte", 3],
  ["masked_accuracy", "masked acc.", 3],
  ["exact_match", "exact match", 3],
  ["bleu", "BLEU", 4],
  ["rouge1", "ROUGE-1", 3],
  ["rouge2", "ROUGE-2", 3],
  ["rougeL", "ROUGE-L", 3],
  ["tokens", "tokens", 0],
];

function evalSection(runs: RunView[]): string {
  const rows: string[] = [];
  for (const r of runs) {
    for (const [key, e] of Object.entries(r.data.evals ?? {})) {
      const cells = EVAL_COLUMNS.map(([k, , digits]) => {
        const v = e[k];
        return `<td>${
          typeof v === "number" && Number.isFinite(v) ? escapeHtml(v.toFixed(digits)) : "—"
        }</td>`;
      });
      const step = typeof e.checkpoint_step === "number" ? ` (step ${e.checkpoint_step})` : "";
      rows.push(
        `<tr><th>${escapeHtml(r.label)}</th><th>${escapeHtml(key + step)}</th>${cells.join("")}</tr>`,
      );
    }
  }
  if (rows.length === 0) return "";
  return `<h2>Evaluation</h2>
<p class="sub">From each run's eval.json (<code>deno task eval</code>): perplexity and bits per byte of the
text; BLEU-4 and ROUGE F1 of greedy continuations (gpt) or decodings (t5) against the real text.</p>
<table><thead><tr><th>run</th><th>text</th>${
    EVAL_COLUMNS.map(([, h]) => `<th>${escapeHtml(h)}</th>`).join("")
  }</tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>`;
}

function samplesSection(runs: RunView[]): string {
  const parts = runs.map((r) => {
    const head = runs.length > 1 ? `<h3>${escapeHtml(r.label)}</h3>` : "";
    const s = r.data.samples;
    if (s === null) return `${head}<p class="empty">No samples.txt.</p>`;
    if (s.trim() === "") return `${head}<p class="empty">samples.txt is empty.</p>`;
    const cut = s.length > SAMPLE_CHARS;
    const more = cut
      ? `<p class="empty">Showing the first ${SAMPLE_CHARS} of ${s.length} characters.</p>`
      : "";
    return `${head}<pre class="samples">${escapeHtml(cut ? s.slice(0, SAMPLE_CHARS) : s)}</pre>${more}`;
  });
  return `<h2>Samples</h2>\n${parts.join("\n")}`;
}

/** The whole page as an HTML string. */
export function renderPage(page: Page): string {
  const n = page.runs.length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}${HOVER_CSS}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p class="sub">${n === 1 ? "1 run" : `${n} runs`} · local-code-model training report</p>
${summarySection(page.runs)}
${n > 1 ? diffSection(page.runs) : ""}
${evalSection(page.runs)}
${figuresSection(page.figures)}
${configSection(page.runs)}
${samplesSection(page.runs)}
${page.figures.some((f) => f.hover !== undefined) ? `<script>${HOVER_SCRIPT}</script>` : ""}
</body>
</html>
`;
}
