/**
 * A run records what actually ran: `--backend blas` without `--allow-ffi` falls back to wasm, and manifest.json
 * and the report say wasm (and the threads used), not the blas of the config.
 *
 * @module
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { toManifest } from "../../lib/report/rundir.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { experimentWithoutFfi, ROOT, runTask } from "../_helpers/task.ts";

Deno.test("deno task experiment --backend blas without --allow-ffi records wasm in manifest.json and the report", async () => {
  const corpus = await makeCodeCorpus();
  // the task may write only under runs/
  await mkdir(join(ROOT, "runs"), { recursive: true });
  const out = await Deno.makeTempDir({ dir: join(ROOT, "runs"), prefix: ".test-runtime-" });
  try {
    const r = await runTask(experimentWithoutFfi(), [
      "configs/tiny.jsonc",
      "--backend",
      "blas",
      "--set",
      `data.paths=["${corpus}"]`,
      "--set",
      `run.out_dir=${out}`,
      "--set",
      "train.max_steps=2",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertTrue(/backend blas: --allow-ffi not granted for [^\n]*; using wasm/.test(r.stderr), r.stderr);
    const runDir = r.stdout.trim().split("\n").at(-1)!;
    const manifest = JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8"));
    assertEquals(manifest.runtime.backend_requested, "blas");
    assertEquals(manifest.runtime.backend_used, "wasm");
    assertEquals(manifest.runtime.adapter, null);
    assertTrue(
      Number.isInteger(manifest.runtime.threads) && manifest.runtime.threads >= 1,
      "threads recorded",
    );
    const threads = manifest.runtime.threads;
    const report = await readFile(join(runDir, "report.html"), "utf8");
    const used = `wasm, ${threads} thread${threads > 1 ? "s" : ""}`;
    assertTrue(report.includes(`<th>backend</th><td>${used}`), `the report's backend row says ${used}`);
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(corpus, { recursive: true, force: true });
  }
});

Deno.test("the report reads older manifests, whose runtime held the versions", () => {
  const old = toManifest({ runtime: { deno: "2.9.6", v8: "14.0" }, deno_version: "2.9.6" });
  assertEquals(old.runtime, undefined);
  assertEquals(old.versions, { deno: "2.9.6", v8: "14.0" });
  const now = toManifest({
    runtime: { backend_requested: "auto", backend_used: "wasm", threads: 2, adapter: null },
    versions: { deno: "2.9.6" },
  });
  assertEquals(now.runtime, { backend_requested: "auto", backend_used: "wasm", threads: 2 });
  // a run on the GPU keeps its adapter (the report's backend row names it)
  const gpu = toManifest({
    runtime: {
      backend_requested: "webgpu",
      backend_used: "webgpu",
      threads: 2,
      adapter: "llvmpipe, software",
    },
  });
  assertEquals(gpu.runtime?.adapter, "llvmpipe, software");
  assertEquals(now.versions, { deno: "2.9.6" });
});

Deno.test("a resume records the backend and threads of the process that resumed", async () => {
  const corpus = await makeCodeCorpus();
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  try {
    const config = {
      data: { paths: [corpus] },
      run: { out_dir: out, backend: "js" as const },
      model: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32 },
      train: { max_steps: 4, batch_size: 2, eval_interval: 2, checkpoint_interval: 2, sample_tokens: 0 },
    };
    let n = 0;
    const part = await runExperiment({ config, quiet: true, noReport: true, shouldStop: () => ++n >= 2 });
    const read = async () => JSON.parse(await readFile(join(part.runDir, "manifest.json"), "utf8")).runtime;
    assertEquals(await read(), {
      backend_requested: "js",
      backend_used: "js",
      backend_reason: "requested",
      threads: 1,
      adapter: null,
    });
    const sets = ["run.backend=wasm", "run.threads=1"];
    await runExperiment({ resumeDir: part.runDir, sets, quiet: true, noReport: true });
    assertEquals(await read(), {
      backend_requested: "wasm",
      backend_used: "wasm",
      backend_reason: "requested",
      threads: 1,
      adapter: null,
    });
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(corpus, { recursive: true, force: true });
  }
});
