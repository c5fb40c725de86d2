/**
 * Training runs on `run.backend: "webgpu"` (lavapipe here: a small GPT, 2 layers, width 32, block 32, standard
 * attention, dropout 0): 30 steps log the train losses of the same run on wasm within 1e-3 relative (AdamW with
 * clipping, SGD with momentum, two micro-batches, lines every 5 steps); so do, over 6 steps, bert, t5 on a
 * generated task, the llama variant, activation checkpointing and dropout; two webgpu runs log the same bits; a
 * run started on webgpu resumes on wasm (and the other way round) and continues the same curve; what the GPU
 * path does not do yet is refused in one line before anything is written, or skipped with one info line.
 */
import { join } from "node:path";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { webgpuSkipped } from "../../lib/experiment/webgpu.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { type Event, readMetrics } from "../_helpers/runs.ts";
import { gpuTest } from "../_helpers/webgpu.ts";

const corpus = await makeCodeCorpus();
const STEPS = 30;

async function config(backend: string, extra: string[] = [], path = "configs/tiny.jsonc") {
  const out = await Deno.makeTempDir({ prefix: "lcm-webgpu-runs-" });
  const sets = [
    `data.paths=["${corpus}"]`,
    `run.out_dir=${out}`,
    `run.backend=${backend}`,
    "model.n_layer=2",
    `train.max_steps=${STEPS}`,
    "train.log_interval=1",
    "train.eval_interval=15",
    "train.checkpoint_interval=15",
    ...extra,
  ];
  return loadConfig({ path, sets }).config;
}

const trainLines = (ev: Event[]) => ev.filter((e) => e.split === "train");

/**
 * The figures of a run's train, val and detail lines as `[label, value, tolerance]`: losses to 1e-3 relative
 * (the acceptance); gradient norms, update ratios and detail figures to 3e-3 (AdamW turns the last-bit
 * differences of near-zero gradient components into visible differences of the update, so these can wander
 * more than the losses: on lavapipe the 30-step run's losses agree to 1.2e-7 and its gradient norms to 4e-5,
 * with earlier kernels they differed by up to 9e-4 where the losses agreed to 6e-7).
 */
function figures(ev: Event[]): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (const e of ev) {
    const at = `${e.split} step ${e.step}`;
    if (e.split === "train" || e.split === "val") out.push([`${at} loss`, e.loss as number, 1e-3]);
    // the families' own figures: bert's masked accuracy, t5's exact match (shares of rows)
    for (const key of ["masked_accuracy", "exact_match"]) {
      if (e.split === "val" && typeof e[key] === "number") out.push([`${at} ${key}`, e[key] as number, 1e-3]);
    }
    if (e.split === "train") {
      out.push([`${at} grad_norm`, e.grad_norm as number, 3e-3]);
      const ratios = (e as Record<string, unknown>).update_ratio as Record<string, number>;
      for (const [group, r] of Object.entries(ratios)) out.push([`${at} update_ratio.${group}`, r, 3e-3]);
    }
    if (e.split === "detail") {
      const params = (e as Record<string, unknown>).params as Record<string, number | string>[];
      for (const p of params) {
        for (const k of ["grad_norm", "weight_norm", "update_ratio"]) {
          out.push([`${at} ${p.name} ${k}`, p[k] as number, 3e-3]);
        }
      }
    }
  }
  return out;
}

/** `got` logs `want`'s lines, each figure within its tolerance ({@link figures}). */
function assertCloseRuns(got: Event[], want: Event[], what: string): void {
  const g = figures(got), w = figures(want);
  assertEquals(g.map((f) => f[0]), w.map((f) => f[0]), what);
  for (let i = 0; i < w.length; i++) {
    const [label, b, tol] = w[i], a = g[i][1];
    const rel = b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
    assertTrue(rel <= tol, `${what}: ${label} ${a} vs ${b} (relative ${rel})`);
  }
}

async function run(backend: string, extra: string[] = [], lines?: string[], path?: string) {
  const r = await runExperiment({
    config: await config(backend, extra, path),
    noReport: true,
    quiet: true,
    info: (l) => lines?.push(l),
  });
  assertEquals(r.status, "completed");
  return { dir: r.runDir, events: await readMetrics(r.runDir) };
}

/**
 * A run on `first` stopped after step `at` and resumed on `then`: its directory and its events (without the
 * resume line).
 */
async function stoppedAndResumed(first: string, then: string, extra: string[], at: number) {
  let steps = 0;
  const part = await runExperiment({
    config: await config(first, extra),
    noReport: true,
    quiet: true,
    shouldStop: () => ++steps >= at,
  });
  assertEquals([part.status, part.step], ["interrupted", at]);
  const resumed = await runExperiment({
    resumeDir: part.runDir,
    sets: [`run.backend=${then}`],
    noReport: true,
    quiet: true,
  });
  assertEquals(resumed.status, "completed");
  return { dir: part.runDir, events: (await readMetrics(part.runDir)).filter((e) => e.split !== "resume") };
}

/** `f()`, computed once (the runs several tests compare against). */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => p ??= f();
}

const infoLines: string[] = [];
const gpuRun = once(() => run("webgpu", [], infoLines));
const wasmRun = once(() => run("wasm"));

/** A checkpoint's tensors as `name [shape]`, sorted. */
async function checkpointTensors(dir: string): Promise<string[]> {
  const ck = await loadCheckpoint(dir);
  const opt = Object.entries(ck.optimizer.tensors).map(([k, v]) => `${k} [${v.length}]`);
  return [...[...ck.weights].map(([k, v]) => `${k} [${v.shape}]`), ...opt, `step ${ck.optimizer.step}`]
    .sort();
}

gpuTest(
  "webgpu run: 30 steps log wasm's train losses within 1e-3; the output and manifest name the adapter",
  async () => {
    const gpu = await gpuRun(), wasm = await wasmRun(), lines = infoLines;
    assertEquals(trainLines(gpu.events).length, STEPS);
    assertCloseRuns(gpu.events, wasm.events, "adamw");
    const backendLine = lines.find((l) => l.startsWith("backend: "))!;
    assertTrue(/^backend: webgpu \(.+\)/.test(backendLine), backendLine);
    // samples are generated on the GPU (tiny.jsonc samples 20 tokens at each evaluation)
    assertTrue((await Deno.readTextFile(join(gpu.dir, "samples.txt"))).includes("--- step 30, val loss"));
    const manifest = JSON.parse(await Deno.readTextFile(join(gpu.dir, "manifest.json")));
    assertEquals(manifest.runtime.backend_requested, "webgpu");
    assertEquals(manifest.runtime.backend_used, "webgpu");
    assertTrue(
      typeof manifest.runtime.adapter === "string" && backendLine.includes(manifest.runtime.adapter),
    );
    // the checkpoint written from the GPU holds the tensors of wasm's (it loads on the CPU: the resume tests)
    assertEquals(await checkpointTensors(gpu.dir), await checkpointTensors(wasm.dir));
  },
);

gpuTest(
  "webgpu run: SGD with momentum, and two micro-batches per step with layer-wise rates, follow wasm",
  async () => {
    const sgd = [
      "train.optimizer=sgd",
      "train.learning_rate=0.05",
      "train.momentum=0.9",
      "train.max_steps=10",
    ];
    const wasmSgd = await run("wasm", sgd);
    assertCloseRuns((await run("webgpu", sgd)).events, wasmSgd.events, "sgd");
    // the momentum buffers go to the checkpoint from the GPU and come back to it
    assertCloseRuns(
      (await stoppedAndResumed("webgpu", "webgpu", sgd, 5)).events,
      wasmSgd.events,
      "sgd resumed",
    );
    // with layer-wise learning rates too (each parameter's lrScale in the update kernels)
    const accum = [
      "train.grad_accum_steps=2",
      "train.batch_size=2",
      "train.max_steps=10",
      "train.layer_lr_decay=0.7",
    ];
    assertCloseRuns(
      (await run("webgpu", accum)).events,
      (await run("wasm", accum)).events,
      "grad_accum_steps 2",
    );
  },
);

gpuTest("webgpu run: two runs of the same config log the same bits", async () => {
  const a = await gpuRun(), b = await run("webgpu");
  const bits = (ev: Event[]) =>
    ev.filter((e) => e.split !== "resume").map((e) => [e.step, e.loss, e.grad_norm]);
  assertEquals(bits(a.events), bits(b.events));
});

for (const [first, then] of [["webgpu", "wasm"], ["wasm", "webgpu"]]) {
  gpuTest(
    `webgpu run: a run started on ${first} resumes on ${then} and continues the same curve`,
    async () => {
      const { dir, events } = await stoppedAndResumed(first, then, [], 15);
      assertCloseRuns(events, (await wasmRun()).events, `${first} → ${then}`);
      const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
      assertEquals(manifest.runtime.backend_used, then);
    },
  );
}

gpuTest(
  "webgpu run: with lines every 5 steps (each quiet step's successor recorded before it is read back) the " +
    "figures follow wasm's, and a stop at a quiet step resumes on wasm on the same curve",
  async () => {
    const every5 = ["train.log_interval=5"];
    const wasm = await run("wasm", every5);
    assertCloseRuns((await run("webgpu", every5)).events, wasm.events, "log_interval 5");
    const { events } = await stoppedAndResumed("webgpu", "wasm", every5, 13);
    assertCloseRuns(events, wasm.events, "stopped at 13, resumed on wasm");
  },
);

/** The other families and variants with ops of their own, shrunk: 6 steps, an evaluation (and samples) at 6. */
const OTHERS = [
  "configs/families/bert.jsonc",
  "configs/families/t5_reverse.jsonc",
  "configs/variants/llama.jsonc",
  "configs/training/checkpointing.jsonc",
  "configs/tiny.jsonc --set model.dropout=0.1",
];

for (const entry of OTHERS) {
  const [path, ...more] = entry.split(" --set ");
  gpuTest(
    `webgpu run: ${entry} follows wasm over 6 steps, with its validation figures and samples`,
    async () => {
      const small = [
        "model.n_layer=1",
        "model.n_embd=32",
        "model.block_size=32",
        "train.batch_size=2",
        "train.max_steps=6",
        "train.eval_interval=6",
        "train.eval_steps=1",
        "train.checkpoint_interval=6",
        ...more,
      ];
      const gpu = await run("webgpu", small, undefined, path),
        wasm = await run("wasm", small, undefined, path);
      assertEquals(trainLines(gpu.events).length, 6);
      assertCloseRuns(gpu.events, wasm.events, entry);
      const samples = await Deno.readTextFile(join(gpu.dir, "samples.txt"));
      assertTrue(samples.includes("--- step 6, val loss"), samples);
    },
  );
}

gpuTest("webgpu run: 16-bit precision is refused in one line before the run directory is made", async () => {
  const cfg = await config("webgpu", ["train.precision=bf16"]);
  await assertRejects(
    () => runExperiment({ config: cfg, noReport: true, quiet: true }),
    'train.precision "bf16": not on webgpu yet',
  );
  assertEquals([...Deno.readDirSync(cfg.run.out_dir)], []);
});

gpuTest(
  "webgpu run: detail lines (norms measured on the GPU) follow wasm's; block statistics are skipped in one line",
  async () => {
    const lines: string[] = [];
    const detail = ["train.max_steps=4", "train.log_interval_detail=2"];
    const gpu = await run("webgpu", detail, lines), wasm = await run("wasm", detail);
    assertEquals(gpu.events.filter((e) => e.split === "detail").length, 2);
    assertCloseRuns(gpu.events, wasm.events, "detail");
    assertTrue(lines.some((l) => l.includes("block statistics in detail lines")), lines.join("\n"));
  },
);

/** Runs `fn` with `navigator.gpu` replaced by `gpu` (undefined: a runtime without WebGPU). */
async function withNavigatorGpu(gpu: unknown, fn: () => Promise<void>): Promise<void> {
  const own = Object.getOwnPropertyDescriptor(navigator, "gpu");
  Object.defineProperty(navigator, "gpu", { value: gpu, configurable: true });
  try {
    await fn();
  } finally {
    if (own !== undefined) Object.defineProperty(navigator, "gpu", own);
    else delete (navigator as { gpu?: unknown }).gpu;
  }
}

Deno.test(
  "webgpu run: without WebGPU, or without an adapter, the run fails in one line before anything is written",
  async () => {
    for (const gpu of [undefined, { requestAdapter: () => Promise.resolve(null) }]) {
      await withNavigatorGpu(gpu, async () => {
        const cfg = await config("webgpu");
        const e = await assertRejects(() => runExperiment({ config: cfg, noReport: true, quiet: true }));
        assertTrue(!e.message.includes("\n"), e.message);
        assertTrue(e.message.startsWith('run.backend "webgpu": '), e.message);
        for (const word of ["--unstable-webgpu", "mesa-vulkan-drivers"]) {
          assertTrue(e.message.includes(word), e.message);
        }
        if (gpu !== undefined) assertTrue(e.message.includes("no WebGPU adapter found"), e.message);
        assertEquals([...Deno.readDirSync(cfg.run.out_dir)], []);
      });
    }
  },
);

Deno.test("webgpu run: the info line names what is skipped, and nothing when nothing is", () => {
  const cfg = (sets: string[]) => loadConfig({ path: "configs/tiny.jsonc", sets }).config;
  assertEquals(webgpuSkipped(cfg(["train.log_interval_detail=0"])), null);
  const line = webgpuSkipped(cfg(["train.log_interval_detail=5"]))!;
  assertTrue(line.includes("block statistics in detail lines"), line);
});
