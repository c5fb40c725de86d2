/**
 * A persistent pool of kernel worker threads sharing the WASM memory (node:worker_threads, which Deno and Node both
 * provide). Workers are started once (`setThreads`, or on the first kernel call that could use them: then with
 * {@link defaultThreads}), wait on a shared control block between jobs, and are unref'd so they never keep a
 * process alive. Until they report ready, work runs on the calling thread.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { runPiece, setPieceMemory, sliceKernel, type SliceOp } from "./pieces.ts";
import {
  CTRL,
  OP_ADD_ROWS,
  OP_ADD_VEC,
  OP_BLAS,
  OP_GELU_BWD,
  OP_GELU_FWD,
  OP_GEMM,
  OP_LN_FWD,
  OP_SUM_ROWS,
} from "./protocol.ts";
import { sharedKernels, wasmKernels } from "./runtime.ts";

/** The worker module beside this one: `worker.ts` in the sources, `worker.js` in the compiled npm package. */
const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);

/** Multiply-adds below which a product runs on the calling thread alone. */
const PARALLEL_MIN_WORK = 1 << 21;

let workers: Worker[] = [];
let ready = 0;
let readyWaiters: Array<() => void> = [];
let generation = 0;
/** Threads in use; 0 until chosen (by setThreads, or by the first kernel call: see {@link activeWorkers}). */
let threads = 0;
let control = newControl();
let controlF64 = new Float64Array(control.buffer);

// The control block: shared memory, except where there is none (a browser page without cross-origin isolation
// has no SharedArrayBuffer), which also means no workers.
function newControl(): Int32Array {
  const bytes = CTRL.LENGTH * 4;
  return new Int32Array(
    typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes),
  );
}

/**
 * Threads in use (1 = the calling thread only). Before any {@link setThreads} this is the default the first
 * kernel call starts ({@link defaultThreads}), and asking starts it.
 */
export function getThreads(): number {
  return threads === 0 ? startThreads(defaultThreads(), true) : threads;
}

/** Default thread count: every core the runtime reports. */
export function defaultThreads(): number {
  const n = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency;
  return n && n > 0 ? n : 1;
}

/**
 * Sets the number of threads (including the caller); starts or stops workers as needed. Returns the number in
 * use: 1 where there is no shared memory, fewer when a worker could not start (with a warning on stderr).
 */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${n}`);
  return startThreads(n, false);
}

/**
 * Whether the worker module may be loaded without asking: Deno asks for read access to it (a prompt on a
 * terminal), so the default pool starts only where that is already granted. Node and browsers load it freely.
 */
function workerLoadable(): boolean {
  type Query = (d: { name: "read"; path: URL }) => { state: string };
  const permissions = (globalThis as { Deno?: { permissions?: { querySync?: Query } } }).Deno?.permissions;
  if (permissions?.querySync === undefined || WORKER_URL.protocol !== "file:") return true;
  return permissions.querySync({ name: "read", path: WORKER_URL }).state === "granted";
}

/** {@link setThreads}; the default (`byDefault`) stays on one thread, silently, where workers cannot start. */
function startThreads(n: number, byDefault: boolean): number {
  const sk = sharedKernels();
  if (sk === null || typeof SharedArrayBuffer !== "function" || (byDefault && !workerLoadable())) n = 1;
  if (n === threads) return n;
  // A new generation: old workers wait on the old control block, so they can never take a new job even before
  // terminate() has reached them.
  for (const w of workers) void w.terminate();
  workers = [];
  ready = 0;
  control = newControl();
  controlF64 = new Float64Array(control.buffer);
  const gen = ++generation;
  while (sk !== null && workers.length < n - 1) {
    const index = workers.length + 1;
    let w: Worker;
    try {
      w = new Worker(WORKER_URL);
    } catch (e) {
      // e.g. no permission to read the worker module: keep the threads that did start
      if (!byDefault) {
        console.warn(
          `threads: could not start a worker (${(e as Error).message}); using ${workers.length + 1}`,
        );
      }
      n = workers.length + 1;
      break;
    }
    w.once("message", () => {
      w.unref(); // a started worker never keeps the process alive
      if (gen !== generation) return;
      ready++;
      if (ready === workers.length) {
        for (const f of readyWaiters) f();
        readyWaiters = [];
      }
    });
    w.postMessage({ bytes: sk.bytes, memory: sk.memory, control: control.buffer, index });
    workers.push(w);
  }
  threads = n;
  return n;
}

/** Resolves once every worker has started (immediately when there are none). */
export function whenThreadsReady(): Promise<void> {
  if (ready === workers.length) return Promise.resolve();
  return new Promise((resolve) => readyWaiters.push(resolve));
}

/**
 * Worker threads that have started and take a share of the work now (the calling thread aside): fewer than
 * `getThreads() - 1` while they start.
 */
export function readyWorkers(): number {
  return activeWorkers();
}

/** Workers that are ready to take a share; the first call before any setThreads starts the default pool. */
function activeWorkers(): number {
  if (threads === 0) startThreads(defaultThreads(), true);
  // the shared counter, not the "ready" messages: a loop that never awaits never receives those
  return workers.length > 0 && Atomics.load(control, CTRL.READY) === workers.length ? workers.length : 0;
}

/** Operands of one packed gemm in the shared memory (byte pointers; leading dimensions in floats). */
export interface GemmRowsJob {
  /** Rows of C. */
  M: number;
  /** Columns of C. */
  N: number;
  /** Depth of this block. */
  K: number;
  /** op(A)'s storage. */
  a: number;
  /** Leading dimension of A as stored. */
  lda: number;
  /** A is stored (K, M). */
  transA: boolean;
  /** op(B) packed by pack_b / pack_bt. */
  p: number;
  /** C. */
  c: number;
  /** Leading dimension of C. */
  ldc: number;
  /** Add into C instead of overwriting it. */
  acc: boolean;
  /** The first of `threads` private A-packing areas, `qStride` bytes apart. */
  q: number;
  /** Bytes between the threads' A-packing areas. */
  qStride: number;
}

/** Runs rows [0, M) of a packed gemm (see gemm_rows) split over the pool. */
export function gemmRowsParallel(j: GemmRowsJob): void {
  const k = wasmKernels()!;
  const n = activeWorkers() + 1;
  const transA = j.transA ? 1 : 0, acc = j.acc ? 1 : 0;
  // Small products finish before a worker would wake up: run them here.
  if (n === 1 || j.M < 12 || j.M * j.N * j.K < PARALLEL_MIN_WORK) {
    k.gemm_rows(j.N, j.K, j.a, j.lda, transA, j.p, j.K, j.c, j.ldc, acc, j.q, 0, j.M);
    return;
  }
  // Rows go out in blocks of a multiple of 6 (the kernel's row block), several per thread, taken on demand.
  const chunk = Math.max(6, Math.ceil(j.M / (8 * n) / 6) * 6);
  control[CTRL.OP] = OP_GEMM;
  control[CTRL.N] = j.N;
  control[CTRL.K] = j.K;
  control[CTRL.A] = j.a;
  control[CTRL.LDA] = j.lda;
  control[CTRL.TRANS_A] = transA;
  control[CTRL.P] = j.p;
  control[CTRL.C] = j.c;
  control[CTRL.LDC] = j.ldc;
  control[CTRL.ACC] = acc;
  control[CTRL.Q] = j.q;
  control[CTRL.Q_STRIDE] = j.qStride;
  run(j.M, chunk);
}

/**
 * Runs attention over `slices` (batch·head) slices split over the pool: `op` is a slice job (OP_ATTN_FWD, …),
 * `desc` the descriptor's byte pointer, `scratch` the first of `threads` scratch areas `stride` bytes apart.
 */
export function attentionParallel(
  op: SliceOp,
  desc: number,
  slices: number,
  scratch: number,
  stride: number,
  work: number,
): void {
  const k = wasmKernels()!;
  const fn = sliceKernel(k, op);
  const n = activeWorkers() + 1;
  if (n === 1 || slices < 2 || work < PARALLEL_MIN_WORK) {
    fn(desc, 0, slices, scratch);
    return;
  }
  control[CTRL.OP] = op;
  control[CTRL.A] = desc;
  control[CTRL.Q] = scratch;
  control[CTRL.Q_STRIDE] = stride;
  run(slices, 1);
}

/** Elements per piece of a parallel element-wise kernel (a multiple of 4). */
const ELEMENTWISE_CHUNK = 1 << 15;
/**
 * Element-wise jobs smaller than this stay on the calling thread. Measured on the 2-core reference machine (shape
 * B, 2 threads, alternating runs): handing GELU, the bias and residual adds and LayerNorm of up to a few million
 * elements to the pool made steps slower (e.g. 2,240 against 2,590 tokens/s), so only larger ones are split.
 */
const POOL_MIN_ELEMENTS = 1 << 22;

/**
 * GELU forward (dy = 0) or backward over n elements at byte pointers into the shared memory, split over the pool
 * when large enough.
 */
export function geluParallel(n: number, x: number, dy: number, out: number): void {
  const k = wasmKernels()!;
  if (!pooled(n)) {
    if (dy !== 0) k.gelu_bwd(n, x, dy, out);
    else k.gelu_fwd(n, x, out);
    return;
  }
  control[CTRL.OP] = dy !== 0 ? OP_GELU_BWD : OP_GELU_FWD;
  control[CTRL.A] = x;
  control[CTRL.B] = dy;
  control[CTRL.C] = out;
  run(n, ELEMENTWISE_CHUNK);
}

/** Whether a job of `work` elements is worth splitting over the pool. */
function pooled(work: number): boolean {
  return activeWorkers() > 0 && work >= POOL_MIN_ELEMENTS;
}

/** out[r, :] = x[r, :] + b for `rows` rows of width n (byte pointers; out may be x), split over the pool by rows. */
export function addRowsParallel(rows: number, n: number, x: number, b: number, out: number): void {
  if (!pooled(rows * n)) return wasmKernels()!.add_rows(rows, n, x, b, out);
  control[CTRL.OP] = OP_ADD_ROWS;
  control.set([x, b, out], CTRL.A);
  control[CTRL.N] = n;
  run(rows, Math.max(1, Math.floor(ELEMENTWISE_CHUNK / n)));
}

/** out = a + b over n elements (byte pointers), split over the pool. */
export function addVecParallel(n: number, a: number, b: number, out: number): void {
  if (!pooled(n)) return wasmKernels()!.add_vec(n, a, b, out);
  control[CTRL.OP] = OP_ADD_VEC;
  control.set([a, b, out], CTRL.A);
  run(n, ELEMENTWISE_CHUNK);
}

/** out[j] += Σ_r g[r, j] over `rows` rows of width n (byte pointers), columns split over the pool. */
export function sumRowsParallel(rows: number, n: number, g: number, out: number): void {
  if (!pooled(rows * n) || n < 16) return wasmKernels()!.sum_rows(rows, n, n, g, out);
  control[CTRL.OP] = OP_SUM_ROWS;
  control[CTRL.A] = g;
  control[CTRL.C] = out;
  control[CTRL.N] = n;
  control[CTRL.K] = rows;
  run(n, Math.max(4, (Math.ceil(n / (4 * (activeWorkers() + 1))) + 3) & ~3));
}

/** LayerNorm forward (see layernorm_fwd; byte pointers, b = 0 for none) split over the pool by rows. */
export function layerNormForwardParallel(
  rows: number,
  C: number,
  x: number,
  w: number,
  b: number,
  out: number,
  mean: number,
  rstd: number,
  eps: number,
): void {
  const hasBias = b === 0 ? 0 : 1;
  if (!pooled(rows * C)) return wasmKernels()!.layernorm_fwd(rows, C, x, w, b, hasBias, out, mean, rstd, eps);
  control[CTRL.OP] = OP_LN_FWD;
  control.set([x, w, out], CTRL.A);
  control[CTRL.P] = b;
  control[CTRL.ACC] = hasBias;
  control[CTRL.N] = C;
  control[CTRL.LDA] = mean;
  control[CTRL.LDC] = rstd;
  controlF64[CTRL.F64 / 2] = eps;
  run(rows, Math.max(1, Math.floor(ELEMENTWISE_CHUNK / C)));
}

/** One OpenBLAS product split into blocks (see OP_BLAS in protocol.ts; byte pointers into the shared memory). */
export interface BlasJob {
  /** op(A) is transposed (A stored (K, M)). */
  transA: boolean;
  /** op(B) is transposed (B stored (N, K)). */
  transB: boolean;
  /** Rows of C. */
  M: number;
  /** Columns of C. */
  N: number;
  /** Depth. */
  K: number;
  /** A, B and C. */
  a: number;
  b: number;
  c: number;
  /** Add into C. */
  acc: boolean;
  /** Split the columns of C instead of its rows. */
  columns: boolean;
  /** Rows (or columns) per block: fixed by the shape alone, so the result never depends on the thread count. */
  chunk: number;
}

/** Runs an OpenBLAS product block by block over the pool (every block on the calling thread without workers). */
export function blasParallel(j: BlasJob, memory: WebAssembly.Memory): void {
  setPieceMemory(memory);
  control[CTRL.OP] = OP_BLAS;
  control[CTRL.A] = j.a;
  control[CTRL.B] = j.b;
  control[CTRL.C] = j.c;
  control[CTRL.N] = j.N;
  control[CTRL.K] = j.K;
  control[CTRL.LDA] = j.transA ? j.M : j.K;
  control[CTRL.P] = j.transB ? j.K : j.N;
  control[CTRL.TRANS_A] = j.transA ? 1 : 0;
  control[CTRL.Q] = j.transB ? 1 : 0;
  control[CTRL.ACC] = j.acc ? 1 : 0;
  control[CTRL.LDC] = j.columns ? j.M : 0;
  run(j.columns ? j.N : j.M, j.chunk);
}

// Publishes the job written into the control block, takes CHUNK-sized pieces of [0, total) on this thread too
// (thread 0), and waits for the workers to finish theirs.
function run(total: number, chunk: number): void {
  const k = wasmKernels()!;
  control[CTRL.M] = total;
  control[CTRL.CHUNK] = chunk;
  Atomics.store(control, CTRL.DONE, 0);
  Atomics.store(control, CTRL.FAILED, 0);
  Atomics.store(control, CTRL.NEXT, 0);
  Atomics.add(control, CTRL.SEQ, 1);
  Atomics.notify(control, CTRL.SEQ);
  for (
    let i0 = Atomics.add(control, CTRL.NEXT, chunk);
    i0 < total;
    i0 = Atomics.add(control, CTRL.NEXT, chunk)
  ) {
    runPiece(k, control, controlF64, 0, i0);
  }
  // the workers finish at most one piece after this thread: poll before sleeping
  const want = workers.length;
  for (let i = 0; i < 4000 && Atomics.load(control, CTRL.DONE) < want; i++);
  for (let done = Atomics.load(control, CTRL.DONE); done < want; done = Atomics.load(control, CTRL.DONE)) {
    Atomics.wait(control, CTRL.DONE, done, 50);
  }
  if (Atomics.load(control, CTRL.FAILED) !== 0) {
    throw new Error("kernel pool: a worker thread failed its part of a job (its message is on stderr)");
  }
}
