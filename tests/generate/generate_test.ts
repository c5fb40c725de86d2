import { tinyConfig } from "../_helpers/models.ts";
import { generate, generateAsync, type GenerateOptions } from "../../lib/generate/generate.ts";
import { sampleToken, type SamplingOptions } from "../../lib/generate/sampling.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import { isGradEnabled, noGrad } from "../../lib/tensor/grad.ts";
import { assertAllClose, assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";

const CONFIG: GPTConfig = tinyConfig();

function tinyGPT(dropout = 0): GPT {
  return new GPT({ ...CONFIG, dropout }, new Rng(1));
}

/**
 * nanoGPT's generate written out plainly: crop to the last block_size tokens, run the whole window, pick from the
 * last row. The reference both code paths must match token for token.
 */
function reference(
  model: GPT,
  prompt: number[],
  n: number,
  sampling: SamplingOptions,
  seed: number,
): number[] {
  const rng = new Rng(seed);
  const ids = [...prompt];
  const { blockSize: bs, vocabSize: V } = model.config;
  model.eval();
  noGrad(() => {
    for (let s = 0; s < n; s++) {
      const window = Int32Array.from(ids.slice(-bs));
      const T = window.length;
      const { logits } = model.forward(window, 1, T);
      ids.push(sampleToken(logits.data.subarray((T - 1) * V, T * V), sampling, rng));
    }
  });
  return ids;
}

function run(
  model: GPT,
  prompt: number[],
  n: number,
  sampling: SamplingOptions,
  seed: number,
  useCache: boolean,
) {
  const opts: GenerateOptions = { maxNewTokens: n, sampling, rng: new Rng(seed), useCache };
  return Array.from(generate(model, Int32Array.from(prompt), opts));
}

const SAMPLINGS: SamplingOptions[] = [
  { greedy: true },
  {},
  { temperature: 0.7, topK: 5 },
  { temperature: 1.5, topP: 0.9 },
];

Deno.test("cache and full recompute give exactly the reference tokens, past block_size", () => {
  const model = tinyGPT();
  for (const [i, sampling] of SAMPLINGS.entries()) {
    for (
      const prompt of [[3], [1, 4, 1, 5], [2, 7, 1, 8, 2, 8, 1, 8], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]]
    ) {
      const seed = 100 + i;
      const expected = reference(model, prompt, 20, sampling, seed);
      const label = `${JSON.stringify(sampling)} prompt length ${prompt.length}`;
      assertEquals(run(model, prompt, 20, sampling, seed, true), expected, `cache, ${label}`);
      assertEquals(run(model, prompt, 20, sampling, seed, false), expected, `no cache, ${label}`);
    }
  }
});

Deno.test("generateAsync on the CPU gives generate's tokens, with and without the cache", async () => {
  const model = tinyGPT();
  for (const [i, sampling] of SAMPLINGS.entries()) {
    for (const useCache of [true, false]) {
      const opts = (seed: number): GenerateOptions => ({
        maxNewTokens: 12,
        sampling,
        rng: new Rng(seed),
        useCache,
      });
      const sync = generate(model, Int32Array.from([1, 4, 1, 5]), opts(200 + i));
      assertEquals(
        Array.from(await generateAsync(model, Int32Array.from([1, 4, 1, 5]), opts(200 + i))),
        Array.from(sync),
      );
    }
  }
  await assertRejects(
    () => generateAsync(model, new Int32Array(0), { maxNewTokens: 1, sampling: {}, rng: new Rng(0) }),
    "the prompt is empty",
  );
});

Deno.test("the cache feeds one token at a time inside block_size, and its logits match the full window", () => {
  const model = tinyGPT();
  const V = CONFIG.vocabSize;
  const record = (useCache: boolean) => {
    const lengths: number[] = [];
    const rows: Float32Array[] = [];
    const forward = model.forward.bind(model);
    model.forward = (idx, B, T, opts) => {
      const out = forward(idx, B, T, opts);
      lengths.push(T);
      rows.push(Float32Array.from(out.logits.data.subarray((T - 1) * V, T * V)));
      return out;
    };
    try {
      run(model, [1, 2, 3], 10, { greedy: true }, 0, useCache);
    } finally {
      model.forward = forward;
    }
    return { lengths, rows };
  };
  const cached = record(true), full = record(false);
  // Prefill 3, then single tokens up to 8 positions, then the sliding window is recomputed (8 each step).
  assertEquals(cached.lengths, [3, 1, 1, 1, 1, 1, 8, 8, 8, 8]);
  assertEquals(full.lengths, [3, 4, 5, 6, 7, 8, 8, 8, 8, 8]);
  cached.rows.forEach((row, i) => assertAllClose(row, full.rows[i], 1e-6, 1e-5, `step ${i}`));
});

Deno.test("sampled generation varies with the seed and repeats with the same seed", () => {
  const model = tinyGPT();
  const a = run(model, [0], 20, {}, 1, true),
    b = run(model, [0], 20, {}, 1, true),
    c = run(model, [0], 20, {}, 2, true);
  assertEquals(a, b);
  assertTrue(a.join() !== c.join(), "different seeds gave the same 20 tokens");
});

Deno.test("output is the prompt then the new tokens; maxNewTokens 0 returns the prompt", () => {
  const model = tinyGPT();
  const prompt = Int32Array.from([5, 6, 7]);
  const out = generate(model, prompt, { maxNewTokens: 4, sampling: { greedy: true }, rng: new Rng(0) });
  assertEquals(out.length, 7);
  assertEquals(Array.from(out.subarray(0, 3)), [5, 6, 7]);
  assertTrue(out.every((t) => t >= 0 && t < CONFIG.vocabSize));
  assertEquals(Array.from(prompt), [5, 6, 7], "the prompt is not modified");
  const none = generate(model, prompt, { maxNewTokens: 0, sampling: {}, rng: new Rng(0) });
  assertEquals(Array.from(none), [5, 6, 7]);
});

Deno.test("runs in eval mode without the tape, and restores the previous mode", () => {
  // With dropout 0.5 and the model in training mode, generation must still be deterministic (eval mode).
  const model = tinyGPT(0.5);
  model.train();
  const expected = reference(tinyGPT(0.5), [1, 2], 12, {}, 7);
  model.train();
  assertEquals(run(model, [1, 2], 12, {}, 7, true), expected);
  assertTrue(model.training && model.drop.training && model.h.items[0].training, "training mode restored");
  assertTrue(isGradEnabled(), "the tape is back on");
  assertTrue(model.namedParameters().every((p) => p.tensor.grad === null), "no gradients");
  model.eval();
  run(model, [1, 2], 3, {}, 7, false);
  assertTrue(!model.training && !model.drop.training, "eval mode kept");
  // Restored even when a callback throws.
  model.train();
  assertThrows(
    () =>
      generate(model, Int32Array.from([1]), {
        maxNewTokens: 5,
        sampling: {},
        rng: new Rng(0),
        onToken: () => {
          throw new Error("stop here");
        },
      }),
    "stop here",
  );
  assertTrue(model.training && model.drop.training, "training mode restored after an error");
});

Deno.test("onToken sees each new token once, in order", () => {
  const model = tinyGPT();
  for (const useCache of [true, false]) {
    const seen: number[] = [];
    const out = generate(model, Int32Array.from([4, 4]), {
      maxNewTokens: 15,
      sampling: { temperature: 0.9 },
      rng: new Rng(3),
      useCache,
      onToken: (id) => seen.push(id),
    });
    assertEquals(seen, Array.from(out.subarray(2)));
    assertEquals(seen.length, 15);
  }
});

Deno.test("stopAt stops right after the stop token", () => {
  const model = tinyGPT();
  const full = run(model, [9], 20, {}, 42, true).slice(1);
  const k = 5, stop = full[k];
  const first = full.indexOf(stop); // the first occurrence is where generation must stop
  for (const useCache of [true, false]) {
    const seen: number[] = [];
    const out = generate(model, Int32Array.from([9]), {
      maxNewTokens: 20,
      sampling: {},
      rng: new Rng(42),
      useCache,
      stopAt: stop,
      onToken: (id) => seen.push(id),
    });
    assertEquals(Array.from(out), [9, ...full.slice(0, first + 1)]);
    assertEquals(seen.length, first + 1);
  }
  // A stop token in the prompt does not stop anything.
  const out = generate(model, Int32Array.from([stop]), {
    maxNewTokens: 3,
    sampling: {},
    rng: new Rng(1),
    stopAt: 99,
  });
  assertEquals(out.length, 4);
});

Deno.test("bad prompts and options give clear errors", () => {
  const model = tinyGPT();
  const base = { maxNewTokens: 3, sampling: {}, rng: new Rng(0) };
  assertThrows(() => generate(model, new Int32Array(0), base), "prompt is empty");
  assertThrows(() => generate(model, Int32Array.from([13]), base), "outside the vocabulary");
  assertThrows(() => generate(model, Int32Array.from([-1]), base), "outside the vocabulary");
  assertThrows(() => generate(model, Int32Array.from([1]), { ...base, maxNewTokens: -1 }), "maxNewTokens");
  assertThrows(() => generate(model, Int32Array.from([1]), { ...base, maxNewTokens: 1.5 }), "maxNewTokens");
  assertThrows(
    () => generate(model, Int32Array.from([1]), { ...base, sampling: { temperature: 0 } }),
    "temperature",
    "greedy",
  );
});
