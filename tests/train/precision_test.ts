import { tinyConfig } from "../_helpers/models.ts";
import { assertAllClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { Batcher } from "../../lib/data/batcher.ts";
import { arenaPeakBytes, resetArenaPeak, withArena } from "../../lib/kernels/wasm/runtime.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { uniqueParams } from "../../lib/optim/param.ts";
import { Rng } from "../../lib/random.ts";
import {
  bf16Bits,
  bf16Value,
  decode16,
  encode16,
  fp16Bits,
  fp16Value,
  getPrecision,
  type Precision,
  roundInPlace,
  setPrecision,
  withPrecision,
} from "../../lib/tensor/precision.ts";
import { saveForBackward } from "../../lib/tensor/saved.ts";
import { MixedPrecision } from "../../lib/train/precision.ts";
import { languageModelData } from "../../lib/train/language_model.ts";
import type { MetricEvent } from "../../lib/train/metrics.ts";
import { train } from "../../lib/train/trainer.ts";
import { freshState } from "../_helpers/train.ts";

// ---- the formats: known answers (IEEE 754 binary16 and bfloat16, round to nearest, ties to even)

Deno.test("fp16 bits: known answers, ties to even, subnormals, overflow", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff], // the largest finite
    [65519, 0x7bff], // below the midpoint to Inf
    [65520, 0x7c00], // the midpoint: ties to even (Inf)
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // the smallest normal
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // half of it: ties to even (0)
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even (2)
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next: ties to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1+2^-10 and 1+2^-9: ties to even (1+2^-9)
    [2047, 0x67ff],
    [2049, 0x6800], // halfway between 2048 and 2050: ties to even (2048)
    [0, 0],
    [-0, 0x8000],
  ];
  for (const [x, bits] of cases) assertEquals(fp16Bits(x), bits, `fp16Bits(${x})`);
  assertTrue(Number.isNaN(fp16Value(fp16Bits(NaN))), "NaN stays NaN");
  assertEquals(fp16Value(0x7bff), 65504);
  assertEquals(fp16Value(0x0001), 2 ** -24);
  assertEquals(fp16Value(0x2e66), 0.0999755859375);
});

Deno.test("bf16 bits: known answers, ties to even, overflow", () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0.1, 0x3dcd],
    [Math.PI, 0x4049],
    [1 + 2 ** -8, 0x3f80], // halfway: ties to even (1)
    [1 + 3 * 2 ** -8, 0x3f82], // halfway: ties to even (up)
    [3.3895313892515355e38, 0x7f7f], // the largest finite bfloat16
    [3.4e38, 0x7f80], // rounds past it: Inf
    [1e-40, 0x0001], // float32 subnormals keep their top bits
    [Infinity, 0x7f80],
  ];
  for (const [x, bits] of cases) assertEquals(bf16Bits(x), bits, `bf16Bits(${x})`);
  assertTrue(Number.isNaN(bf16Value(bf16Bits(NaN))), "NaN stays NaN");
  assertEquals(bf16Value(0x4049), 3.140625);
});

Deno.test("roundInPlace equals encode16 + decode16 on every kind of float32 (both formats)", () => {
  const n = 1 << 16, a = new Float32Array(n), u = new Uint32Array(a.buffer), rng = new Rng(3);
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    // any bit pattern; the normal float16 range; exact float16 ties; tiny (subnormal) values
    u[i] = kind === 0
      ? rng.int(2 ** 32)
      : kind === 1
      ? ((rng.int(30) + 113) << 23 | rng.int(2 ** 23)) >>> 0
      : kind === 2
      ? ((rng.int(30) + 113) << 23 | rng.int(2 ** 10) << 13 | 0x1000) >>> 0
      : rng.int(0x38800000);
  }
  for (const p of ["bf16", "fp16"] as const) {
    const rounded = a.slice();
    roundInPlace(rounded, p);
    const back = decode16(encode16(a, p), p, new Float32Array(n));
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(a[i])) {
        assertTrue(Number.isNaN(rounded[i]) && Number.isNaN(back[i]), `${p} NaN at ${i}`);
      } else if (!Object.is(rounded[i], back[i])) {
        throw new Error(`${p}: ${a[i]} → ${rounded[i]} vs ${back[i]}`);
      }
    }
    // rounding is idempotent
    const again = rounded.slice();
    roundInPlace(again, p);
    assertEquals(
      Array.from(again.subarray(0, 4096)).map(String),
      Array.from(rounded.subarray(0, 4096)).map(String),
    );
  }
});

Deno.test("precision: the policy is process-wide, withPrecision puts it back, bad names are refused", () => {
  assertEquals(getPrecision(), "fp32");
  withPrecision("bf16", () => assertEquals(getPrecision(), "bf16"));
  assertEquals(getPrecision(), "fp32");
  assertThrows(() => setPrecision("fp8" as Precision), 'precision must be "fp32", "bf16" or "fp16"');
});

// ---- the model under a 16-bit policy

function tinyModel(): GPT {
  return new GPT(tinyConfig({ vocabSize: 17, blockSize: 16, nEmbd: 32, nHead: 4 }), new Rng(11));
}

function batch(B: number, T: number, seed: number): { x: Int32Array; y: Int32Array } {
  const rng = new Rng(seed), x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let i = 0; i < x.length; i++) [x[i], y[i]] = [rng.int(17), rng.int(17)];
  return { x, y };
}

/** Loss and parameter gradients of one forward/backward under precision `p` (compute copies of the weights). */
function lossAndGrads(p: Precision): { loss: number; grads: Float32Array[]; logits: Float32Array } {
  const model = tinyModel(), params = uniqueParams(model.namedParameters());
  const mp = new MixedPrecision(params, p);
  const { x, y } = batch(3, 16, 5);
  return withPrecision(p, () =>
    withArena(() =>
      mp.withComputeWeights(() => {
        const { logits, loss } = model.forward(x, 3, 16, { targets: y });
        loss!.backward();
        return {
          loss: loss!.item(),
          grads: params.map((q) => Float32Array.from(q.tensor.grad!)),
          logits: Float32Array.from(logits.data as Float32Array),
        };
      })
    ));
}

Deno.test("bf16/fp16: activations are 16-bit values, and loss and gradients stay near float32's", () => {
  const ref = lossAndGrads("fp32");
  for (const [p, lossTol, gradTol] of [["bf16", 2e-2, 0.08], ["fp16", 3e-3, 0.01]] as const) {
    const r = lossAndGrads(p);
    // every logit is representable in the format
    const again = r.logits.slice();
    roundInPlace(again, p);
    assertEquals(Array.from(again), Array.from(r.logits), `${p} logits are ${p} values`);
    assertTrue(Math.abs(r.loss - ref.loss) < lossTol * ref.loss, `${p} loss ${r.loss} vs ${ref.loss}`);
    let diff = 0, norm = 0;
    r.grads.forEach((g, i) =>
      g.forEach((v, j) => {
        diff += (v - ref.grads[i][j]) ** 2;
        norm += ref.grads[i][j] ** 2;
      })
    );
    const rel = Math.sqrt(diff / norm);
    assertTrue(rel < gradTol && rel > 0, `${p}: relative gradient difference ${rel}`);
  }
});

Deno.test("MixedPrecision: the passes see rounded weights, the optimizer updates float32 masters", () => {
  const model = tinyModel(), params = uniqueParams(model.namedParameters());
  const opt = new AdamW(params, { lr: 1e-3 });
  const mp = new MixedPrecision(params, "bf16");
  const masters = params.map((p) => p.tensor.data);
  const seen = mp.withComputeWeights(() =>
    params.map((p) => Float32Array.from(p.tensor.data as Float32Array))
  );
  params.forEach((p, i) => {
    assertTrue(p.tensor.data === masters[i], `${p.name} points back at its master`);
    const rounded = Float32Array.from(masters[i] as Float32Array);
    roundInPlace(rounded, "bf16");
    assertEquals(Array.from(seen[i]), Array.from(rounded), `${p.name} compute copy`);
  });
  // one step: the masters move by amounts bf16 could not hold
  const { x, y } = batch(2, 16, 9);
  withPrecision(
    "bf16",
    () =>
      withArena(() => mp.withComputeWeights(() => model.forward(x, 2, 16, { targets: y }).loss!.backward())),
  );
  mp.unscale();
  opt.step();
  const w = params[0].tensor.data as Float32Array, r = w.slice();
  roundInPlace(r, "bf16");
  assertTrue(w.some((v, i) => v !== r[i]), "master weights keep float32 precision");
});

Deno.test("saveForBackward: 16-bit storage under bf16 (half the bytes), the buffer itself under fp32", () => {
  const n = 1001, buf = new Float32Array(n).map((_, i) => Math.sin(i) / 3);
  const plain = saveForBackward(buf);
  assertTrue(plain.read() === buf && plain.bytes === 4 * n, "fp32 keeps the buffer");
  withPrecision("bf16", () => {
    const copy = buf.slice(), s = saveForBackward(copy);
    assertEquals(s.bytes, 4 * Math.ceil(n / 2));
    const back = s.read() as Float32Array, want = buf.slice();
    roundInPlace(want, "bf16");
    assertEquals(Array.from(back), Array.from(want));
  });
});

Deno.test("bf16 holds less activation memory in a step than fp32 (attention and cross-entropy probabilities)", () => {
  const peak = (p: Precision) => {
    const model = new GPT(tinyConfig({ vocabSize: 64, blockSize: 64, nEmbd: 32, nHead: 4 }), new Rng(2));
    const params = uniqueParams(model.namedParameters()), mp = new MixedPrecision(params, p);
    const rng = new Rng(4), x = new Int32Array(8 * 64), y = new Int32Array(8 * 64);
    for (let i = 0; i < x.length; i++) [x[i], y[i]] = [rng.int(64), rng.int(64)];
    return withPrecision(p, () => {
      withArena(() => mp.withComputeWeights(() => model.forward(x, 8, 64, { targets: y }).loss!.backward()));
      resetArenaPeak();
      withArena(() => mp.withComputeWeights(() => model.forward(x, 8, 64, { targets: y }).loss!.backward()));
      return arenaPeakBytes();
    });
  };
  const fp32 = peak("fp32"), bf16 = peak("bf16");
  if (fp32 === 0) return; // no wasm kernels: no arena to measure
  assertTrue(bf16 < 0.95 * fp32, `arena peak bf16 ${bf16} vs fp32 ${fp32} bytes`);
});

// ---- fp16 loss scaling in the trainer

async function trainFp16(steps: number, lossScale: number, growthInterval = 2000) {
  const tokens = Int32Array.from({ length: 600 }, (_, i) => (i * 7 + (i >> 3)) % 17);
  const model = tinyModel(), params = uniqueParams(model.namedParameters());
  const events: MetricEvent[] = [];
  const init = params.map((p) => Float32Array.from(p.tensor.data as Float32Array));
  const optimizer = new AdamW(params, { lr: 1e-2 });
  const precision = new MixedPrecision(params, "fp16", { lossScale, growthInterval });
  const out = await train({
    learner: { model, params, optimizer, schedule: () => 1e-2, gradClip: 1, precision },
    data: languageModelData(model, new Batcher(tokens, 16, 4, new Rng(6)), []),
    intervals: { maxSteps: steps, log: 1, eval: 1000, checkpoint: 1000 },
    hooks: {
      log: (e) => {
        events.push(e);
        return Promise.resolve();
      },
      checkpoint: () => Promise.resolve(),
    },
  }, freshState(model));
  return { events, out, params, init, precision };
}

Deno.test("fp16: an overflowing loss scale skips steps (weights untouched), halves, and training goes on", async () => {
  const { events, params, init } = await trainFp16(1, 2 ** 60);
  const first = events[0] as Extract<MetricEvent, { split: "train" }>;
  assertEquals(first.skipped_steps, 1);
  assertEquals(first.loss_scale, 2 ** 59);
  params.forEach((p, i) =>
    assertEquals(Array.from(p.tensor.data), Array.from(init[i]), `${p.name} unchanged`)
  );

  const run = await trainFp16(60, 2 ** 60);
  const lines = run.events.filter((e) => e.split === "train") as Extract<MetricEvent, { split: "train" }>[];
  const skipped = lines.reduce((n, e) => n + (e.skipped_steps ?? 0), 0);
  assertTrue(skipped > 5 && skipped < 60, `skipped ${skipped} of 60`);
  const scales = lines.map((e) => e.loss_scale!);
  for (let i = 1; i < scales.length; i++) assertTrue(scales[i] <= scales[i - 1], "the scale only falls here");
  assertTrue(lines.at(-1)!.skipped_steps === 0, "the last steps are not skipped");
  const firstGood = lines.findIndex((e) => e.skipped_steps === 0);
  assertTrue(lines.at(-1)!.loss < lines[firstGood].loss - 0.3, "the loss falls once steps go through");
});

Deno.test("fp16: the scale doubles after growth_interval good steps; the state resumes", async () => {
  const { events, precision } = await trainFp16(7, 1024, 3);
  const scales = events.filter((e) => e.split === "train").map((e) =>
    (e as { loss_scale?: number }).loss_scale
  );
  assertEquals(scales, [1024, 1024, 2048, 2048, 2048, 4096, 4096]);
  assertEquals(precision.state(), { scale: 4096, goodSteps: 1 });
  const again = new MixedPrecision([], "fp16", { growthInterval: 3 });
  again.setState(precision.state());
  assertEquals(again.state(), { scale: 4096, goodSteps: 1 });
});

Deno.test("fp16 and bf16 training stays close to fp32 (same data, same seed)", async () => {
  const losses: Record<string, number[]> = {};
  for (const p of ["fp32", "bf16", "fp16"] as const) {
    const tokens = Int32Array.from({ length: 600 }, (_, i) => (i * 7 + (i >> 3)) % 17);
    const model = tinyModel(), params = uniqueParams(model.namedParameters());
    const seen: number[] = [];
    await train({
      learner: {
        model,
        params,
        optimizer: new AdamW(params, { lr: 1e-2 }),
        schedule: () => 1e-2,
        gradClip: 1,
        precision: p === "fp32" ? undefined : new MixedPrecision(params, p),
      },
      data: languageModelData(model, new Batcher(tokens, 16, 4, new Rng(6)), []),
      intervals: { maxSteps: 40, log: 10, eval: 1000, checkpoint: 1000 },
      hooks: {
        log: (e) => {
          if (e.split === "train") seen.push(e.loss);
          return Promise.resolve();
        },
        checkpoint: () => Promise.resolve(),
      },
    }, freshState(model));
    losses[p] = seen;
  }
  assertEquals(getPrecision(), "fp32", "train() puts the precision back");
  assertAllClose(losses.bf16, losses.fp32, 0.05, 0.02, "bf16 within 2% of fp32");
  assertAllClose(losses.fp16, losses.fp32, 0.01, 0.005, "fp16 within 0.5% of fp32");
});

Deno.test("bf16 rounding leaves inputs viewed by reshape and one-element results (losses) alone", async () => {
  const { reshape, mean } = await import("../../lib/tensor/mod.ts");
  const { Tensor } = await import("../../lib/tensor/tensor.ts");
  withPrecision("bf16", () => {
    const x = new Tensor(Float32Array.from([1.0001, 2.0003, 3.0007, 4.0009]), [4], true);
    const y = reshape(x, [2, 2]);
    assertEquals(Array.from(x.data), Array.from(Float32Array.from([1.0001, 2.0003, 3.0007, 4.0009])));
    const m = mean(y);
    assertEquals(
      m.item(),
      Math.fround(
        (Math.fround(1.0001) + Math.fround(2.0003) + Math.fround(3.0007) + Math.fround(4.0009)) / 4,
      ),
    );
  });
});
