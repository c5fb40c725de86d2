/**
 * The browser playground: trains a tiny character-level GPT on the text in the page and samples from it, all in
 * the browser (no server code). Bundled by `scripts/build_playground.ts` into `dist/app.js`.
 *
 * The same bundle plays two parts:
 *
 * - on the page (`document` exists): the controls, the live loss chart (Observable Plot) and the samples;
 * - in a module Web Worker started by the page (the trainer): the model, the optimizer and generation, on the
 *   WASM SIMD kernels. Training off the page's thread keeps the page responsive, and it is what makes threads
 *   possible at all: the kernel thread pool waits with `Atomics.wait`, which a page's own thread may not call.
 *
 * The GPU: where `navigator.gpu` gives a hardware adapter, the trainer trains on it through WebGPU (the model's
 * tensors and the optimizer's state live on the GPU; the loss is read back each step) and the status line says
 * `webgpu (<adapter>)`; otherwise it falls back to the WASM kernels. A software adapter (SwiftShader, lavapipe) is
 * never chosen by itself: `?backend=webgpu` asks for WebGPU whatever the adapter (the browser test does, on
 * SwiftShader), `?backend=wasm` keeps to the CPU. Samples are drawn on the CPU (the weights come back first).
 *
 * Threads need cross-origin isolation (the headers `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`, which give the page `SharedArrayBuffer`); then the trainer starts
 * one kernel thread (`dist/worker.js`) per extra core. Without it, it trains on one thread and the status line
 * says so.
 *
 * With `?autotest=1` the page trains a small model for a few dozen steps by itself, samples from it, and writes
 * the outcome into `<body data-autotest="first=… last=… steps=… threads=… backend=… isolated=… sample=…">`
 * (the browser test reads it). The knobs can also be set from the URL: `?layers=2&width=64&steps=300`.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { Batcher } from "../../lib/data/batcher.ts";
import { generate } from "../../lib/generate/generate.ts";
import { setBackend } from "../../lib/kernels/backend.ts";
import { Gpu } from "../../lib/kernels/webgpu/runtime.ts";
import { GpuGuard } from "../../lib/optim/gpu.ts";
import { defaultThreads, setThreads, whenThreadsReady } from "../../lib/kernels/wasm/pool.ts";
import { withArena } from "../../lib/kernels/wasm/runtime.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { clipGradNorm } from "../../lib/optim/clip.ts";
import { uniqueParams } from "../../lib/optim/param.ts";
import { cosineWithWarmup } from "../../lib/optim/schedule.ts";
import { Rng } from "../../lib/random.ts";
import { emaDebiased } from "../../lib/report/smooth.ts";

// ---- messages between the page and the trainer

/** The knobs of one training run. */
interface TrainSettings {
  text: string;
  nLayer: number;
  nEmbd: number;
  steps: number;
  blockSize: number;
  batchSize: number;
  lr: number;
  seed: number;
}

/** Page → trainer. */
type ToTrainer =
  | { type: "train"; settings: TrainSettings }
  | { type: "stop" }
  | { type: "sample"; prompt: string; tokens: number; temperature: number; seed: number };

/** Trainer → page. */
type FromTrainer =
  | { type: "ready"; backend: string; threads: number; adapter: string | null }
  | { type: "start"; params: number; vocab: number; tokens: number; blockSize: number }
  | { type: "loss"; step: number; loss: number }
  | { type: "done"; steps: number; stopped: boolean; seconds: number }
  | { type: "sample"; prompt: string; text: string }
  | { type: "error"; message: string };

/** The part of a dedicated worker's global scope the trainer uses. */
interface TrainerScope {
  postMessage(message: FromTrainer): void;
  addEventListener(type: "message", fn: (e: MessageEvent<ToTrainer>) => void): void;
}

/** Steps between the trainer's pauses to read its messages (a stop request). */
const STEPS_PER_CHUNK = 2;
/** Steps between redraws of the loss chart. */
const REDRAW_EVERY = 5;

// ---- the trainer (in the worker)

/** Lets the worker's message queue run (a macrotask, not a timer, so it takes no time). */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}

/** Heads for a width: about one per 16 channels, and a divisor of the width. */
function headsFor(nEmbd: number): number {
  let h = Math.max(1, Math.floor(nEmbd / 16));
  while (nEmbd % h !== 0) h--;
  return h;
}

/** Resolves after `ms` milliseconds. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How long the trainer waits for its kernel threads to start before it trains without them. */
const THREADS_START_MS = 15_000;

/** The WebGPU device the trainer asked for (`?backend=` of the page: auto, webgpu or wasm), or null. */
async function openGpu(asked: string): Promise<Gpu | null> {
  if (asked === "wasm") return null;
  const gpu = await Gpu.open({ hardwareOnly: asked !== "webgpu" }).catch(() => null);
  if (gpu === null && asked === "webgpu") {
    throw new Error("backend=webgpu: this browser gives no WebGPU adapter (navigator.gpu)");
  }
  return gpu;
}

function trainer(scope: TrainerScope): void {
  const post = (m: FromTrainer) => scope.postMessage(m);
  const backend = setBackend("auto");
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  let threads = backend === "wasm" && isolated ? setThreads(defaultThreads()) : 1;
  const gpuReady = openGpu(new URL(import.meta.url).searchParams.get("backend") ?? "auto");
  let gpu: Gpu | null = null;
  let model: GPT | null = null;
  let tokenizer: CharTokenizer | null = null;
  let stop = false;

  async function train(s: TrainSettings): Promise<void> {
    const t0 = performance.now();
    const tok = CharTokenizer.fromText(s.text);
    const ids = tok.encode(s.text);
    if (ids.length < 2) throw new Error("the text is too short: give at least two characters");
    const blockSize = Math.min(s.blockSize, ids.length - 1);
    const config: GPTConfig = {
      vocabSize: tok.vocabSize,
      blockSize,
      nLayer: s.nLayer,
      nHead: headsFor(s.nEmbd),
      nEmbd: s.nEmbd,
      dropout: 0,
      bias: true,
      tieWeights: true,
    };
    const rng = new Rng(s.seed);
    const gpt = new GPT(config, rng.fork());
    if (gpu !== null) gpt.toGpu(gpu);
    const params = uniqueParams(gpt.namedParameters());
    const opt = new AdamW(params, { lr: s.lr, beta2: 0.99, weightDecay: 0.1 });
    const warmup = Math.min(10, Math.floor(s.steps / 10));
    const schedule = cosineWithWarmup({
      lr: s.lr,
      minLr: s.lr / 10,
      warmupSteps: warmup,
      decaySteps: s.steps,
    });
    const batcher = new Batcher(ids, blockSize, s.batchSize, rng.fork());
    model = gpt;
    tokenizer = tok;
    post({ type: "start", params: gpt.numParameters(), vocab: tok.vocabSize, tokens: ids.length, blockSize });
    gpt.train();
    stop = false;
    let step = 0;
    const guard = gpu === null ? null : new GpuGuard(gpu, params, { maxNorm: 1 });
    while (step < s.steps && !stop) {
      const batch = batcher.next();
      if (gpu !== null && guard !== null) {
        // on the GPU: the step is recorded and submitted at once; the loss comes back, the update reads the guard
        let value: Promise<number> = Promise.resolve(NaN);
        gpu.step(() => {
          const out = gpt.forward(batch.x, s.batchSize, blockSize, { targets: batch.y }).loss!;
          value = out.itemAsync();
          out.backward();
          guard.record();
          opt.step(schedule(step), guard.control);
          opt.zeroGrad();
        });
        const loss = await value;
        if (!Number.isFinite(loss)) {
          throw new Error(`the loss is ${loss} at step ${step + 1}; lower the learning rate`);
        }
        step++;
        post({ type: "loss", step, loss });
        if (step % STEPS_PER_CHUNK === 0) await yieldToMessages();
        continue;
      }
      const loss = withArena(() => {
        const out = gpt.forward(batch.x, s.batchSize, blockSize, { targets: batch.y }).loss!;
        const value = out.item();
        if (!Number.isFinite(value)) {
          throw new Error(`the loss is ${value} at step ${step + 1}; lower the learning rate`);
        }
        out.backward();
        return value;
      });
      withArena(() => {
        clipGradNorm(params, 1);
        opt.step(schedule(step));
        opt.zeroGrad();
      });
      step++;
      post({ type: "loss", step, loss });
      if (step % STEPS_PER_CHUNK === 0) await yieldToMessages();
    }
    gpt.eval();
    // samples are drawn on the CPU: the weights come back from the GPU
    await Promise.all(params.map((p) => p.tensor.toHost()));
    post({ type: "done", steps: step, stopped: step < s.steps, seconds: (performance.now() - t0) / 1000 });
  }

  function sample(prompt: string, tokens: number, temperature: number, seed: number): void {
    if (model === null || tokenizer === null) throw new Error("train a model first");
    const known = tokenizer.keepKnown(prompt).text;
    const start = known.length > 0 ? known : tokenizer.vocab.includes("\n") ? "\n" : tokenizer.vocab[0];
    const promptIds = tokenizer.encode(start);
    const out = generate(model, promptIds, {
      maxNewTokens: tokens,
      sampling: temperature > 0 ? { temperature, topK: 40 } : { greedy: true },
      rng: new Rng(seed),
    });
    post({ type: "sample", prompt: start, text: tokenizer.decode(out.subarray(promptIds.length)) });
  }

  scope.addEventListener("message", (e) => {
    const m = e.data;
    try {
      if (m.type === "stop") stop = true;
      else if (m.type === "train") {
        train(m.settings).catch((err: Error) => post({ type: "error", message: err.message }));
      } else if (m.type === "sample") sample(m.prompt, m.tokens, m.temperature, m.seed);
    } catch (err) {
      post({ type: "error", message: (err as Error).message });
    }
  });
  // Until every kernel thread is up the pool runs everything on this one, so a thread that never starts (a missing
  // dist/worker.js) costs speed, not correctness: say so and go on.
  void Promise.race([whenThreadsReady().then(() => true), sleep(THREADS_START_MS).then(() => false)]).then(
    async (up) => {
      if (!up) {
        console.warn(`playground: the kernel threads did not start within ${THREADS_START_MS / 1000} s`);
        threads = 1;
      }
      try {
        gpu = await gpuReady;
      } catch (err) {
        post({ type: "error", message: (err as Error).message });
        return;
      }
      post({
        type: "ready",
        backend: gpu === null ? backend : "webgpu",
        threads,
        adapter: gpu?.info.name ?? null,
      });
    },
  );
}

// ---- the page

/** An element of the page by id (the page is ours: a missing one is a bug). */
function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`playground: no element #${id}`);
  return el as T;
}

/** A number input's value, clamped to its min and max (and rounded, unless its step is fractional). */
function knob(id: string): number {
  const el = $<HTMLInputElement>(id);
  const v = Number(el.value), lo = Number(el.min), hi = Number(el.max);
  const x = Math.min(hi, Math.max(lo, Number.isFinite(v) ? v : lo));
  return el.step !== "" && Number(el.step) < 1 ? x : Math.round(x);
}

/** The knobs a URL may set (`?layers=2&width=64&steps=300`). */
const URL_KNOBS = ["layers", "width", "steps", "tokens", "temperature"];

interface LossPoint {
  step: number;
  loss: number;
}

/** The losses smoothed as in the run reports (debiased exponential moving average). */
function smooth(points: readonly LossPoint[], beta = 0.9): LossPoint[] {
  const ema = emaDebiased(points.map((p) => p.loss), beta);
  return points.map((p, i) => ({ step: p.step, loss: ema[i] }));
}

function drawChart(el: HTMLElement, points: readonly LossPoint[], steps: number, uniform: number): void {
  const width = Math.max(320, Math.min(760, el.clientWidth || 640));
  el.replaceChildren(
    Plot.plot({
      width,
      height: 260,
      marginLeft: 48,
      x: { label: "step", domain: [0, steps] },
      y: { label: "loss (nats/char)", grid: true, zero: true },
      marks: [
        Plot.ruleY([uniform], { stroke: "#999", strokeDasharray: "4,3" }),
        Plot.text([{ step: steps, loss: uniform }], {
          x: "step",
          y: "loss",
          text: () => "uniform guess",
          textAnchor: "end",
          dy: -6,
          fill: "#777",
        }),
        Plot.line(points, { x: "step", y: "loss", stroke: "#bbb" }),
        Plot.line(smooth(points), { x: "step", y: "loss", stroke: "steelblue", strokeWidth: 2 }),
      ],
    }),
  );
}

function page(): void {
  const params = new URLSearchParams(location.search);
  const autotest = params.get("autotest") === "1";
  const isolated = globalThis.crossOriginIsolated === true;
  const status = $("status"), progress = $("progress"), chart = $("chart"), output = $("sample");
  const trainButton = $<HTMLButtonElement>("train"), sampleButton = $<HTMLButtonElement>("sample-button");
  const text = $<HTMLTextAreaElement>("text");
  if (autotest) {
    // a small, quick run unless the URL says otherwise
    $<HTMLInputElement>("layers").value = "1";
    $<HTMLInputElement>("width").value = "32";
    $<HTMLInputElement>("steps").value = "40";
    $<HTMLInputElement>("tokens").value = "100";
  }
  for (const k of URL_KNOBS) {
    const v = params.get(k);
    if (v !== null) $<HTMLInputElement>(k).value = v;
  }

  let backend = "?", threads = 1, training = false, trained = false;
  let points: LossPoint[] = [], steps = 0, uniform = 0;
  const autoResult: string[] = [];

  const workerUrl = new URL(import.meta.url);
  workerUrl.searchParams.set("backend", params.get("backend") ?? "auto");
  const worker = new Worker(workerUrl, { type: "module", name: "trainer" });
  const send = (m: ToTrainer) => worker.postMessage(m);
  const fail = (message: string) => {
    console.error(`playground: ${message}`);
    progress.textContent = `error: ${message}`;
    training = false;
    trainButton.textContent = "Train";
    trainButton.disabled = false;
    sampleButton.disabled = !trained;
    if (autotest) document.body.dataset.autotest = `error=${message}`;
  };
  worker.addEventListener("error", (e) => fail(e.message || "the trainer failed to start"));

  trainButton.addEventListener("click", () => {
    if (training) {
      send({ type: "stop" });
      return;
    }
    steps = knob("steps");
    points = [];
    training = true;
    trainButton.textContent = "Stop";
    sampleButton.disabled = true;
    progress.textContent = "building the model…";
    send({
      type: "train",
      settings: {
        text: text.value,
        nLayer: knob("layers"),
        nEmbd: knob("width"),
        steps,
        blockSize: 64,
        batchSize: 8,
        lr: 1e-2,
        seed: 1,
      },
    });
  });

  sampleButton.addEventListener("click", () => {
    sampleButton.disabled = true;
    send({
      type: "sample",
      prompt: $<HTMLInputElement>("prompt").value,
      tokens: knob("tokens"),
      temperature: knob("temperature"),
      seed: autotest ? 1 : Math.floor(Math.random() * 2 ** 31),
    });
  });

  worker.addEventListener("message", (e: MessageEvent<FromTrainer>) => {
    const m = e.data;
    switch (m.type) {
      case "ready":
        backend = m.backend;
        threads = m.threads;
        status.textContent = m.adapter !== null
          ? `WebGPU · ${m.adapter}`
          : `${threads} thread${threads === 1 ? "" : "s"}` +
            (isolated ? "" : " (no cross-origin isolation)") + ` · ${backend} kernels`;
        trainButton.disabled = false;
        if (autotest) trainButton.click();
        break;
      case "start":
        uniform = Math.log(m.vocab);
        progress.textContent = `${m.params.toLocaleString("en")} parameters, vocabulary ${m.vocab}, ` +
          `${m.tokens.toLocaleString("en")} characters, context ${m.blockSize}`;
        break;
      case "loss":
        points.push({ step: m.step, loss: m.loss });
        progress.textContent = `step ${m.step}/${steps} loss ${m.loss.toFixed(3)}`;
        if (m.step % REDRAW_EVERY === 0) drawChart(chart, points, steps, uniform);
        break;
      case "done": {
        drawChart(chart, points, steps, uniform);
        training = false;
        trained = m.steps > 0;
        trainButton.textContent = "Train";
        sampleButton.disabled = !trained;
        const last = points.at(-1);
        progress.textContent = `${m.stopped ? "stopped" : "done"} after ${m.steps} steps` +
          (last ? `, loss ${last.loss.toFixed(3)}` : "") + ` (${m.seconds.toFixed(1)} s)`;
        if (autotest && last) {
          autoResult.push(
            `first=${points[0].loss.toFixed(4)}`,
            `last=${last.loss.toFixed(4)}`,
            `steps=${m.steps}`,
            `threads=${threads}`,
            `backend=${backend}`,
            `isolated=${isolated}`,
          );
          sampleButton.click();
        }
        break;
      }
      case "sample":
        output.textContent = m.prompt + m.text;
        sampleButton.disabled = false;
        if (autotest) {
          document.body.dataset.autotest = [...autoResult, `sample=${[...m.text].length}`].join(" ");
        }
        break;
      case "error":
        fail(m.message);
        break;
    }
  });
}

if (typeof document === "undefined") trainer(globalThis as unknown as TrainerScope);
else page();
