/**
 * A persistent pool of kernel worker threads sharing the WASM memory (node:worker_threads, which Deno and Node both
 * provide). Workers are started once (`setThreads`, or on the first kernel call that could use them: then with
 * {@link defaultThreads}), wait on a shared control block between jobs, and are unref'd so they never keep a
 * process alive. Until they report ready, work runs on the calling thread.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { runPiece, sliceKernel, type SliceOp } from "./pieces.ts";
import { CTRL, OP_EXIT } from "./protocol.ts";
import { sharedKernels, wasmKernels } from "./runtime.ts";

/** The worker module beside this one: `worker.ts` in the sources, `worker.js` in the compiled npm package. */
const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);

/** Multiply-adds below which attention runs on the calling thread alone. */
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
// has no SharedArrayBuffer), which also means no workers. SEQ starts odd: no job open.
function newControl(): Int32Array {
  const bytes = CTRL.LENGTH * 4;
  const c = new Int32Array(
    typeof SharedArrayBuffer === "function" ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes),
  );
  c[CTRL.SEQ] = 1;
  return c;
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
  // terminate() has reached them; an exit job wakes them from their wait so they end at once.
  if (workers.length > 0) {
    control[CTRL.OP] = OP_EXIT;
    Atomics.add(control, CTRL.SEQ, 1);
    Atomics.notify(control, CTRL.SEQ);
  }
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

/**
 * Workers that are ready to take a share of a job now (0: run it on the calling thread); the first call before
 * any setThreads starts the default pool.
 */
export function activeWorkers(): number {
  if (threads === 0) startThreads(defaultThreads(), true);
  // the shared counter, not the "ready" messages: a loop that never awaits never receives those
  return workers.length > 0 && Atomics.load(control, CTRL.READY) === workers.length ? workers.length : 0;
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
  const n = activeWorkers() + 1;
  if (n === 1 || slices < 2 || work < PARALLEL_MIN_WORK) {
    sliceKernel(k, op)(desc, 0, slices, scratch);
    return;
  }
  control[CTRL.OP] = op;
  control[CTRL.A] = desc;
  control[CTRL.Q] = scratch;
  control[CTRL.Q_STRIDE] = stride;
  run(slices, 1);
}

/** Workers asleep now (they poll only briefly between jobs; waking one costs the main thread a system call). */
export function sleepingWorkers(): number {
  return Atomics.load(control, CTRL.SLEEPERS);
}

/**
 * The control block a job is written into before {@link run} (see protocol.ts), and a float64 view of it; a
 * new one after each {@link setThreads}, so take it afresh for each job.
 */
export function jobControl(): { ctrl: Int32Array; f64: Float64Array } {
  // the default pool first: starting it later in the job (activeWorkers) would replace the block
  if (threads === 0) startThreads(defaultThreads(), true);
  return { ctrl: control, f64: controlF64 };
}

/** Pieces a job is cut into per thread at most: a few, so a worker that starts late still takes a share. */
const PIECES_PER_THREAD = 8;

/**
 * Items per piece of a job of `total` items: about {@link PIECES_PER_THREAD} pieces per thread, at least `min`
 * items each, rounded up to a multiple of `align`. The size never changes a result (each piece is computed the
 * same whoever runs it); it only balances the work.
 */
export function pieceSize(total: number, min: number, align = 1): number {
  const each = Math.max(min, Math.ceil(total / (PIECES_PER_THREAD * (activeWorkers() + 1))));
  return Math.ceil(each / align) * align;
}

let published = 0;

/**
 * How many jobs this thread has handed to the pool (split into pieces for the workers) since it started: tests
 * read it to check that a kernel really was split.
 */
export function jobsPublished(): number {
  return published;
}

/**
 * Polls of DONE (and of ACTIVE) before the main thread sleeps on it: a worker usually finishes its last piece
 * soon after this thread, but on a busy machine a long poll keeps the core from a worker that lost its own.
 */
const JOIN_SPIN = 4000;

/**
 * Runs the job written into the control block over items [0, total) in pieces of `chunk`: publishes it, takes
 * pieces on this thread too (thread 0), and returns once every piece is done. A worker that is asleep is woken
 * but not waited for: if this thread has taken every piece by the time it starts, it takes none. With
 * `chunk ≥ total` (or no worker ready) the job runs here as one piece, unpublished.
 */
export function run(total: number, chunk: number): void {
  const k = wasmKernels()!;
  const c = control, f64 = controlF64;
  c[CTRL.M] = total;
  if (chunk >= total || activeWorkers() === 0) {
    // one piece: all of it here, nothing published
    c[CTRL.CHUNK] = total;
    runPiece(k, c, f64, 0, 0);
    return;
  }
  const pieces = Math.ceil(total / chunk);
  published++;
  c[CTRL.CHUNK] = chunk;
  c[CTRL.NEXT] = 0;
  c[CTRL.DONE] = 0;
  Atomics.add(c, CTRL.SEQ, 1); // even: published
  if (Atomics.load(c, CTRL.SLEEPERS) > 0) Atomics.notify(c, CTRL.SEQ);
  let mine = 0;
  try {
    for (let i0 = Atomics.add(c, CTRL.NEXT, chunk); i0 < total; i0 = Atomics.add(c, CTRL.NEXT, chunk)) {
      runPiece(k, c, f64, 0, i0);
      mine++;
    }
    const want = pieces - mine;
    for (let i = 0; i < JOIN_SPIN && Atomics.load(c, CTRL.DONE) < want; i++);
    if (Atomics.load(c, CTRL.DONE) < want) {
      Atomics.store(c, CTRL.WAITING, 1);
      for (let d = Atomics.load(c, CTRL.DONE); d < want; d = Atomics.load(c, CTRL.DONE)) {
        Atomics.wait(c, CTRL.DONE, d, 10);
      }
      Atomics.store(c, CTRL.WAITING, 0);
    }
  } finally {
    // odd: closed; the fields may be rewritten once no worker is inside any more (a worker leaves right after
    // its last piece, unless the system has just taken its core away)
    Atomics.add(c, CTRL.SEQ, 1);
    for (let i = 0, a = Atomics.load(c, CTRL.ACTIVE); a !== 0; i++, a = Atomics.load(c, CTRL.ACTIVE)) {
      if (i > JOIN_SPIN) Atomics.wait(c, CTRL.ACTIVE, a, 0.05);
    }
  }
  if (Atomics.load(c, CTRL.FAILED) !== 0) {
    Atomics.store(c, CTRL.FAILED, 0);
    throw new Error("kernel pool: a worker failed on its piece of the job (its message is above)");
  }
}
