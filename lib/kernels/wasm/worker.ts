/**
 * A kernel worker thread: instantiates the WASM kernels on the shared memory, then waits on the control block for
 * jobs (see protocol.ts for the protocol) and runs its pieces of each job (pieces.ts).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { runPiece, setPieceMemory } from "./pieces.ts";
import { CTRL, OP_EXIT } from "./protocol.ts";
import { instantiateKernels } from "./runtime.ts";

interface Init {
  bytes: Uint8Array;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  index: number;
}

/**
 * Milliseconds a worker keeps polling for the next job before it goes to sleep. A training step publishes
 * hundreds of jobs with short gaps between them; polling through a gap saves the wake-up (30–100 µs on a VM),
 * but a polling worker also takes CPU time its own process needs when the machine is busy. Measured on the
 * shared 2-core VM (shape A, 2 threads, 1-minute load average ~5, alternating runs): 0.1 ms gave 14,400–15,200
 * tokens/s, 1 ms 11,300–11,500. The main thread never waits for a sleeping worker (see pool.ts), so a short poll
 * costs only the worker's late start on a job after a longer gap.
 */
const SPIN_MS = 0.1;

// A short busy wait between polls.
function spinPause(): void {
  for (let j = 0; j < 10; j++) Math.sqrt(j);
}

/** Waits until a job other than `seen` is published (SEQ even) and returns its SEQ. */
function nextJob(ctrl: Int32Array, seen: number): number {
  let since = performance.now();
  for (let i = 1;; i++) {
    const s = Atomics.load(ctrl, CTRL.SEQ);
    if ((s & 1) === 0 && s !== seen) return s;
    spinPause();
    if ((i & 255) === 0 && performance.now() - since > SPIN_MS) {
      Atomics.add(ctrl, CTRL.SLEEPERS, 1);
      Atomics.wait(ctrl, CTRL.SEQ, s);
      Atomics.sub(ctrl, CTRL.SLEEPERS, 1);
      since = performance.now();
    }
  }
}

parentPort!.once("message", (init: Init) => {
  const k = instantiateKernels(init.bytes, init.memory);
  setPieceMemory(init.memory);
  const ctrl = new Int32Array(init.control), f64 = new Float64Array(init.control);
  Atomics.add(ctrl, CTRL.READY, 1);
  parentPort!.postMessage("ready");
  let seen = -1;
  for (;;) {
    const s = nextJob(ctrl, seen);
    Atomics.add(ctrl, CTRL.ACTIVE, 1);
    // the job may have closed between the two reads: then its fields may already be the next job's
    if (Atomics.load(ctrl, CTRL.SEQ) !== s) {
      Atomics.sub(ctrl, CTRL.ACTIVE, 1);
      continue;
    }
    seen = s;
    if (ctrl[CTRL.OP] === OP_EXIT) return;
    const total = ctrl[CTRL.M], chunk = ctrl[CTRL.CHUNK];
    for (let i0 = Atomics.add(ctrl, CTRL.NEXT, chunk); i0 < total; i0 = Atomics.add(ctrl, CTRL.NEXT, chunk)) {
      try {
        runPiece(k, ctrl, f64, init.index, i0);
      } catch (e) {
        // counted as done all the same, so the main thread never waits forever; it throws once the job ends
        console.error(`kernel worker ${init.index}: ${(e as Error).message}`);
        Atomics.add(ctrl, CTRL.FAILED, 1);
      }
      Atomics.add(ctrl, CTRL.DONE, 1);
      if (Atomics.load(ctrl, CTRL.WAITING) !== 0) Atomics.notify(ctrl, CTRL.DONE);
    }
    Atomics.sub(ctrl, CTRL.ACTIVE, 1);
  }
});
