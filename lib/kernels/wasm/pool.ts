/**
 * A persistent pool of kernel worker threads sharing the WASM memory (node:worker_threads, which Deno and Node both
 * provide). Workers are started once (`setThreads`), wait on a shared control block between jobs, and are
 * unref'd so they never keep a process alive. Until they report ready, work runs on the calling thread.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { CTRL, OP_GEMM } from "./protocol.ts";
import { sharedKernels, wasmKernels } from "./runtime.ts";

/** Multiply-adds below which a product runs on the calling thread alone. */
const PARALLEL_MIN_WORK = 1 << 21;

let workers: Worker[] = [];
let ready = 0;
let readyWaiters: Array<() => void> = [];
let generation = 0;
let threads = 1;
let control = new Int32Array(new SharedArrayBuffer(CTRL.LENGTH * 4));

/** Threads in use (1 = the calling thread only). */
export function getThreads(): number {
  return threads;
}

/** Default thread count: every core the runtime reports. */
export function defaultThreads(): number {
  const n = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency;
  return n && n > 0 ? n : 1;
}

/** Sets the number of threads (including the caller); starts or stops workers as needed. */
export function setThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${n}`);
  const sk = sharedKernels();
  if (sk === null) n = 1;
  if (n === threads) return n;
  // A new generation: old workers wait on the old control block, so they can never take a new job even before
  // terminate() has reached them.
  for (const w of workers) void w.terminate();
  workers = [];
  ready = 0;
  control = new Int32Array(new SharedArrayBuffer(CTRL.LENGTH * 4));
  const gen = ++generation;
  while (sk !== null && workers.length < n - 1) {
    const index = workers.length + 1;
    let w: Worker;
    try {
      w = new Worker(new URL("./worker.ts", import.meta.url));
    } catch (e) {
      // e.g. no permission to read the worker module: keep the threads that did start
      console.warn(
        `threads: could not start a worker (${(e as Error).message}); using ${workers.length + 1}`,
      );
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

/** Workers that are ready to take a share. */
function activeWorkers(): number {
  return ready === workers.length ? workers.length : 0;
}

/**
 * Runs rows [0, M) of a packed gemm (see gemm_rows; A's rows are `lda` floats apart) split over the pool; byte
 * pointers into the shared memory.
 * `q` is the first of `threads` private A-packing areas, `qStride` bytes apart.
 */
export function gemmRowsParallel(
  M: number,
  N: number,
  K: number,
  lda: number,
  a: number,
  b: number,
  c: number,
  p: number,
  q: number,
  qStride: number,
): void {
  const k = wasmKernels()!;
  const n = activeWorkers() + 1;
  // Small products finish before a worker would wake up: run them here.
  if (n === 1 || M < 12 || M * N * K < PARALLEL_MIN_WORK) {
    k.gemm_rows(N, K, lda, a, b, c, p, q, 0, M);
    return;
  }
  // Rows go out in blocks of a multiple of 6 (the kernel's row block), several per thread, taken on demand.
  const chunk = Math.max(6, Math.ceil(M / (4 * n) / 6) * 6);
  control[CTRL.OP] = OP_GEMM;
  control[CTRL.N] = N;
  control[CTRL.K] = K;
  control[CTRL.A] = a;
  control[CTRL.B] = b;
  control[CTRL.C] = c;
  control[CTRL.P] = p;
  control[CTRL.Q] = q;
  control[CTRL.Q_STRIDE] = qStride;
  control[CTRL.M] = M;
  control[CTRL.CHUNK] = chunk;
  control[CTRL.LDA] = lda;
  Atomics.store(control, CTRL.DONE, 0);
  Atomics.store(control, CTRL.NEXT, 0);
  Atomics.add(control, CTRL.SEQ, 1);
  Atomics.notify(control, CTRL.SEQ);
  for (let i0 = Atomics.add(control, CTRL.NEXT, chunk); i0 < M; i0 = Atomics.add(control, CTRL.NEXT, chunk)) {
    k.gemm_rows(N, K, lda, a, b, c, p, q, i0, Math.min(M, i0 + chunk));
  }
  const want = n - 1;
  for (let done = Atomics.load(control, CTRL.DONE); done < want; done = Atomics.load(control, CTRL.DONE)) {
    Atomics.wait(control, CTRL.DONE, done, 50);
  }
}
