/**
 * Research script: a small T5 learns to reverse random symbol sequences (generated task, lengths 4–10).
 *
 * Trains with AdamW (warmup + cosine, gradient clipping) on freshly generated batches, then reports greedy and
 * beam-search exact match on held-out generated examples (a generator the training batches never use).
 *
 *   deno run --allow-read --allow-env experiments/t5_reverse.ts [--steps 1500] [--batch 64] [--lr 3e-3] \
 *     [--embd 64] [--heads 4] [--layers 2] [--symbols 10] [--min-len 4] [--max-len 10] [--task reverse|sort] \
 *     [--eval 500] [--beam 4] [--seed 1] [--threads 1]
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  collateSeq2Seq,
  SymbolTaskBatcher,
  symbolTaskExamples,
  type SymbolTaskOptions,
} from "../lib/data/seq2seq.ts";
import { beamSearch, greedyDecode } from "../lib/generate/seq2seq.ts";
import { withArena } from "../lib/kernels/wasm/runtime.ts";
import { setThreads, whenThreadsReady } from "../lib/kernels/wasm/pool.ts";
import { T5 } from "../lib/nn/models/t5.ts";
import { AdamW } from "../lib/optim/adamw.ts";
import { clipGradNorm } from "../lib/optim/clip.ts";
import { cosineWithWarmup } from "../lib/optim/schedule.ts";
import { Rng } from "../lib/random.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "1500" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "3e-3" },
    embd: { type: "string", default: "64" },
    heads: { type: "string", default: "4" },
    layers: { type: "string", default: "2" },
    symbols: { type: "string", default: "10" },
    "min-len": { type: "string", default: "4" },
    "max-len": { type: "string", default: "10" },
    task: { type: "string", default: "reverse" },
    eval: { type: "string", default: "500" },
    beam: { type: "string", default: "4" },
    seed: { type: "string", default: "1" },
    threads: { type: "string", default: "1" },
  },
});
const num = (k: keyof typeof a) => Number(a[k]);
const steps = num("steps"), batchSize = num("batch"), lr = num("lr"), seed = num("seed");
if (a.task !== "reverse" && a.task !== "sort") {
  throw new Error(`--task must be reverse or sort, got ${a.task}`);
}
const task: SymbolTaskOptions = {
  task: a.task,
  numSymbols: num("symbols"),
  minLen: num("min-len"),
  maxLen: num("max-len"),
};
setThreads(num("threads"));
await whenThreadsReady();

const rng = new Rng(seed);
const batcher = new SymbolTaskBatcher(task, batchSize, rng.fork());
const { vocab, Ts, Tt } = batcher;
const model = new T5({
  vocabSize: vocab.size,
  blockSize: Math.max(Ts, Tt),
  nLayer: num("layers"),
  nHead: num("heads"),
  nEmbd: num("embd"),
  dropout: 0,
  bias: false,
  tieWeights: true,
  norm: "rmsnorm",
  mlp: "gelu",
}, rng.fork());
const params = model.namedParameters();
const opt = new AdamW(params, { lr, beta2: 0.98, weightDecay: 0.01 });
const schedule = cosineWithWarmup({
  lr,
  minLr: lr / 10,
  warmupSteps: Math.min(100, steps),
  decaySteps: steps,
});
console.log(
  `T5 ${JSON.stringify(model.config)}: ${model.numParameters()} parameters; task ${JSON.stringify(task)}, ` +
    `batch ${batchSize}, ${steps} steps, lr ${lr}`,
);

const held = symbolTaskExamples(num("eval"), new Rng(seed + 1_000_003), task);
const key = (t: ArrayLike<number>) => Array.from(t).join(",");

function greedyExact(n = held.length): number {
  let hits = 0;
  for (let i = 0; i < n; i += 100) {
    const chunk = held.slice(i, Math.min(n, i + 100));
    const b = collateSeq2Seq(chunk, vocab, Ts, Tt);
    const out = greedyDecode(model, b.src, b.B, Ts, {
      maxLen: Tt,
      bosId: vocab.bos,
      eosId: vocab.eos,
      srcLengths: b.srcLengths,
    });
    chunk.forEach((p, j) => hits += key(out[j]) === key(p.tgt) ? 1 : 0);
  }
  return hits / n;
}

const t0 = performance.now();
let window = 0, windowSteps = 0;
for (let step = 0; step < steps; step++) {
  const b = batcher.next();
  window += withArena(() => {
    const { loss } = model.forward(b.src, b.B, Ts, b.tgtIn, Tt, {
      targets: b.tgtOut,
      srcLengths: b.srcLengths,
    });
    const v = loss!.item();
    loss!.backward();
    return v;
  });
  windowSteps++;
  withArena(() => {
    clipGradNorm(params, 1.0);
    opt.step(schedule(step));
    opt.zeroGrad();
  });
  if ((step + 1) % 100 === 0 || step + 1 === steps) {
    const s = (performance.now() - t0) / 1000;
    const extra = (step + 1) % 500 === 0
      ? `, greedy exact (200 held-out) ${(greedyExact(200) * 100).toFixed(1)}%`
      : "";
    console.log(`step ${step + 1}: loss ${(window / windowSteps).toFixed(4)} (${s.toFixed(1)} s)${extra}`);
    window = windowSteps = 0;
  }
}
const trainS = (performance.now() - t0) / 1000;

const t1 = performance.now();
const greedy = greedyExact();
const greedyS = (performance.now() - t1) / 1000;
const t2 = performance.now();
const K = num("beam");
let beamHits = 0;
for (const p of held) {
  const src = Int32Array.from([...p.src, vocab.eos]);
  const best = beamSearch(model, src, { beamSize: K, maxLen: Tt, bosId: vocab.bos, eosId: vocab.eos })[0];
  if (key(best.tokens) === key(p.tgt)) beamHits++;
}
const beamS = (performance.now() - t2) / 1000;
console.log(
  `\nheld-out ${held.length} examples: greedy exact match ${(greedy * 100).toFixed(1)}% (${
    greedyS.toFixed(1)
  } s), ` +
    `beam ${K} exact match ${(beamHits / held.length * 100).toFixed(1)}% (${beamS.toFixed(1)} s); ` +
    `training ${trainS.toFixed(1)} s for ${steps} steps`,
);
