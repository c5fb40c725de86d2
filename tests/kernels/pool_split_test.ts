/**
 * Every kernel the thread pool splits gives the same bits on 2 threads as on 1, on sizes above the pool's
 * thresholds (each case checks that its kernel really was handed to the pool): element-wise passes, row passes,
 * the norms' weight gradients (split by columns, rows summed in order), the cross-entropy's loss (summed in row
 * order), AdamW, and gemm with its B-packing split too.
 *
 * @module
 */
import { onOneAndTwoThreads, withBackend } from "../_helpers/backend.ts";
import { addBias, addRows, addVec, sumRows } from "../../lib/kernels/bias.ts";
import { geluBackward, geluForward } from "../../lib/kernels/gelu.ts";
import { layerNormBackward, layerNormForward } from "../../lib/kernels/layernorm.ts";
import { gemm, gemmJs } from "../../lib/kernels/matmul.ts";
import { adamwUpdate } from "../../lib/kernels/optim.ts";
import { rmsNormBackward, rmsNormForward } from "../../lib/kernels/rmsnorm.ts";
import {
  crossEntropyBackward,
  crossEntropyForward,
  softmaxBackward,
  softmaxForward,
} from "../../lib/kernels/softmax.ts";
import { swigluBackward, swigluForward } from "../../lib/kernels/swiglu.ts";
import { jobsPublished } from "../../lib/kernels/wasm/pool.ts";
import { residentFloat32 } from "../../lib/kernels/wasm/runtime.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertEquals, assertTrue } from "../_helpers/assert.ts";

/**
 * Rows and an odd width (a SIMD tail, ragged last pieces) of the row-wise cases, elements of the flat ones: each
 * case is large enough to be split even when the worker is asleep (jobs.ts, WAKE_MIN).
 */
const ROWS = 2503, C = 133, N = 300_007;

const rng = new Rng(21);

/** A resident array of n normal(0, s²) values (the same values for both runs: drawn once, here). */
function fill(n: number, s = 1): Float32Array {
  const a = residentFloat32(n)!;
  for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
  return a;
}

/** A fresh resident copy of `a` (outputs that are accumulated into start from the same values). */
function copy(a: Float32Array): Float32Array {
  const b = residentFloat32(a.length)!;
  b.set(a);
  return b;
}

const x = fill(ROWS * C, 2), y = fill(ROWS * C), dy = fill(ROWS * C), w = fill(C), b = fill(C);
const v = fill(N, 3), u = fill(N), dv = fill(N);
const targets = Int32Array.from({ length: ROWS }, (_, r) => r % 7 === 3 ? -1 : (r * 31) % C);

/** A case: runs its kernels on the wasm backend and returns what they wrote (copied out) and any scalars. */
type Case = () => (Float32Array | number)[];

const CASES: Record<string, Case> = {
  "gelu forward and backward, in place": () => {
    const out = residentFloat32(N)!, dx = residentFloat32(N)!;
    geluForward(v, out, N);
    geluBackward(v, dv, dx, N);
    return [out, dx];
  },
  "gelu through copies (ordinary arrays)": () => {
    const out = new Float32Array(N);
    geluForward(v.slice(), out, N);
    return [out];
  },
  "swiglu forward and backward (both outputs, one skipped)": () => {
    const out = residentFloat32(N)!, dg = residentFloat32(N)!, du = residentFloat32(N)!;
    const du2 = residentFloat32(N)!;
    swigluForward(v, u, out, N);
    swigluBackward(v, u, dv, dg, du, N);
    swigluBackward(v, u, dv, null, du2, N);
    return [out, dg, du, du2];
  },
  "bias add, row add, element-wise add": () => {
    const rowsOut = residentFloat32(ROWS * C)!, vecOut = residentFloat32(ROWS * C)!, biased = copy(x);
    addRows(x, b, rowsOut, ROWS, C);
    addBias(biased, b, ROWS, C);
    addVec(x, y, vecOut, ROWS * C);
    return [rowsOut, biased, vecOut];
  },
  "row sums (the bias gradient), accumulated": () => {
    const sums = copy(b);
    sumRows(dy, ROWS, C, sums);
    return [sums];
  },
  "layernorm forward, with and without bias": () => {
    const out = residentFloat32(ROWS * C)!, mean = residentFloat32(ROWS)!, rstd = residentFloat32(ROWS)!;
    const out2 = residentFloat32(ROWS * C)!;
    layerNormForward(x, w, b, out, mean, rstd, ROWS, C, 1e-5);
    layerNormForward(x, w, null, out2, mean, rstd, ROWS, C, 1e-5);
    return [out, mean, rstd, out2];
  },
  "layernorm backward: dx, dw, db accumulated; each alone": () => {
    const mean = residentFloat32(ROWS)!, rstd = residentFloat32(ROWS)!;
    withSplitOff(() => layerNormForward(x, w, b, residentFloat32(ROWS * C)!, mean, rstd, ROWS, C, 1e-5));
    const dx = residentFloat32(ROWS * C)!, dw = copy(w), db = copy(b);
    layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, ROWS, C);
    const dxOnly = residentFloat32(ROWS * C)!, dwOnly = copy(b), dbOnly = copy(w);
    layerNormBackward(x, w, mean, rstd, dy, dxOnly, null, null, ROWS, C);
    layerNormBackward(x, w, mean, rstd, dy, null, dwOnly, null, ROWS, C);
    layerNormBackward(x, w, mean, rstd, dy, null, null, dbOnly, ROWS, C);
    return [dx, dw, db, dxOnly, dwOnly, dbOnly];
  },
  "rmsnorm forward and backward (dx and dw, dw alone)": () => {
    const out = residentFloat32(ROWS * C)!, rstd = residentFloat32(ROWS)!;
    rmsNormForward(x, w, out, rstd, ROWS, C, 1e-5);
    const dx = residentFloat32(ROWS * C)!, dw = copy(w), dwOnly = copy(b);
    rmsNormBackward(x, w, rstd, dy, dx, dw, ROWS, C);
    rmsNormBackward(x, w, rstd, dy, null, dwOnly, ROWS, C);
    return [out, rstd, dx, dw, dwOnly];
  },
  "softmax forward and backward": () => {
    const p = residentFloat32(ROWS * C)!, dx = residentFloat32(ROWS * C)!;
    softmaxForward(x, p, ROWS, C);
    softmaxBackward(p, dy, dx, ROWS, C);
    return [p, dx];
  },
  "cross-entropy forward (loss summed in row order) and backward, ignored rows": () => {
    const probs = residentFloat32(ROWS * C)!, dx = residentFloat32(ROWS * C)!;
    const { loss, count } = crossEntropyForward(x, targets, probs, ROWS, C, -1);
    crossEntropyBackward(probs, targets, dx, ROWS, C, -1, 1 / count);
    return [probs, dx, loss, count];
  },
  "adamw over a flat buffer": () => {
    const p = copy(v), m = copy(u), vv = residentFloat32(N)!;
    for (let i = 0; i < N; i++) vv[i] = u[i] * u[i];
    adamwUpdate(p, dv, m, vv, 1e-3, 0.9, 0.999, 1e-8, 0.1, 3);
    return [p, m, vv];
  },
};

// Runs `f` with the pool's split unused: the reference values of a setup step (a forward before a backward case)
// must not count as that case's split.
let splitOff = 0;
function withSplitOff(f: () => void): void {
  const before = jobsPublished();
  f();
  splitOff += jobsPublished() - before;
}

/** Runs every case; returns each one's outputs and how many jobs it handed to the pool. */
function runCases(): Record<string, { out: (Float32Array | number)[]; jobs: number }> {
  return withBackend("wasm", () => {
    const res: Record<string, { out: (Float32Array | number)[]; jobs: number }> = {};
    for (const [name, f] of Object.entries(CASES)) {
      const before = jobsPublished();
      splitOff = 0;
      const out = f().map((o) => typeof o === "number" ? o : o.slice());
      res[name] = { out, jobs: jobsPublished() - before - splitOff };
    }
    return res;
  });
}

Deno.test("pooled kernels on 2 threads give the same bits as on 1 (each split over the pool)", async () => {
  const { one, two } = await onOneAndTwoThreads(runCases);
  for (const name of Object.keys(CASES)) {
    assertEquals(one[name].jobs, 0, `${name}: one thread hands nothing to the pool`);
    assertTrue(two[name].jobs > 0, `${name}: split over the pool on two threads`);
    one[name].out.forEach((want, i) => {
      const got = two[name].out[i];
      if (typeof want === "number") assertEquals(got, want, `${name}: scalar ${i}`);
      else assertAllClose(got as Float32Array, want, 0, 0, `${name}: output ${i}`);
    });
  }
});

Deno.test("gemm with parallel B-packing and several depth blocks: 2 threads equal 1 thread and the js reference", async () => {
  // K > 256 (two depth blocks), N not a multiple of 8 (a padded panel), M not a multiple of 6
  const M = 257, K = 600, Nc = 131;
  const A = fill(M * K), B = fill(K * Nc), C0 = fill(M * Nc);
  const layouts = [false, true].flatMap((transA) => [false, true].map((transB) => ({ transA, transB })));
  const run = () =>
    withBackend("wasm", () =>
      layouts.flatMap(({ transA, transB }) =>
        [false, true].map((accumulate) => {
          const out = copy(C0), before = jobsPublished();
          gemm({ transA, transB, M, N: Nc, K, A, aOff: 0, B, bOff: 0, C: out, cOff: 0, accumulate });
          return { out: out.slice(), jobs: jobsPublished() - before };
        })
      ));
  const { one, two } = await onOneAndTwoThreads(run);
  let i = 0;
  for (const { transA, transB } of layouts) {
    for (const accumulate of [false, true]) {
      const what = `gemm transA=${transA} transB=${transB} accumulate=${accumulate}`;
      // packing and rows: two jobs on two threads, none on one
      assertEquals([one[i].jobs, two[i].jobs], [0, 2], `${what}: jobs handed to the pool`);
      assertAllClose(two[i].out, one[i].out, 0, 0, what);
      const want = C0.slice();
      gemmJs({ transA, transB, M, N: Nc, K, A, aOff: 0, B, bOff: 0, C: want, cOff: 0, accumulate });
      assertAllClose(one[i].out, want, 1e-4, 1e-4, `${what} against js`);
      i++;
    }
  }
});
