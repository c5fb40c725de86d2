/**
 * Every variant config (configs/variants) and every family config (configs/families) on the GPU: a small model
 * built from the config, with dropout on where the config allows it, gives the `js` reference's loss and every
 * parameter's gradient within 1e-4 (per tensor, max|gpu − js| ≤ 1e-4 · max|js|), and two runs on the GPU give
 * the same bits. BERT runs with padding (two mask groups: narrow, cat), T5 with padded sources.
 */
import assert from "node:assert/strict";
import { buildModel, type FamilyModel } from "../../lib/experiment/families.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import type { Gpu } from "../../lib/kernels/webgpu/runtime.ts";
import { Bert } from "../../lib/nn/models/bert.ts";
import { T5 } from "../../lib/nn/models/t5.ts";
import { Rng } from "../../lib/random.ts";
import type { Tensor } from "../../lib/tensor/tensor.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { withBackend } from "../_helpers/backend.ts";
import { gpuTest, relErr } from "../_helpers/webgpu.ts";

const VOCAB = 19, B = 2, T = 11, TS = 9, TT = 7;

const CONFIGS = [
  ...["flash", "gqa", "llama", "nopos", "postnorm", "rmsnorm", "rope", "swiglu"].map((v) => `variants/${v}`),
  ...["bert", "bert_causal", "t5", "t5_reverse", "t5_sort"].map((f) => `families/${f}`),
];

function ids(rng: Rng, n: number, vocab: number, ignoreAt = -1): Int32Array {
  const a = Int32Array.from({ length: n }, () => Math.floor(rng.next() * vocab));
  if (ignoreAt >= 0) a[ignoreAt] = -1;
  return a;
}

function build(name: string, dropout: number, extra: readonly string[] = []): FamilyModel {
  const { config } = loadConfig({
    path: new URL(`../../configs/${name}.jsonc`, import.meta.url).pathname,
    sets: [
      "model.n_layer=2",
      "model.n_embd=16",
      "model.n_head=4",
      "model.block_size=16",
      `model.dropout=${dropout}`,
      ...extra,
    ],
  });
  return buildModel(config, VOCAB, new Rng(3));
}

// The model's loss on a fixed batch (the vocabulary is the model's own: families add special ids).
function loss(model: FamilyModel, seed = 11): Tensor {
  const rng = new Rng(seed), V = model.config.vocabSize;
  if (model instanceof T5) {
    const src = ids(rng, B * TS, V), tgt = ids(rng, B * TT, V), targets = ids(rng, B * TT, V, 4);
    return model.forward(src, B, TS, tgt, TT, { targets, srcLengths: Int32Array.of(TS, TS - 3) }).loss!;
  }
  const idx = ids(rng, B * T, V), targets = ids(rng, B * T, V, 5);
  if (model instanceof Bert) return model.forward(idx, B, T, { targets, lengths: [T, T - 4] }).loss!;
  return model.forward(idx, B, T, { targets }).loss!;
}

interface Run {
  loss: number;
  grads: Map<string, Float32Array>;
}

// `micro` micro-batches whose gradients add up (gradient accumulation); the loss is the last one's.
function cpuRun(name: string, dropout: number, extra: readonly string[], micro: number): Run {
  return withBackend("js", () => {
    const model = build(name, dropout, extra);
    let l = loss(model);
    l.backward();
    for (let m = 1; m < micro; m++) (l = loss(model, 11 + m)).backward();
    const grads = new Map<string, Float32Array>();
    for (const p of model.namedParameters("", true)) grads.set(p.name, Float32Array.from(p.tensor.grad!));
    return { loss: l.item(), grads };
  });
}

async function gpuRun(
  gpu: Gpu,
  name: string,
  dropout: number,
  extra: readonly string[],
  micro: number,
): Promise<Run> {
  const model = build(name, dropout, extra).toGpu(gpu);
  const params = model.namedParameters("", true);
  let value: Promise<number> = Promise.resolve(0);
  for (let m = 0; m < micro; m++) {
    value = gpu.step(() => {
      const l = loss(model, 11 + m);
      l.backward();
      return l.itemAsync();
    });
  }
  const grads = new Map<string, Float32Array>();
  for (const p of params) grads.set(p.name, await gpu.read(p.tensor.gpuGrad!));
  return { loss: await value, grads };
}

/** Checks the GPU against js and a second GPU run against the first for one config. */
async function checkConfig(
  gpu: Gpu,
  name: string,
  dropout: number,
  extra: readonly string[] = [],
  micro = 1,
): Promise<void> {
  const ref = cpuRun(name, dropout, extra, micro);
  const a = await gpuRun(gpu, name, dropout, extra, micro),
    b = await gpuRun(gpu, name, dropout, extra, micro);
  assert.ok(
    Math.abs(a.loss - ref.loss) <= 1e-4 * Math.abs(ref.loss),
    `${name}: loss ${a.loss} vs ${ref.loss}`,
  );
  assert.equal(b.loss, a.loss, `${name}: the second run's loss differs`);
  for (const [param, g] of ref.grads) {
    const err = relErr(a.grads.get(param)!, g);
    assert.ok(err <= 1e-4, `${name}: ${param}: relative error ${err}`);
    assert.deepEqual(b.grads.get(param), a.grads.get(param), `${name}: ${param}: the second run differs`);
  }
}

for (const name of CONFIGS) {
  const dropout = name.endsWith("flash") ? 0 : 0.1; // flash attention has no attention dropout
  gpuTest(
    `webgpu: ${name} (dropout ${dropout}): loss and gradients equal js; two runs, same bits`,
    (gpu) => checkConfig(gpu, name, dropout),
  );
}

for (const name of ["variants/llama", "variants/gqa", "families/bert"]) {
  gpuTest(
    `webgpu: ${name} with activation checkpointing (dropout 0.1): loss and gradients equal js`,
    (gpu) => checkConfig(gpu, name, 0.1, ["train.activation_checkpointing=true"]),
  );
}

// Logits without the tape, where every block runs through keepOnlyResult (its intermediates given back at once).
function logits(model: FamilyModel): Tensor {
  const rng = new Rng(11), V = model.config.vocabSize;
  if (model instanceof T5) {
    const src = ids(rng, B * TS, V), tgt = ids(rng, B * TT, V);
    return model.forward(src, B, TS, tgt, TT, { srcLengths: Int32Array.of(TS, TS - 3) }).logits;
  }
  return model.forward(ids(rng, B * T, V), B, T).logits;
}

for (const name of ["variants/gqa", "families/t5"]) {
  gpuTest(`webgpu: ${name} without the tape (keepOnlyResult per block): logits equal js`, async (gpu) => {
    const ref = withBackend("js", () => noGrad(() => Float32Array.from(logits(build(name, 0)).data)));
    const model = build(name, 0).toGpu(gpu);
    const got = await gpu.step(() => noGrad(() => logits(model).read()));
    const err = relErr(got, ref);
    assert.ok(err <= 1e-5, `${name}: logits relative error ${err}`);
  });
}

gpuTest(
  "webgpu: activation checkpointing keeps fewer arrays through the forward than a plain forward",
  (gpu) => {
    const heldAfterForward = (checkpointing: boolean): number => {
      const model = build("variants/llama", 0, [`train.activation_checkpointing=${checkpointing}`]).toGpu(
        gpu,
      );
      return gpu.step(() => {
        loss(model);
        return gpu.mark()!;
      });
    };
    const plain = heldAfterForward(false), recompute = heldAfterForward(true);
    assert.ok(
      recompute < plain,
      `step arrays after the forward: ${recompute} with checkpointing, ${plain} without`,
    );
  },
);

gpuTest(
  "webgpu: families/bert with flash attention (padding masks): loss and gradients equal js",
  (gpu) => checkConfig(gpu, "families/bert", 0, ["model.attention=flash"]),
);

gpuTest(
  "webgpu: variants/gqa over 3 micro-batches (gradient accumulation): gradients equal js",
  (gpu) => checkConfig(gpu, "variants/gqa", 0.1, [], 3),
);
