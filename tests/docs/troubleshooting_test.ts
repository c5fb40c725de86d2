/**
 * The reproductions of docs/troubleshooting.md. Each config in configs/troubleshooting/ runs briefly, in process,
 * on the built-in code corpus, and its symptom must appear; the fix the guide names must make it go away. The
 * one failure no config can make (an attention mask that leaks the future into a decoder) is built from the
 * library and caught by the same causality probe as tests/nn/layers_test.ts.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, loadConfig } from "../../lib/experiment/config.ts";
import { buildModel, familyTokenizer, gptConfigOf } from "../../lib/experiment/families.ts";
import { buildOptimizer, runExperiment } from "../../lib/experiment/runner.ts";
import { loadCorpus } from "../../lib/data/corpus.ts";
import { tokenizeCached } from "../../lib/data/token_cache.ts";
import { type Batch, Batcher, evalWindows } from "../../lib/data/batcher.ts";
import { arenaPeakBytes, resetArenaPeak, wasmAvailable } from "../../lib/kernels/wasm/runtime.ts";
import { Bert } from "../../lib/nn/models/bert.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { uniqueParams } from "../../lib/optim/param.ts";
import { cosineWithWarmup } from "../../lib/optim/schedule.ts";
import { Rng } from "../../lib/random.ts";
import { causalMask } from "../../lib/tensor/mod.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { languageModelData } from "../../lib/train/language_model.ts";
import { evaluate, NonFiniteError, train } from "../../lib/train/trainer.ts";
import { freshState } from "../_helpers/train.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";
import { type Event, readMetrics } from "../_helpers/runs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIR = join(ROOT, "configs", "troubleshooting");
const GUIDE = join(ROOT, "docs", "troubleshooting.md");
// one folder for every run of this file, so the code corpus is tokenized once (its cache lives in out_dir)
const OUT = await Deno.makeTempDir({ prefix: "lcm-troubleshooting-" });
globalThis.addEventListener("unload", () => Deno.removeSync(OUT, { recursive: true }));

/**
 * A shipped reproduction, resolved like `deno task experiment`, with runs under OUT on one kernel thread. The
 * guide's figures were measured on the wasm kernels, so a config that leaves the backend to `auto` (OpenBLAS
 * where it is installed) runs on wasm here unless `sets` chooses one.
 */
function repro(name: string, sets: string[] = []): Config {
  const path = join(DIR, `${name}.jsonc`);
  const base = [`run.out_dir=${OUT}`, "run.threads=1"];
  const auto = loadConfig({ path, sets: [...base, ...sets] }).config.run.backend === "auto" &&
    !sets.some((s) => s.startsWith("run.backend="));
  return loadConfig({ path, sets: [...base, ...(auto ? ["run.backend=wasm"] : []), ...sets] }).config;
}

/** Runs a reproduction to its end (no report); returns the run directory and its metrics. */
async function run(name: string, sets: string[] = [], info?: (line: string) => void) {
  const r = await runExperiment({ config: repro(name, sets), noReport: true, info });
  assertEquals(r.status, "completed");
  return { ...r, events: await readMetrics(r.runDir) };
}

const trainLines = (ev: Event[]) => ev.filter((e) => e.split === "train");
const valLosses = (ev: Event[]) => ev.filter((e) => e.split === "val").map((e) => e.loss as number);
const last = <T>(a: readonly T[]): T => a[a.length - 1];

// ---- the configs and the guide agree ----

Deno.test("troubleshooting: every config extends tiny or quickstart, says what it reproduces and the fix, and is in the guide", () => {
  const guide = readFileSync(GUIDE, "utf8");
  const files = readdirSync(DIR).filter((f) => f.endsWith(".jsonc")).sort();
  assertTrue(files.length >= 8, `found ${files}`);
  for (const f of files) {
    const text = readFileSync(join(DIR, f), "utf8");
    const comment = text.split("\n").filter((l) => l.startsWith("//")).join(" ");
    assertTrue(
      /"extends": "\.\.\/(tiny|quickstart)\.jsonc"/.test(text),
      `${f}: extends ../tiny or ../quickstart`,
    );
    assertTrue(/Reproduces:|The fix of/.test(comment), `${f}: a comment saying what it reproduces`);
    assertTrue(/[Ff]ix/.test(comment), `${f}: a comment naming the fix`);
    assertTrue(guide.includes(f), `docs/troubleshooting.md names ${f}`);
    loadConfig({ path: join(DIR, f) });
  }
});

// ---- NaN / Inf ----

Deno.test("troubleshooting: nan-lr.jsonc stops at the NaN guard, naming the step and the tensor; 3e-3 trains", async () => {
  const err = await assertRejects(
    () => runExperiment({ config: repro("nan-lr"), noReport: true }),
    ": step ",
    ": loss is NaN; first non-finite tensor: loss (the last good checkpoint is kept in ",
  );
  const cause = err.cause;
  assertTrue(cause instanceof NonFiniteError, `cause: ${String(cause)}`);
  assertEquals(cause.tensor, "loss");
  assertTrue(cause.step > 10 && cause.step <= 20, `NaN at step ${cause.step}`);
  const runDir = err.message.slice(0, err.message.indexOf(": step "));
  const manifest = JSON.parse(await Deno.readTextFile(join(runDir, "manifest.json")));
  assertEquals(manifest.status, "failed");
  assertEquals(manifest.error, `step ${cause.step}: loss is NaN; first non-finite tensor: loss`);
  const latest = JSON.parse(await Deno.readTextFile(join(runDir, "checkpoints", "latest.json")));
  assertEquals(latest.step, 10);
  // the trail before it: an exploding loss and updates as large as the weights
  const lines = trainLines(await readMetrics(runDir));
  assertTrue(lines.length >= 2 && lines.every((e) => (e.loss as number) > 1e4), "the loss explodes first");
  const ratio = (lines[0] as unknown as { update_ratio: Record<string, number> }).update_ratio["h.0"];
  assertTrue(ratio > 1, `update/weight ratio of h.0 ${ratio}`);

  const fixed = await run("nan-lr", ["train.learning_rate=3e-3"]);
  assertTrue(fixed.valLoss !== null && fixed.valLoss < 3.3, `fixed val loss ${fixed.valLoss}`);
});

Deno.test("troubleshooting: nan-fp16.jsonc overflows float16 where fp32 and bf16 do not; the right rate trains in fp16", async () => {
  const err = await assertRejects(
    () => runExperiment({ config: repro("nan-fp16"), noReport: true }),
    ": loss is NaN; first non-finite tensor: loss",
  );
  const cause = err.cause;
  assertTrue(cause instanceof NonFiniteError && cause.step > 10 && cause.step < 50, String(cause));
  // not the loss scaler: no step was skipped before
  const before = trainLines(await readMetrics(err.message.slice(0, err.message.indexOf(": step "))));
  assertTrue(before.length > 0 && before.every((e) => e.loss_scale === 65536 && e.skipped_steps === 0));

  // fp32 survives; its per-block activation statistics show why fp16 cannot (largest finite value 65,504)
  const fp32 = await run("nan-fp16", ["train.precision=fp32", "train.log_interval_detail=10"]);
  const detail = fp32.events.find((e) => e.split === "detail" && e.step === 10) as unknown as {
    blocks: { std: number }[];
  };
  assertTrue(detail.blocks[0].std > 5000, `block output std at step 10: ${detail.blocks[0].std}`);
  assertTrue(Number.isFinite(fp32.valLoss), "fp32 ends finite");
  const bf16 = await run("nan-fp16", ["train.precision=bf16"]);
  assertTrue(Number.isFinite(bf16.valLoss) && bf16.valLoss! > 4, `bf16: finite but poor, ${bf16.valLoss}`);
  const fixed = await run("nan-fp16", ["train.learning_rate=3e-3"]);
  assertTrue(fixed.valLoss! < 3.3, `fp16 at 3e-3: val loss ${fixed.valLoss}`);
  assertTrue(trainLines(fixed.events).every((e) => e.skipped_steps === 0), "no step skipped");
});

Deno.test("troubleshooting: fp16-skipped-steps.jsonc skips 20 updates while the loss scale falls; 65536 skips none", async () => {
  const { events } = await run("fp16-skipped-steps");
  const lines = trainLines(events);
  assertEquals(lines.map((e) => e.skipped_steps), [10, 10, 0, 0]);
  assertEquals(lines.map((e) => e.loss_scale), [
    1e12 / 2 ** 10,
    1e12 / 2 ** 20,
    1e12 / 2 ** 20,
    1e12 / 2 ** 20,
  ]);
  // nothing was updated for 20 steps: the loss stays at the untrained model's
  assertTrue(Math.abs((lines[0].loss as number) - (lines[1].loss as number)) < 0.01, "flat loss");
  assertTrue(valLosses(events)[0] > 4.55, `val loss at step 20: ${valLosses(events)[0]}`);
  const fixed = trainLines((await run("fp16-skipped-steps", ["train.loss_scale=65536"])).events);
  assertTrue(fixed.every((e) => e.skipped_steps === 0 && e.loss_scale === 65536));
  assertTrue((fixed[1].loss as number) < 4, `fixed loss at step 20: ${fixed[1].loss}`);
});

// ---- the loss does not fall ----

Deno.test("troubleshooting: lr-too-low barely moves, lr-too-high stalls at the unigram level, lr-good learns", async () => {
  const drop = (ev: Event[]) => (trainLines(ev)[0].loss as number) - (last(trainLines(ev)).loss as number);
  const low = (await run("lr-too-low")).events;
  const good = (await run("lr-good")).events;
  const high = (await run("lr-too-high")).events;
  assertTrue(drop(low) < 0.1, `lr-too-low: train loss fell ${drop(low)}`);
  assertTrue(last(valLosses(low)) > 4.5, `lr-too-low: val ${last(valLosses(low))}`);
  assertTrue(drop(good) > 0.9, `lr-good: train loss fell ${drop(good)}`);
  assertTrue(last(valLosses(good)) < 3.2, `lr-good: val ${last(valLosses(good))}`);
  // the unigram entropy of the code corpus is about 3.5 nats/char
  assertTrue(last(valLosses(high)) > 3.45, `lr-too-high: val ${last(valLosses(high))}`);
  assertTrue(last(valLosses(high)) > last(valLosses(good)) + 0.3, "lr-too-high ends well above lr-good");
});

// ---- data ----

Deno.test("troubleshooting: overfit-tiny-data.jsonc: train loss falls, val loss turns up; the real corpus keeps falling", async () => {
  const tiny = await run("overfit-tiny-data", [`data.paths=["${join(ROOT, "LICENSE")}"]`]);
  const val = valLosses(tiny.events);
  const best = Math.min(...val);
  assertTrue(
    val.indexOf(best) < val.length / 2,
    `val minimum at evaluation ${val.indexOf(best)} of ${val.length}`,
  );
  assertTrue(last(val) > best + 0.3, `val ${last(val)} against its minimum ${best}`);
  assertTrue((last(trainLines(tiny.events)).loss as number) < best - 0.8, "train loss far below val");
  const real = valLosses((await run("overfit-tiny-data", ["data.paths=[]"])).events);
  assertEquals(last(real), Math.min(...real));
  // the default sample prompt has characters the 1 KB file lacks: the run stops before training
  await assertRejects(
    () =>
      runExperiment({
        config: repro("overfit-tiny-data", [
          `data.paths=["${join(ROOT, "LICENSE")}"]`,
          "train.sample_prompt=export function ",
        ]),
        noReport: true,
      }),
    'character "x" (U+0078) is not in the tokenizer\'s vocabulary',
    'train.sample_prompt "export function "',
  );
});

// ---- the attention mask ----

/** Logits (1, T, V) of `ids`, evaluated without the tape. */
function logitsOf(model: GPT | Bert, ids: number[]): Float32Array | Float64Array {
  return noGrad(() => model.forward(new Int32Array(ids), 1, ids.length).logits.data);
}

/** Whether changing the last tokens changes an earlier position's logits (a mask that lets queries see later keys). */
function seesTheFuture(model: GPT | Bert): boolean {
  const a = logitsOf(model, [1, 2, 3, 4, 5, 6]), b = logitsOf(model, [1, 2, 3, 9, 0, 7]);
  // positions 0–2 hold the same tokens in both; only positions 3–5 differ
  for (let i = 0; i < a.length / 2; i++) if (a[i] !== b[i]) return true;
  return false;
}

Deno.test("troubleshooting: mask-causal-bert.jsonc builds a causal bert (the probe sees it), model.causal=null a bidirectional one", async () => {
  const causal = buildModel(repro("mask-causal-bert"), 20, new Rng(0)) as Bert;
  assertTrue(causal instanceof Bert && !seesTheFuture(causal), "causal bert: earlier logits fixed");
  const fixed = buildModel(repro("mask-causal-bert", ["model.causal=null"]), 20, new Rng(0)) as Bert;
  assertTrue(seesTheFuture(fixed), "bert's own mask is bidirectional");
  // nothing fails: the run completes and reports masked accuracy
  const { events } = await run("mask-causal-bert");
  assertTrue(events.some((e) => e.split === "val" && typeof e.masked_accuracy === "number"));
});

/**
 * The wrong-mask bug no config can make: a decoder trained on next-token targets with a bidirectional mask (the
 * Bert trunk, which is GPT's with `fullMask`), against the same model under the causal mask, on the tiny
 * config with RoPE. Returns both validation losses, the leaky model's loss under the causal mask (what it can
 * do when generating, where no future exists) and whether the probe flags each model.
 */
async function leakExperiment(steps: number) {
  const config = repro("lr-good", ["model.position=rope", `train.max_steps=${steps}`]);
  const corpus = await loadCorpus({ corpus: "code", paths: [], valFraction: config.data.val_fraction });
  const tokenizer = await familyTokenizer(config, corpus);
  const tokens = await tokenizeCached(join(OUT, ".cache", "tokens"), corpus, tokenizer);
  const t = config.train, T = config.model.block_size;
  const evalBatches = evalWindows(tokens.val, T, t.batch_size, t.eval_steps);
  const out = {
    honest: 0,
    leaky: 0,
    leakyUnderCausalMask: 0,
    honestSeesFuture: false,
    leakySeesFuture: false,
  };
  for (const leak of [false, true]) {
    const shape = gptConfigOf(config, tokenizer.vocabSize);
    const model = leak
      ? new Bert({ ...shape, causal: false }, new Rng(t.seed))
      : new GPT(shape, new Rng(t.seed));
    const params = uniqueParams(model.namedParameters());
    const batcher = new Batcher(tokens.train, T, t.batch_size, new Rng(t.seed + 1));
    const result = await train({
      learner: {
        model,
        params,
        optimizer: buildOptimizer(config, params),
        schedule: cosineWithWarmup({
          lr: t.learning_rate,
          minLr: t.min_learning_rate,
          warmupSteps: t.warmup_steps,
          decaySteps: steps,
        }),
        gradClip: t.grad_clip,
      },
      data: languageModelData(model, batcher, evalBatches),
      intervals: { maxSteps: steps, log: steps, eval: steps, checkpoint: steps },
      hooks: { log: () => Promise.resolve(), checkpoint: () => Promise.resolve() },
    }, { ...freshState(model), batcher: batcher.state() });
    if (leak) {
      out.leaky = result.valLoss!;
      out.leakySeesFuture = seesTheFuture(model);
      const causalLoss = (b: Batch): Tensor =>
        (model as Bert).forward(b.x, b.x.length / T, T, { targets: b.y, mask: causalMask(T) }).loss!;
      out.leakyUnderCausalMask = evaluate(model, evalBatches, causalLoss);
    } else {
      out.honest = result.valLoss!;
      out.honestSeesFuture = seesTheFuture(model);
    }
  }
  tokens.close();
  return out;
}

Deno.test("troubleshooting: a decoder whose mask leaks the future: a loss too good to be true, caught by the probe", async () => {
  const r = await leakExperiment(300);
  assertTrue(!r.honestSeesFuture && r.leakySeesFuture, "the causality probe flags the leaky model only");
  assertTrue(r.leaky < r.honest - 0.7, `leaky val ${r.leaky} against causal ${r.honest}`);
  assertTrue(
    r.leakyUnderCausalMask > r.honest + 0.5,
    `leaky model without the future: ${r.leakyUnderCausalMask}`,
  );
});

// ---- speed ----

Deno.test("troubleshooting: slow-js-backend.jsonc runs on the js kernels (its first lines say so), auto on wasm or OpenBLAS, same losses", async () => {
  const shrink = ["model.n_layer=1", "model.n_embd=32", "model.n_head=2", "model.block_size=32"];
  const short = [
    ...shrink,
    "train.batch_size=4",
    "train.max_steps=2",
    "train.log_interval=1",
    "train.eval_steps=1",
  ];
  const lines: string[] = [];
  const js = await run("slow-js-backend", short, (l) => lines.push(l));
  assertTrue(lines.includes("backend: js, 1 thread (requested)"), lines.join("\n"));
  if (!wasmAvailable()) return;
  const fastLines: string[] = [];
  const fast = await run("slow-js-backend", [...short, "run.backend=auto"], (l) => fastLines.push(l));
  const used = fastLines.find((l) => l.startsWith("backend: "));
  assertTrue(/^backend: (wasm|blas), 1 thread \(auto: /.test(used ?? ""), fastLines.join("\n"));
  const losses = (ev: Event[]) => trainLines(ev).map((e) => e.loss as number);
  losses(js.events).forEach((l, i) => assertTrue(Math.abs(l - losses(fast.events)[i]) < 1e-4, "same losses"));
});

// ---- memory ----

Deno.test({
  name:
    "troubleshooting: memory-long-context.jsonc logs rss_mb; checkpointing, bf16 and smaller micro-batches lower a step's activation peak",
  ignore: !wasmAvailable(),
  fn: async () => {
    const shrink = [
      "model.n_layer=2",
      "model.n_embd=32",
      "model.n_head=2",
      "train.max_steps=1",
      "train.log_interval=1",
    ];
    /** The arena's peak during the training step (read at the step's progress call, before the evaluation). */
    const stepPeak = async (sets: string[]) => {
      const config = repro("memory-long-context", [...shrink, "train.eval_steps=1", ...sets]);
      let peak = 0;
      resetArenaPeak();
      const r = await runExperiment({ config, noReport: true, progress: () => peak = arenaPeakBytes() });
      const rss = trainLines(await readMetrics(r.runDir)).map((e) => e.rss_mb as number);
      assertTrue(rss.length > 0 && rss.every((m) => m > 0), `rss_mb on every train line: ${rss}`);
      return peak;
    };
    const base = await stepPeak([]);
    const checkpointed = await stepPeak(["train.activation_checkpointing=true"]);
    const bf16 = await stepPeak(["train.precision=bf16"]);
    const accumulated = await stepPeak(["train.batch_size=4", "train.grad_accum_steps=4"]);
    assertTrue(checkpointed < 0.7 * base, `checkpointing: ${checkpointed} of ${base} bytes`);
    assertTrue(bf16 < 0.7 * base, `bf16: ${bf16} of ${base} bytes`);
    assertTrue(accumulated < 0.3 * base, `4 × 4: ${accumulated} of ${base} bytes`);
  },
});
