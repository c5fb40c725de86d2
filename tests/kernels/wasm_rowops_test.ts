import { withBackend } from "../_helpers/backend.ts";
/**
 * The wasm row-wise kernels (LayerNorm, fused softmax + cross-entropy) and the AdamW update against the js
 * backend: odd widths (scalar tails), row counts below and above the wasm threshold, inputs larger than one heap
 * chunk, optional outputs, ignored rows. Float64 storage must take the TypeScript loop on every backend.
 */
import type { BackendName } from "../../lib/kernels/backend.ts";
import { layerNormBackward, layerNormForward } from "../../lib/kernels/layernorm.ts";
import { adamwUpdate } from "../../lib/kernels/optim.ts";
import { crossEntropyBackward, crossEntropyForward } from "../../lib/kernels/softmax.ts";
import { WASM_CHUNK, wasmAvailable } from "../../lib/kernels/wasm/runtime.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

type Backend = Extract<BackendName, "js" | "wasm">;

function randn(n: number, rng: Rng, scale = 1, shift = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale + shift;
  return a;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

const WIDTHS = [1, 3, 5, 13, 64, 130];
const ROWS = [1, 7, 33, 70];
/** Row counts × widths, plus shapes that span several heap chunks and rows wider than one chunk. */
const SHAPES: [number, number][] = [
  ...ROWS.flatMap((r) => WIDTHS.map((c): [number, number] => [r, c])),
  [Math.ceil(2.5 * WASM_CHUNK / 130), 130],
  [2, WASM_CHUNK + 5],
];

Deno.test("the wasm kernels are available for these tests", () => {
  assertTrue(wasmAvailable());
});

Deno.test("wasm LayerNorm forward equals js: odd widths, several chunks, with and without bias", () => {
  const rng = new Rng(21);
  for (const [rows, C] of SHAPES) {
    for (const withBias of [true, false]) {
      const x = randn(rows * C, rng, 2, 3), w = randn(C, rng), b = withBias ? randn(C, rng) : null;
      const run = (be: Backend) =>
        withBackend(be, () => {
          const out = new Float32Array(rows * C),
            mean = new Float32Array(rows),
            rstd = new Float32Array(rows);
          layerNormForward(x, w, b, out, mean, rstd, rows, C, 1e-5);
          return { out, mean, rstd };
        });
      const js = run("js"), wasm = run("wasm");
      const tag = `rows=${rows} C=${C} bias=${withBias}`;
      assertAllClose(wasm.mean, js.mean, 1e-6, 1e-5, `mean ${tag}`);
      assertAllClose(wasm.rstd, js.rstd, 1e-6, 1e-5, `rstd ${tag}`);
      assertAllClose(wasm.out, js.out, 1e-5, 1e-5, `out ${tag}`);
    }
  }
});

Deno.test("wasm LayerNorm backward equals js: dw/db accumulate, null dx/dw/db", () => {
  const rng = new Rng(22);
  const outputs = [
    { dx: true, dw: true, db: true },
    { dx: false, dw: true, db: true },
    { dx: true, dw: false, db: false },
    { dx: true, dw: true, db: false },
    { dx: false, dw: false, db: true },
  ];
  for (const [rows, C] of SHAPES) {
    for (const want of outputs) {
      const x = randn(rows * C, rng, 2, 3), w = randn(C, rng), b = randn(C, rng);
      const dy = randn(rows * C, rng);
      const dw0 = randn(C, rng), db0 = randn(C, rng); // accumulated into, not overwritten
      const mean = new Float32Array(rows), rstd = new Float32Array(rows);
      withBackend(
        "js",
        () => layerNormForward(x, w, b, new Float32Array(rows * C), mean, rstd, rows, C, 1e-5),
      );
      const run = (be: Backend) =>
        withBackend(be, () => {
          const dx = want.dx ? new Float32Array(rows * C).fill(7) : null;
          const dw = want.dw ? dw0.slice() : null, db = want.db ? db0.slice() : null;
          layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, C);
          return { dx, dw, db };
        });
      const js = run("js"), wasm = run("wasm");
      const tag = `rows=${rows} C=${C} ${JSON.stringify(want)}`;
      if (want.dx) assertAllClose(wasm.dx!, js.dx!, 2e-5, 1e-4, `dx ${tag}`);
      if (want.dw) assertAllClose(wasm.dw!, js.dw!, 1e-4, 1e-4, `dw ${tag}`);
      if (want.db) assertAllClose(wasm.db!, js.db!, 1e-4, 1e-4, `db ${tag}`);
    }
  }
});

Deno.test("wasm cross-entropy forward/backward equal js: odd widths, ignored rows, several chunks", () => {
  const rng = new Rng(23);
  for (const [rows, cols] of SHAPES) {
    for (const ignoreIndex of [-1, 0]) {
      const logits = randn(rows * cols, rng, 3);
      const targets = new Int32Array(rows);
      for (let r = 0; r < rows; r++) targets[r] = r % 3 === 1 ? ignoreIndex : rng.int(cols);
      const run = (be: Backend) =>
        withBackend(be, () => {
          const probs = new Float32Array(rows * cols), dlogits = new Float32Array(rows * cols).fill(7);
          const { loss, count } = crossEntropyForward(logits, targets, probs, rows, cols, ignoreIndex);
          const scale = count > 0 ? 1.5 / count : 0;
          crossEntropyBackward(probs, targets, dlogits, rows, cols, ignoreIndex, scale);
          return { loss, count, probs, dlogits, scale };
        });
      const js = run("js"), wasm = run("wasm");
      const tag = `rows=${rows} cols=${cols} ignoreIndex=${ignoreIndex}`;
      assertEquals(wasm.count, js.count, `count ${tag}`);
      assertClose(wasm.loss, js.loss, 1e-5 * Math.max(1, Math.abs(js.loss)), `loss ${tag}`);
      assertAllClose(wasm.probs, js.probs, 1e-8, 1e-5, `probs ${tag}`);
      assertAllClose(wasm.dlogits, js.dlogits, 1e-6 * js.scale, 1e-5, `dlogits ${tag}`);
      for (let r = 0; r < rows; r++) {
        if (targets[r] !== ignoreIndex) continue;
        assertTrue(wasm.dlogits.subarray(r * cols, (r + 1) * cols).every((d) => d === 0), `ignored row ${r}`);
      }
    }
  }
});

Deno.test("wasm cross-entropy: every row ignored gives loss 0, count 0 and a zero gradient", () => {
  const rows = 40, cols = 9;
  const logits = randn(rows * cols, new Rng(24)), targets = new Int32Array(rows).fill(-100);
  withBackend("wasm", () => {
    const probs = new Float32Array(rows * cols), dlogits = new Float32Array(rows * cols).fill(1);
    assertEquals(crossEntropyForward(logits, targets, probs, rows, cols, -100), { loss: 0, count: 0 });
    assertClose(probs.reduce((s, p) => s + p, 0), rows, 1e-4, "each row of probs sums to 1");
    crossEntropyBackward(probs, targets, dlogits, rows, cols, -100, 0);
    assertTrue(dlogits.every((d) => d === 0));
  });
});

Deno.test("wasm cross-entropy of equal logits is log(cols) to double precision (the kernel's own log)", () => {
  for (const cols of [64, 100, 1000, 50257]) {
    for (const level of [0, -30, 55.5]) {
      const rows = 3, logits = new Float32Array(rows * cols).fill(level);
      const targets = Int32Array.from({ length: rows }, (_, r) => (r * 7919) % cols);
      const { loss } = withBackend(
        "wasm",
        () => crossEntropyForward(logits, targets, new Float32Array(rows * cols), rows, cols, -1),
      );
      assertClose(loss, Math.log(cols), 1e-15 * Math.log(cols), `cols=${cols} level=${level}`);
    }
  }
});

Deno.test("cross-entropy: an out-of-range target throws the same error on js and wasm", () => {
  const rows = 20, cols = 7;
  const logits = randn(rows * cols, new Rng(25));
  for (const bad of [7, -2]) {
    const targets = new Int32Array(rows).fill(3);
    targets[5] = -1;
    targets[11] = bad;
    const msg = `cross-entropy: target ${bad} at row 11 is outside [0, ${cols})`;
    for (const be of ["js", "wasm"] as const) {
      withBackend(be, () => {
        const probs = new Float32Array(rows * cols);
        assertThrows(() => crossEntropyForward(logits, targets, probs, rows, cols, -1), msg);
      });
    }
    withBackend("wasm", () => {
      const probs = new Float32Array(rows * cols), d = new Float32Array(rows * cols);
      assertThrows(() => crossEntropyBackward(probs, targets, d, rows, cols, -1, 1), msg);
    });
  }
});

Deno.test("wasm AdamW equals js (float32 vs float64 arithmetic): odd lengths, weight decay on/off, steps 1..10", () => {
  const rng = new Rng(26);
  const lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  for (const n of [1, 3, 63, 64, 67, 1001, 2 * WASM_CHUNK + 3]) {
    for (const wd of [0, 0.1]) {
      const p0 = randn(n, rng, 0.02);
      const grads = Array.from({ length: 10 }, () => randn(n, rng, 1e-3));
      const state = () => ({ p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n) });
      const js = state(), wasm = state();
      for (let step = 1; step <= 10; step++) {
        const g = grads[step - 1];
        withBackend("js", () => adamwUpdate(js.p, g, js.m, js.v, lr, beta1, beta2, eps, wd, step));
        withBackend("wasm", () => adamwUpdate(wasm.p, g, wasm.m, wasm.v, lr, beta1, beta2, eps, wd, step));
        if (step !== 1 && step !== 10) continue;
        const tag = `n=${n} wd=${wd} step=${step}`;
        assertAllClose(wasm.p, js.p, 1e-6 * maxAbs(js.p), 1e-6, `p ${tag}`);
        assertAllClose(wasm.m, js.m, 1e-6 * maxAbs(js.m), 2e-6, `m ${tag}`);
        assertAllClose(wasm.v, js.v, 1e-6 * maxAbs(js.v), 2e-6, `v ${tag}`);
      }
    }
  }
});

Deno.test("float64 storage takes the TypeScript loops on the wasm backend too (bit-identical to js)", () => {
  const rng = new Rng(27);
  const rows = 70, C = 13;
  const x = Float64Array.from(randn(rows * C, rng)), w = Float64Array.from(randn(C, rng));
  const b = Float64Array.from(randn(C, rng)), dy = Float64Array.from(randn(rows * C, rng));
  const targets = new Int32Array(rows).map(() => rng.int(C));
  const g = Float64Array.from(randn(rows * C, rng, 1e-3)), p0 = Float64Array.from(randn(rows * C, rng));
  const run = (be: Backend) =>
    withBackend(be, () => {
      const out = new Float64Array(rows * C), mean = new Float64Array(rows), rstd = new Float64Array(rows);
      layerNormForward(x, w, b, out, mean, rstd, rows, C, 1e-5);
      const dx = new Float64Array(rows * C), dw = new Float64Array(C), db = new Float64Array(C);
      layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, C);
      const probs = new Float64Array(rows * C), dl = new Float64Array(rows * C);
      const { loss } = crossEntropyForward(x, targets, probs, rows, C, -1);
      crossEntropyBackward(probs, targets, dl, rows, C, -1, 1 / rows);
      const p = p0.slice(), m = new Float64Array(rows * C), v = new Float64Array(rows * C);
      adamwUpdate(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.1, 3);
      return { out, mean, rstd, dx, dw, db, loss, probs, dl, p, m, v };
    });
  assertEquals(run("wasm"), run("js"));
});
