/**
 * Kernel benches at the shapes of a GPT with n_embd 256, block 128, batch 8 (see `_shapes.ts`).
 *
 * ```sh
 * deno bench bench/kernels_bench.ts                              # table, grouped by kernel
 * deno bench --json bench/kernels_bench.ts | deno run bench/_shapes.ts   # + GFLOP/s for gemm and attention
 * ```
 *
 * Every case warms its kernel up itself before the first timed call: Deno's `warmup` option is only a hint
 * (measured on Deno 2.9.6, a case that takes milliseconds gets a single warm-up call whatever `warmup` says),
 * and V8 needs ~30 calls before it optimises a function. The warm-up runs 30 calls on a small instance of the
 * same problem (same layout and array types, so the same type feedback) and one at full size, outside the
 * timed region (`b.start()`/`b.end()`).
 *
 * @module
 */
import { attentionBackward, type AttentionDims, attentionForward } from "../lib/kernels/attention.ts";
import { geluBackward, geluForward } from "../lib/kernels/gelu.ts";
import { layerNormBackward, layerNormForward } from "../lib/kernels/layernorm.ts";
import { gemm } from "../lib/kernels/matmul.ts";
import { adamwUpdate } from "../lib/kernels/optim.ts";
import { crossEntropyBackward, crossEntropyForward } from "../lib/kernels/softmax.ts";
import { Rng } from "../lib/random.ts";
import {
  ATTN,
  ATTN_BWD_NAME,
  ATTN_FWD_NAME,
  GEMM_CASES,
  type GemmCase,
  N_EMBD,
  randn,
  ROWS,
} from "./_shapes.ts";

/** Calls of the kernel before timing starts (V8 tiers a function up after roughly this many). */
const WARMUP_CALLS = 30;

/**
 * Registers one bench. `small` runs the kernel on a cheap instance (warm-up), `run` on the benchmarked shape;
 * `n` bounds the timed iterations of slow cases.
 */
function kernelBench(group: string, name: string, small: () => void, run: () => void, n?: number): void {
  let warmed = false;
  Deno.bench({
    name,
    group,
    n,
    warmup: 1,
    fn(b) {
      if (!warmed) {
        for (let i = 0; i < WARMUP_CALLS; i++) small();
        run();
        warmed = true;
      }
      b.start();
      run();
      b.end();
    },
  });
}

// ---- gemm: the three layouts of Linear (fwd NT, dx NN, dW TN) ----

/** Operands for one gemm case; A and B are stored as the layout says (A (K, M) for TN, B (N, K) for NT). */
function gemmRunner(c: GemmCase, rng: Rng): () => void {
  const A = randn(c.M * c.K, rng), B = randn(c.K * c.N, rng), C = new Float32Array(c.M * c.N);
  const transA = c.layout === "TN", transB = c.layout === "NT";
  return () =>
    gemm({ transA, transB, M: c.M, N: c.N, K: c.K, A, aOff: 0, B, bOff: 0, C, cOff: 0, accumulate: false });
}

const rng = new Rng(0);
for (const c of GEMM_CASES) {
  const small: GemmCase = { ...c, M: c.M / 8, K: c.K / 8, N: c.N / 8 };
  kernelBench("gemm", c.name, gemmRunner(small, rng), gemmRunner(c, rng), 8);
}

// ---- attention: q, k, v (BH, T, D), causal mask ----

function attentionRunners(BH: number): { fwd: () => void; bwd: () => void } {
  const { T, D } = ATTN;
  const n = BH * T * D;
  const q = randn(n, rng), k = randn(n, rng), v = randn(n, rng), dy = randn(n, rng);
  const probs = new Float32Array(BH * T * T), y = new Float32Array(n);
  const dq = new Float32Array(n), dk = new Float32Array(n), dv = new Float32Array(n);
  const mask = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) mask.fill(1, i * T, i * T + i + 1);
  const dims: AttentionDims = { BH, Tq: T, Tk: T, D, scale: 1 / Math.sqrt(D) };
  const fwd = () => attentionForward(q, k, v, mask, probs, y, dims, null, 1);
  fwd(); // probs for the backward pass
  const bwd = () => attentionBackward(q, k, v, probs, dy, dq, dk, dv, dims, null, 1);
  return { fwd, bwd };
}

{
  const small = attentionRunners(1), full = attentionRunners(ATTN.BH);
  kernelBench("attention", ATTN_FWD_NAME, small.fwd, full.fwd, 10);
  kernelBench("attention", ATTN_BWD_NAME, small.bwd, full.bwd, 10);
}

// ---- layernorm: (1024, 256) ----

{
  const x = randn(ROWS * N_EMBD, rng), w = randn(N_EMBD, rng), bias = randn(N_EMBD, rng);
  const out = new Float32Array(ROWS * N_EMBD), mean = new Float32Array(ROWS), rstd = new Float32Array(ROWS);
  const dy = randn(ROWS * N_EMBD, rng), dx = new Float32Array(ROWS * N_EMBD);
  const dw = new Float32Array(N_EMBD), db = new Float32Array(N_EMBD);
  const fwd = () => layerNormForward(x, w, bias, out, mean, rstd, ROWS, N_EMBD, 1e-5);
  const bwd = () => layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, ROWS, N_EMBD);
  fwd();
  kernelBench("layernorm", `layernorm fwd rows=${ROWS} C=${N_EMBD}`, fwd, fwd);
  kernelBench("layernorm", `layernorm bwd rows=${ROWS} C=${N_EMBD}`, bwd, bwd);
}

// ---- gelu: the MLP hidden activation, (1024, 1024) ----

{
  const n = ROWS * 4 * N_EMBD;
  const x = randn(n, rng), out = new Float32Array(n), dy = randn(n, rng), dx = new Float32Array(n);
  const fwd = () => geluForward(x, out, n);
  const bwd = () => geluBackward(x, dy, dx, n);
  kernelBench("gelu", `gelu fwd n=${n}`, fwd, fwd);
  kernelBench("gelu", `gelu bwd n=${n}`, bwd, bwd);
}

// ---- cross-entropy: logits (1024, 512) ----

{
  const V = 512;
  const logits = randn(ROWS * V, rng),
    probs = new Float32Array(ROWS * V),
    dlogits = new Float32Array(ROWS * V);
  const targets = new Int32Array(ROWS);
  for (let i = 0; i < ROWS; i++) targets[i] = rng.int(V);
  const fwd = () => {
    crossEntropyForward(logits, targets, probs, ROWS, V, -1);
  };
  const bwd = () => crossEntropyBackward(probs, targets, dlogits, ROWS, V, -1, 1 / ROWS);
  fwd();
  kernelBench("cross-entropy", `cross-entropy fwd rows=${ROWS} V=${V}`, fwd, fwd);
  kernelBench("cross-entropy", `cross-entropy bwd rows=${ROWS} V=${V}`, bwd, bwd);
}

// ---- AdamW update on 1M floats ----

{
  const n = 1 << 20;
  const p = randn(n, rng, 0.02), g = randn(n, rng, 1e-3), m = new Float32Array(n), v = new Float32Array(n);
  let step = 0;
  const run = () => adamwUpdate(p, g, m, v, 3e-4, 0.9, 0.999, 1e-8, 0.01, ++step);
  kernelBench("adamw", `adamw update n=${n}`, run, run);
}
