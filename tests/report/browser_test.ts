/**
 * Opens every report type in headless Chromium (where `/usr/bin/chromium` is installed: Debian's `chromium`):
 * a run report, a comparison report, the two analysis pages and a sweep report. Fails on any console message (the only script is
 * the reports' hover read-out, which logs nothing) or a figure without a drawing, saves screenshots to
 * `tests/artifacts/`, and checks that the hover read-out shows values under a (synthetic) pointer.
 */
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { writeReport } from "../../lib/report/report.ts";
import { writeSweepReport } from "../../lib/report/sweep.ts";
import { expandSweep, validateSweep } from "../../lib/experiment/sweep.ts";
import { pendingStatus } from "../../lib/report/sweepdir.ts";
import { finalMetrics, writeStatus } from "../../lib/experiment/sweep_trial.ts";
import { renderAnalysisPage } from "../../lib/report/analysis.ts";
import { attentionMaps, headStatistics, sampleWindows } from "../../lib/analysis/attention.ts";
import { embeddingWeights, projectEmbeddings } from "../../lib/analysis/embeddings.ts";
import { tokenLabel } from "../../lib/analysis/tokens.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import type { GPT } from "../../lib/nn/models/gpt.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { CHROMIUM, chromiumRunnable, headless } from "../_helpers/chromium.ts";

const canRun = chromiumRunnable() && Deno.permissions.querySync({ name: "write" }).state === "granted";

/** Writes a sweep folder whose trials are the finished runs `runDirs` (trial i = configuration i, seed 1). */
async function writeSweepOf(dir: string, runDirs: string[]): Promise<void> {
  const spec = validateSweep(
    {
      name: "browser",
      base: join(Deno.cwd(), "configs", "tiny.jsonc"),
      grid: { "model.norm": ["layernorm", "rmsnorm"].slice(0, runDirs.length) },
      seeds: [1],
    },
    join(dir, "s.jsonc"),
  );
  const trials = expandSweep(spec, dir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "sweep.json"), JSON.stringify({ ...spec, trials }));
  for (const [i, t] of trials.entries()) {
    await writeStatus(join(dir, `trial-${i}`), {
      ...pendingStatus(t),
      status: "completed",
      run_dir: runDirs[i],
      metrics: await finalMetrics(runDirs[i]),
      step: 20,
    });
  }
}

/** The DOM of `url` after its scripts ran (`--dump-dom`). */
async function dumpDom(url: string): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "lcm-chromium-" });
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: [...headless(profile), "--window-size=1000,2400", "--dump-dom", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertTrue(out.success, `chromium exited with ${out.code}`);
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

/** Screenshot of `html` (a file) into `png`; returns the console lines Chromium logged. */
async function openInChromium(html: string, png: string): Promise<string[]> {
  const profile = await Deno.makeTempDir({ prefix: "lcm-chromium-" });
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        ...headless(profile),
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1000,2400",
        `--screenshot=${png}`,
        `file://${html}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertTrue(out.success, `chromium exited with ${out.code}`);
    return new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.includes(":CONSOLE"));
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

Deno.test({
  name: "every report type opens in headless Chromium with no console message and no empty figure",
  ignore: !canRun,
  async fn() {
    const corpus = await makeCodeCorpus();
    const out = await Deno.makeTempDir({ prefix: "lcm-browser-" });
    const sets = [`data.paths=["${corpus}"]`, `run.out_dir=${out}`, "train.log_interval_detail=5"];
    const a = await runExperiment({
      config: loadConfig({ path: "configs/tiny.jsonc", sets }).config,
      noReport: true,
    });
    const b = await runExperiment({
      config: loadConfig({
        path: "configs/tiny.jsonc",
        sets: [...sets, "train.seed=7", "run.name=tiny-b", "train.layer_lr_decay=0.8"],
      }).config,
      noReport: true,
    });
    await Deno.writeTextFile(
      join(a.runDir, "eval.json"),
      JSON.stringify({ "code/val": { ppl: 30, bpb: 4.9 } }),
    );
    const pages: Record<string, string> = {
      "run-report": join(out, "run.html"),
      "comparison-report": join(out, "compare.html"),
      "analysis-attention": join(a.runDir, "analysis-attention.html"),
      "analysis-embeddings": join(a.runDir, "analysis-embeddings.html"),
      "sweep-report": join(out, "sweep", "report.html"),
    };
    await writeReport([a.runDir], pages["run-report"]);
    await writeReport([a.runDir, b.runDir], pages["comparison-report"]);
    // a sweep folder over the two runs (as if a sweep had run them: two configurations, one seed each)
    await writeSweepOf(join(out, "sweep"), [a.runDir, b.runDir]);
    await writeSweepReport(join(out, "sweep"));
    // the two analysis pages, built as `deno task analyze` builds them
    const { model, tokenizer } = await loadRun(a.runDir);
    const gpt = model as GPT, ids = tokenizer.encode("export function add(a: number, b: number) {");
    const maps = attentionMaps(gpt, ids.slice(0, 16));
    const stats = headStatistics(
      gpt,
      sampleWindows(tokenizer.encode(await Deno.readTextFile(join(corpus, "file02.ts"))), 32, 6),
      {
        inductionSequences: 2,
      },
    );
    const labels = Array.from(maps.ids, (id) => tokenLabel(tokenizer, id));
    await Deno.writeTextFile(
      pages["analysis-attention"],
      renderAnalysisPage({
        title: "attention",
        attention: { labels, maps: maps.maps, zoom: { layer: 0, head: 0 } },
        stats,
      }),
    );
    const emb = projectEmbeddings(embeddingWeights(gpt), tokenizer, { method: "pca" });
    await Deno.writeTextFile(
      pages["analysis-embeddings"],
      renderAnalysisPage({ title: "embeddings", embeddings: { ...emb, method: "PCA" } }),
    );
    await Deno.mkdir("tests/artifacts", { recursive: true });
    for (const [name, path] of Object.entries(pages)) {
      const html = await Deno.readTextFile(path);
      // each figure of the page (Plot's own <figure> wrappers, around a legend and its svg, are inside them)
      const figures = html.split(/<figure id="|<figure class="(?!plot)/).slice(1).map((f) =>
        f.slice(0, f.indexOf("<figcaption"))
      );
      assertTrue(figures.length > 0, `${name}: no figures`);
      for (const f of figures) assertTrue(f.includes("<svg"), `${name}: a figure without a drawing`);
      const png = join("tests", "artifacts", `${name}.png`);
      assertEquals(await openInChromium(await Deno.realPath(path), png), [], `${name}: console messages`);
      assertTrue((await Deno.stat(png)).size > 5000, `${name}: the screenshot is (nearly) empty`);
      if (name === "run-report" || name === "comparison-report") {
        // the hover read-out: a synthetic pointer over the middle of the first panel
        const dom = await dumpDom(`file://${await Deno.realPath(path)}#hover-selftest`);
        const m = /data-hover-selftest="([^"]*)"/.exec(dom);
        assertTrue(m !== null, `${name}: the hover script did not run`);
        assertTrue(/^\d+ panels; step \d+.*loss.*\d/.test(m[1]), `${name}: hover read-out "${m[1]}"`);
      }
    }
  },
});
