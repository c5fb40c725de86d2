import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseHTML } from "linkedom";
import { lossFigureSvg, renderReport, writeReport } from "../../lib/report/report.ts";
import { RunDirError } from "../../lib/report/rundir.ts";
import type { HoverData } from "../../lib/report/hover.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { writeSyntheticRun } from "./_synth.ts";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/runs/${name}`, import.meta.url));
const TINY_A = fixture("tiny-a"), TINY_B = fixture("tiny-b");
const PANELS = 5; // loss, perplexity, learning rate, grad norm, tokens/s

const count = (s: string, sub: string) => s.split(sub).length - 1;

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "report-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every http(s) URL in `s` other than the SVG/XLink namespace names. */
function externalUrls(s: string): string[] {
  const ok = new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"]);
  return (s.match(/https?:\/\/[^\s"'<>)]*/gi) ?? []).filter((u) => !ok.has(u));
}

Deno.test("one run: one <svg> per panel, each standalone, and nothing external", async () => {
  const html = await renderReport([TINY_A]);
  assertEquals(count(html, "<svg"), PANELS);
  assertEquals(count(html, '<svg xmlns="http://www.w3.org/2000/svg"'), PANELS);
  assertEquals(externalUrls(html), []);
  // script: only the one inline hover script and the panels' JSON data, nothing loaded
  const scripts = html.match(/<script[^>]*>/gi) ?? [];
  assertEquals(scripts.filter((t) => t === "<script>").length, 1, "one inline script");
  assertTrue(
    scripts.every((t) => t === "<script>" || t === '<script type="application/json" class="hover-data">'),
  );
  assertTrue(!/<link/i.test(html), "no <link>");
  assertTrue(!/\ssrc=/i.test(html), "no src= attribute");
  for (const id of ["loss", "perplexity", "lr", "grad_norm", "tokens_per_s"]) {
    assertTrue(html.includes(`id="fig-${id}"`), `figure ${id}`);
  }
});

Deno.test("one run: each line panel carries its hover data (scales and series) as JSON", async () => {
  const html = await renderReport([TINY_A]);
  const { document } = parseHTML(html);
  const data = document.querySelector("#fig-loss script.hover-data");
  assertTrue(data !== null, "loss hover data");
  const hover = JSON.parse(data.textContent ?? "") as HoverData;
  assertEquals(hover.x.type, "linear");
  assertTrue(hover.series.some((s) => s.label === "val loss"), "val loss series");
  for (const s of hover.series) {
    assertEquals(s.xs.length, s.ys.length);
    assertTrue(s.xs.every((x, i) => i === 0 || x > s.xs[i - 1]), "steps ascending");
  }
  // the x range is the plot's frame in SVG units: inside the 900-px figure
  assertTrue(hover.x.range[0] >= 0 && hover.x.range[1] <= 900 && hover.x.range[0] < hover.x.range[1]);
  const ppl = JSON.parse(document.querySelector("#fig-perplexity script.hover-data")!.textContent ?? "");
  assertEquals((ppl as HoverData).y.type, "log");
});

Deno.test("one run: header facts, config table, escaped samples", async () => {
  const html = await renderReport([TINY_A]);
  for (const s of ["tiny-a", "completed", "104,512", "1.2431", "3.47", "1.3512", "0123456789abcdef"]) {
    assertTrue(html.includes(s), `header shows ${s}`);
  }
  assertTrue(html.includes("<th>model.n_layer</th><td>2</td>"), "config as flattened key paths");
  // samples.txt holds `<script>alert("x")</script> & more` and a URL: shown as text, never as markup
  assertTrue(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"), "escaped sample");
  assertTrue(html.includes("https&#58;//example.com/docs"), "URL in a sample shown but not linkable");
});

Deno.test("two runs: overlaid panels with a legend and a config diff of only the differing keys", async () => {
  const html = await renderReport([TINY_A, TINY_B]);
  assertEquals(count(html, "<svg"), PANELS);
  assertEquals(externalUrls(html), []);
  const { document } = parseHTML(html);
  const diff = document.querySelector("table.diff");
  assertTrue(diff !== null, "diff table present");
  const keys = [...diff.querySelectorAll("tbody th")].map((th) => th.textContent);
  assertEquals(keys, ["model.n_layer", "train.learning_rate"]);
  // both manifests say "tiny": labels fall back to the directory names, in every legend
  const legend = document.querySelector("#fig-loss g[aria-label=legend]");
  assertTrue(legend !== null, "loss legend");
  const labels = [...legend.querySelectorAll("text")].map((t) => t.textContent);
  assertTrue(labels.includes("tiny-a") && labels.includes("tiny-b"), `legend labels ${labels}`);
});

Deno.test("a truncated last metrics line is tolerated and noted", async () => {
  const html = await renderReport([TINY_B]);
  assertTrue(html.includes("skipped 1 malformed line (line 28)"), "note about the cut-off line");
  assertEquals(count(html, "<svg"), PANELS);
});

Deno.test("missing run dir or missing metrics.jsonl → RunDirError naming the path", async () => {
  const e1 = await assertRejects(
    () => renderReport([TINY_A, "no/such/run"]),
    "no/such/run: not a run directory",
  );
  assertTrue(e1 instanceof RunDirError);
  const dir = fixture("no-metrics");
  const e2 = await assertRejects(() => renderReport([dir]), `${dir}: not a run directory (no metrics.jsonl)`);
  assertTrue(e2 instanceof RunDirError);
});

Deno.test("a run with only metrics.jsonl renders, with notes for the missing files", async () => {
  await withTemp(async (tmp) => {
    const dir = await writeSyntheticRun(join(tmp, "bare"), {
      trainPoints: 50,
      evalEvery: 10,
      withMeta: false,
    });
    const html = await renderReport([dir]);
    assertEquals(count(html, "<svg"), PANELS);
    assertTrue(html.includes("config.json is missing."), "config note");
    assertTrue(html.includes("manifest.json is missing."), "manifest note");
    assertTrue(html.includes("No samples.txt."), "samples note");
  });
});

Deno.test("a panel without data is left out rather than drawn empty", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "lossonly");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "metrics.jsonl"), '{"step":1,"split":"train","loss":3}\n');
    const html = await renderReport([dir]);
    assertEquals(count(html, "<svg"), 2); // loss and perplexity
    assertEquals(count(html, "No run logged this."), 3);
  });
});

Deno.test("writeReport writes the file and leaves no temp file behind", async () => {
  await withTemp(async (tmp) => {
    const out = join(tmp, "sub", "report.html");
    await writeReport([TINY_A, TINY_B], out);
    assertEquals(await readdir(join(tmp, "sub")), ["report.html"]);
    assertTrue((await Deno.readTextFile(out)).startsWith("<!doctype html>"));
    await assertRejects(() => writeReport(["no/such/run"], join(tmp, "x.html")), "not a run directory");
    assertEquals((await readdir(tmp)).sort(), ["sub"]);
  });
});

Deno.test("lossFigureSvg is one standalone SVG document", async () => {
  const svg = await lossFigureSvg([TINY_A, TINY_B]);
  assertTrue(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), svg.slice(0, 80));
  assertEquals(count(svg, "<svg"), 1);
  assertEquals(externalUrls(svg), []);
  const doc = new (parseHTML("").DOMParser)().parseFromString(svg, "image/svg+xml");
  assertEquals(doc.documentElement?.tagName.toLowerCase(), "svg");
});

Deno.test("2000 train points per run render well under 2 s, thinned to <= 1000 points per line", async () => {
  await withTemp(async (tmp) => {
    const a = await writeSyntheticRun(join(tmp, "a"), { trainPoints: 2000, name: "a" });
    const b = await writeSyntheticRun(join(tmp, "b"), { trainPoints: 2000, name: "b", seed: 2, lr: 1e-3 });
    const t0 = performance.now();
    const html = await renderReport([a, b]);
    const ms = performance.now() - t0;
    assertTrue(ms < 2000, `took ${ms.toFixed(0)} ms`);
    const { document } = parseHTML(html);
    for (const path of document.querySelectorAll("svg path")) {
      const points = (path.getAttribute("d") ?? "").split(/[ML]/).length - 1;
      assertTrue(points <= 1000, `a line has ${points} points`);
    }
  });
});

Deno.test("runs that log masked_accuracy or exact_match get an accuracy panel; others get none", async () => {
  await withTemp(async (tmp) => {
    const dir = join(tmp, "bertlike");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(
      join(dir, "metrics.jsonl"),
      '{"step":1,"split":"train","loss":3}\n{"step":1,"split":"val","loss":3,"masked_accuracy":0.25}\n' +
        '{"step":2,"split":"val","loss":2,"masked_accuracy":0.5}\n',
    );
    const html = await renderReport([dir]);
    assertTrue(
      html.includes("Validation accuracy") && html.includes("masked accuracy 0.5"),
      "accuracy panel",
    );
    const plain = join(tmp, "gptlike");
    await Deno.mkdir(plain);
    await Deno.writeTextFile(join(plain, "metrics.jsonl"), '{"step":1,"split":"train","loss":3}\n');
    assertTrue(!(await renderReport([plain])).includes("Validation accuracy"), "no accuracy panel");
  });
});
