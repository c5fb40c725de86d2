/**
 * Kernel benches per backend at the shapes of a GPT with n_embd 256, block 128, batch 8 (see `_shapes.ts`).
 *
 * ```sh
 * deno bench --allow-read --allow-env --allow-ffi bench/kernels_bench.ts          # table, grouped by kernel
 * deno bench --allow-read --allow-env --allow-ffi --json bench/kernels_bench.ts | deno run bench/_shapes.ts
 * ```
 *
 * Every kernel runs once per variant, and the variant is the suffix of the case name:
 *
 * - `[js]`: the plain TypeScript kernels (`setBackend("js")`).
 * - `[wasm]`: the WebAssembly SIMD kernels on ordinary `Float32Array`s, so each call copies its operands into
 *   the kernel memory and its outputs back.
 * - `[wasm, resident]`: the same kernels on arrays that live in the kernel memory (`residentFloat32`, where a
 *   training step's arena puts its activations), used in place with no copies.
 * - `[blas]` (gemm only, since `blas` replaces only gemm and the other kernels run on wasm under it): OpenBLAS
 *   `cblas_sgemm` through Deno's FFI on ordinary arrays. Needs `libopenblas.so.0` and `--allow-ffi`; without
 *   them the blas cases are left out (one line on stderr says why) rather than run on the wasm fallback.
 *
 * Everything runs on one thread (the wasm pool and OpenBLAS both default to 1). Each case selects its backend
 * on every call, before the timed region, and goes back to `setBackend("auto")` after it, so no case depends on
 * the one before. Every case gets the same seeded data for a given shape, whatever its backend.
 *
 * Every case warms its kernel up itself before the first timed call: Deno's `warmup` option is only a hint
 * (measured on Deno 2.9.6, a case that takes milliseconds gets a single warm-up call whatever `warmup` says),
 * and V8 needs ~30 calls before it optimises a function. The warm-up runs, with the case's backend selected,
 * 30 calls on a small instance of the same problem (same layout and array kind, so the same type feedback and
 * the same code paths) and one at full size, outside the timed region (`b.start()`/`b.end()`). A case builds
 * its operands on its first call, so only the cases that run (see `--filter`) allocate.
 *
 * @module
 */
import { attentionBackward, type AttentionDims, attentionForward } from "../lib/kernels/attention.ts";
import { availableBackends, type BackendName, setBackend } from "../lib/kernels/backend.ts";
import { blasUnavailableReason } from "../lib/kernels/blas.ts";
import { flashAttentionBackward, flashAttentionForward } from "../lib/kernels/flash.ts";
import { geluBackward, geluForward } from "../lib/kernels/gelu.ts";
import { layerNormBackward, layerNormForward } from "../lib/kernels/layernorm.ts";
import { gemm } from "../lib/kernels/matmul.ts";
import { adamwUpdate } from "../lib/kernels/optim.ts";
import { crossEntropyBackward, crossEntropyForward } from "../lib/kernels/softmax.ts";
import { setThreads } from "../lib/kernels/wasm/pool.ts";
import { residentFloat32 } from "../lib/kernels/wasm/runtime.ts";
import { Rng } from "../lib/random.ts";
import { FLASH_TILE } from "../lib/tensor/ops/flash.ts";
import {
  ATTN,
  ATTN_BWD_NAME,
  ATTN_FWD_NAME,
  ATTN_HEADS,
  benchName,
  FLASH_BWD_NAME,
  FLASH_FWD_NAME,
  GEMM_CASES,
  type GemmCase,
  N_EMBD,
  randn,
  ROWS,
} from "./_shapes.ts";

/** Calls of the kernel before timing starts (V8 tiers a function up after roughly this many). */
const WARMUP_CALLS = 30;

/** Seed of every case's data (each case draws from its own generator, so the backends see the same numbers). */
const SEED = 0;

/** Makes float32 storage of n zeros: an ordinary array, or one in the kernel memory. */
type Alloc = (n: number) => Float32Array;

/** One way of running a kernel: which backend is selected and where the operands live. */
interface Variant {
  /** The suffix of the case name, in brackets (`[wasm, resident]`). */
  label: string;
  /** The backend selected while the case runs. */
  backend: BackendName;
  /** Whether the operands are allocated in the kernel memory. */
  resident: boolean;
}

const ordinary: Alloc = (n) => new Float32Array(n);

const resident: Alloc = (n) => {
  const a = residentFloat32(n);
  if (a === null) throw new Error(`kernels_bench: no room for ${n} floats in the wasm kernel memory`);
  return a;
};

const JS: Variant = { label: "js", backend: "js", resident: false };
const WASM: Variant = { label: "wasm", backend: "wasm", resident: false };
const WASM_RESIDENT: Variant = { label: "wasm, resident", backend: "wasm", resident: true };
const BLAS: Variant = { label: "blas", backend: "blas", resident: false };

const available = availableBackends();
// every case on one thread (the library's default pool would use every core)
setThreads(1);
if (!available.includes("wasm")) console.warn("kernels_bench: WebAssembly SIMD unavailable; no wasm cases");
if (!available.includes("blas")) {
  console.warn(`kernels_bench: backend blas: ${blasUnavailableReason()}; no blas cases`);
}

/** The variants that can run here, for kernels that `blas` does not replace (everything but gemm). */
const VARIANTS: readonly Variant[] = [JS, WASM, WASM_RESIDENT].filter((v) => available.includes(v.backend));
/** The variants of gemm: {@link VARIANTS} and `blas` where OpenBLAS loaded. */
const GEMM_VARIANTS: readonly Variant[] = [JS, WASM, WASM_RESIDENT, BLAS].filter((v) =>
  available.includes(v.backend)
);

/** Selects `name`, refusing a fallback (which would time one backend under another's label). */
function selectBackend(name: BackendName): void {
  const got = setBackend(name);
  if (got !== name) throw new Error(`kernels_bench: backend ${name} requested, ${got} selected`);
}

/** A cheap instance of the problem (for the warm-up) and the benchmarked one. */
interface Runners {
  /** The same kernel on a small instance, same layout and array kind. */
  small: () => void;
  /** The benchmarked call. */
  run: () => void;
}

/**
 * Registers one case `name [variant]` in `group`. `make` builds the operands with the variant's storage on the
 * case's first call (with its backend selected) and returns the runners; `n` bounds the timed iterations of slow
 * cases.
 */
function kernelBench(
  group: string,
  name: string,
  variant: Variant,
  make: (alloc: Alloc, rng: Rng) => Runners,
  n?: number,
): void {
  let runners: Runners | undefined;
  Deno.bench({
    name: benchName(name, variant.label),
    group,
    n,
    warmup: 1,
    fn(b) {
      selectBackend(variant.backend);
      try {
        if (runners === undefined) {
          const r = make(variant.resident ? resident : ordinary, new Rng(SEED));
          for (let i = 0; i < WARMUP_CALLS; i++) r.small();
          r.run();
          runners = r;
        }
        b.start();
        runners.run();
        b.end();
      } finally {
        setBackend("auto");
      }
    },
  });
}

/** n normal(0, std²) samples from `rng` in storage from `alloc`. */
function randnIn(alloc: Alloc, n: number, rng: Rng, std = 1): Float32Array {
  const a = alloc(n);
  a.set(randn(n, rng, std));
  return a;
}

// ---- gemm: the three layouts of Linear (fwd NT, dx NN, dW TN), and a square 512³ ----

/** Operands for one gemm case; A and B are stored as the layout says (A (K, M) for TN, B (N, K) for NT). */
function gemmRunner(c: GemmCase, alloc: Alloc, rng: Rng): () => void {
  const A = randnIn(alloc, c.M * c.K, rng), B = randnIn(alloc, c.K * c.N, rng), C = alloc(c.M * c.N);
  const transA = c.layout === "TN", transB = c.layout === "NT";
  return () =>
    gemm({ transA, transB, M: c.M, N: c.N, K: c.K, A, aOff: 0, B, bOff: 0, C, cOff: 0, accumulate: false });
}

for (const c of GEMM_CASES) {
  const small: GemmCase = { ...c, M: c.M / 8, K: c.K / 8, N: c.N / 8 };
  for (const v of GEMM_VARIANTS) {
    kernelBench("gemm", c.name, v, (alloc, rng) => ({
      small: gemmRunner(small, alloc, rng),
      run: gemmRunner(c, alloc, rng),
    }), 8);
  }
}

// ---- attention: q, k, v (BH, T, D), causal mask ----

function attentionRunners(BH: number, alloc: Alloc, rng: Rng): { fwd: () => void; bwd: () => void } {
  const { T, D } = ATTN;
  const n = BH * T * D;
  const q = randnIn(alloc, n, rng), k = randnIn(alloc, n, rng), v = randnIn(alloc, n, rng);
  const dy = randnIn(alloc, n, rng);
  const probs = alloc(BH * T * T), y = alloc(n);
  const dq = alloc(n), dk = alloc(n), dv = alloc(n);
  const mask = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) mask.fill(1, i * T, i * T + i + 1);
  const dims: AttentionDims = { BH, Tq: T, Tk: T, D, scale: 1 / Math.sqrt(D) };
  const fwd = () => attentionForward(q, k, v, mask, probs, y, dims, null, 1);
  fwd(); // probs for the backward pass
  const bwd = () => attentionBackward(q, k, v, probs, dy, dq, dk, dv, dims, null, 1);
  return { fwd, bwd };
}

for (const pass of ["fwd", "bwd"] as const) {
  for (const v of VARIANTS) {
    kernelBench("attention", pass === "fwd" ? ATTN_FWD_NAME : ATTN_BWD_NAME, v, (alloc, rng) => {
      const small = attentionRunners(1, alloc, rng), full = attentionRunners(ATTN.BH, alloc, rng);
      return { small: small[pass], run: full[pass] };
    }, 10);
  }
}

// ---- flash attention: the same shape, packed qkv (B, T, 3C) with C = heads · D, causal mask ----

function flashRunners(B: number, alloc: Alloc, rng: Rng): { fwd: () => void; bwd: () => void } {
  const { T, D } = ATTN, H = ATTN_HEADS, C = H * D;
  const x = randnIn(alloc, B * T * 3 * C, rng), dy = randnIn(alloc, B * T * C, rng);
  const y = alloc(B * T * C), dx = alloc(B * T * 3 * C), lse = new Float64Array(B * H * T);
  const mask = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) mask.fill(1, i * T, i * T + i + 1);
  const fwd = () => flashAttentionForward(x, mask, y, lse, B, T, H, D, FLASH_TILE);
  fwd(); // y and lse for the backward pass
  const bwd = () => flashAttentionBackward(x, y, dy, lse, mask, dx, B, T, H, D, FLASH_TILE);
  return { fwd, bwd };
}

for (const pass of ["fwd", "bwd"] as const) {
  for (const v of VARIANTS) {
    kernelBench("attention", pass === "fwd" ? FLASH_FWD_NAME : FLASH_BWD_NAME, v, (alloc, rng) => {
      const small = flashRunners(1, alloc, rng), full = flashRunners(ATTN.BH / ATTN_HEADS, alloc, rng);
      return { small: small[pass], run: full[pass] };
    }, 10);
  }
}

// ---- layernorm: (1024, 256) ----

function layerNormRunners(alloc: Alloc, rng: Rng): { fwd: () => void; bwd: () => void } {
  const x = randnIn(alloc, ROWS * N_EMBD, rng), w = randnIn(alloc, N_EMBD, rng);
  const bias = randnIn(alloc, N_EMBD, rng);
  const out = alloc(ROWS * N_EMBD), mean = alloc(ROWS), rstd = alloc(ROWS);
  const dy = randnIn(alloc, ROWS * N_EMBD, rng), dx = alloc(ROWS * N_EMBD);
  const dw = alloc(N_EMBD), db = alloc(N_EMBD);
  const fwd = () => layerNormForward(x, w, bias, out, mean, rstd, ROWS, N_EMBD, 1e-5);
  const bwd = () => layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, ROWS, N_EMBD);
  fwd(); // mean and rstd for the backward pass
  return { fwd, bwd };
}

for (const pass of ["fwd", "bwd"] as const) {
  for (const v of VARIANTS) {
    kernelBench("layernorm", `layernorm ${pass} rows=${ROWS} C=${N_EMBD}`, v, (alloc, rng) => {
      const run = layerNormRunners(alloc, rng)[pass];
      return { small: run, run };
    });
  }
}

// ---- gelu: the MLP hidden activation, (1024, 1024) ----

const GELU_N = ROWS * 4 * N_EMBD;

function geluRunners(alloc: Alloc, rng: Rng): { fwd: () => void; bwd: () => void } {
  const n = GELU_N;
  const x = randnIn(alloc, n, rng), out = alloc(n), dy = randnIn(alloc, n, rng), dx = alloc(n);
  return { fwd: () => geluForward(x, out, n), bwd: () => geluBackward(x, dy, dx, n) };
}

for (const pass of ["fwd", "bwd"] as const) {
  for (const v of VARIANTS) {
    kernelBench("gelu", `gelu ${pass} n=${GELU_N}`, v, (alloc, rng) => {
      const run = geluRunners(alloc, rng)[pass];
      return { small: run, run };
    });
  }
}

// ---- cross-entropy: logits (1024, 512); the int32 targets are ordinary arrays (the kernel copies them) ----

const VOCAB = 512;

function crossEntropyRunners(alloc: Alloc, rng: Rng): { fwd: () => void; bwd: () => void } {
  const logits = randnIn(alloc, ROWS * VOCAB, rng),
    probs = alloc(ROWS * VOCAB),
    dlogits = alloc(ROWS * VOCAB);
  const targets = new Int32Array(ROWS);
  for (let i = 0; i < ROWS; i++) targets[i] = rng.int(VOCAB);
  const fwd = () => {
    crossEntropyForward(logits, targets, probs, ROWS, VOCAB, -1);
  };
  const bwd = () => crossEntropyBackward(probs, targets, dlogits, ROWS, VOCAB, -1, 1 / ROWS);
  fwd(); // probs for the backward pass
  return { fwd, bwd };
}

for (const pass of ["fwd", "bwd"] as const) {
  for (const v of VARIANTS) {
    kernelBench("cross-entropy", `cross-entropy ${pass} rows=${ROWS} V=${VOCAB}`, v, (alloc, rng) => {
      const run = crossEntropyRunners(alloc, rng)[pass];
      return { small: run, run };
    });
  }
}

// ---- AdamW update on 1M floats ----

const ADAMW_N = 1 << 20;

for (const v of VARIANTS) {
  kernelBench("adamw", `adamw update n=${ADAMW_N}`, v, (alloc, rng) => {
    const n = ADAMW_N;
    const p = randnIn(alloc, n, rng, 0.02), g = randnIn(alloc, n, rng, 1e-3), m = alloc(n), s = alloc(n);
    let step = 0;
    const run = () => adamwUpdate(p, g, m, s, 3e-4, 0.9, 0.999, 1e-8, 0.01, ++step);
    return { small: run, run };
  });
}
