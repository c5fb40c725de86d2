// Smoke test of the npm build under plain Node (>= 20): `node tests/npm/smoke.mjs` after
// `deno run --allow-read --allow-write=dist --allow-env scripts/build_npm.ts`.
// Imports the package entry and a sub-path entry, trains a tiny GPT for a few AdamW steps (the loss must fall), generates a few tokens,
// and checks a gemm against a plain loop: with the wasm kernels, on the worker pool (dist's worker.js).
// Prints one line "npm smoke: ok …" and exits 0, or throws (exit 1).
import assert from "node:assert/strict";
// dist/ exists only after the build: imported by computed URLs, so type-checking the repo does not look for it
const dist = new URL("../../dist/", import.meta.url);
const { AdamW, createGPT, generate, Rng, uniqueParams } = await import(new URL("mod.js", dist).href);
const { gemm } = await import(new URL("lib/kernels/matmul.js", dist).href);
// a sub-path entry (package.json exports "./nn") loads and shares the entry's classes
const nn = await import(new URL("lib/nn/mod.js", dist).href);
assert.equal(nn.createGPT, createGPT, "lib/nn/mod.js re-exports the same createGPT as mod.js");
const { getBackend } = await import(new URL("lib/kernels/backend.js", dist).href);
const { setThreads, whenThreadsReady } = await import(new URL("lib/kernels/wasm/pool.js", dist).href);

const started = performance.now();

// --- a tiny GPT learns a fixed sequence ---------------------------------------------------------------------------
const V = 12, T = 8, B = 2;
const model = createGPT(
  { vocabSize: V, blockSize: T, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true },
  1,
);
const opt = new AdamW(uniqueParams(model.namedParameters()), { lr: 1e-2 });
const rng = new Rng(7);
const x = new Int32Array(B * T), y = new Int32Array(B * T);
for (let b = 0; b < B; b++) {
  for (let t = 0; t < T; t++) {
    x[b * T + t] = (b * 3 + t) % V;
    y[b * T + t] = (b * 3 + t + 1) % V;
  }
}
const losses = [];
for (let step = 0; step < 12; step++) {
  const { loss } = model.forward(x, B, T, { targets: y });
  losses.push(loss.item());
  loss.backward();
  opt.step();
  opt.zeroGrad();
}
assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses.join(", ")}`);
assert.ok(
  losses.at(-1) < losses[0] * 0.8,
  `loss did not fall: ${losses[0].toFixed(3)} -> ${losses.at(-1).toFixed(3)}`,
);

// --- generation with the KV cache ---------------------------------------------------------------------------------
const out = generate(model, new Int32Array([0, 1, 2]), { maxNewTokens: 5, sampling: { greedy: true }, rng });
assert.equal(out.length, 8);
assert.deepEqual([...out.slice(0, 3)], [0, 1, 2]);
for (const id of out) assert.ok(Number.isInteger(id) && id >= 0 && id < V, `token ${id} outside [0, ${V})`);

// --- the kernels: wasm SIMD with the worker pool (dist's worker.js under node:worker_threads) where the runtime
// has relaxed SIMD (Node >= 22; Node 20 needs --experimental-wasm-relaxed-simd), else the js backend. Either
// way a gemm large enough for the pool must match a plain loop. LCM_SMOKE_REQUIRE_WASM=1 makes wasm mandatory.
const backend = getBackend();
if (process.env.LCM_SMOKE_REQUIRE_WASM === "1") {
  assert.equal(backend, "wasm", "the wasm kernels did not load");
}
let threads = 1;
if (backend === "wasm") {
  threads = setThreads(2);
  assert.equal(threads, 2, "the worker pool did not start");
  let timer;
  await Promise.race([
    whenThreadsReady(),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("kernel workers did not start in 30 s")), 30_000);
    }),
  ]);
  clearTimeout(timer);
}
const M = 192, N = 160, K = 128; // 3.9 M multiply-adds: above the pool's threshold
const A = new Float32Array(M * K), Bm = new Float32Array(K * N), C = new Float32Array(M * N);
const r = new Rng(3);
for (let i = 0; i < A.length; i++) A[i] = r.next() - 0.5;
for (let i = 0; i < Bm.length; i++) Bm[i] = r.next() - 0.5;
gemm({ transA: false, transB: false, M, N, K, A, aOff: 0, B: Bm, bOff: 0, C, cOff: 0, accumulate: false });
let maxErr = 0;
for (let i = 0; i < M; i++) {
  for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[i * K + k] * Bm[k * N + j];
    maxErr = Math.max(maxErr, Math.abs(s - C[i * N + j]));
  }
}
assert.ok(maxErr < 1e-4, `gemm (${backend}, ${threads} threads) differs from a plain loop by ${maxErr}`);
setThreads(1);

console.log(
  `npm smoke: ok (node ${process.versions.node}; loss ${losses[0].toFixed(3)} -> ${
    losses.at(-1).toFixed(3)
  } ` +
    `in ${losses.length} steps; generated [${
      [...out.slice(3)].join(", ")
    }]; ${backend} backend, ${threads} ` +
    `thread(s), gemm max error ${maxErr.toExponential(1)}; ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s)`,
);
