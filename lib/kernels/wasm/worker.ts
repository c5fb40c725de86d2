/**
 * A kernel worker thread: instantiates the WASM kernels on the shared memory, then waits on the control block for
 * jobs (see pool.ts for the protocol) and runs its pieces of each job (pieces.ts).
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

/** Polls of the control block before a worker goes to sleep (roughly 50–100 µs). */
const SPIN = 2000;

// A short busy wait between polls.
function spinPause(): void {
  for (let j = 0; j < 10; j++) Math.sqrt(j);
}

parentPort!.once("message", (init: Init) => {
  const k = instantiateKernels(init.bytes, init.memory);
  setPieceMemory(init.memory);
  const ctrl = new Int32Array(init.control), f64 = new Float64Array(init.control);
  Atomics.add(ctrl, CTRL.READY, 1);
  parentPort!.postMessage("ready");
  let seq = 0;
  for (;;) {
    // Jobs come in bursts (a training step is a few hundred of them): spin a little before sleeping, since a
    // futex wake-up costs tens of microseconds, as much as a small job.
    for (let i = 0; i < SPIN && Atomics.load(ctrl, CTRL.SEQ) === seq; i++) spinPause();
    Atomics.wait(ctrl, CTRL.SEQ, seq);
    seq = Atomics.load(ctrl, CTRL.SEQ);
    const op = ctrl[CTRL.OP];
    if (op === OP_EXIT) return;
    const total = ctrl[CTRL.M], chunk = ctrl[CTRL.CHUNK];
    try {
      for (
        let i0 = Atomics.add(ctrl, CTRL.NEXT, chunk);
        i0 < total;
        i0 = Atomics.add(ctrl, CTRL.NEXT, chunk)
      ) {
        runPiece(k, ctrl, f64, init.index, i0);
      }
    } catch (e) {
      Atomics.store(ctrl, CTRL.FAILED, 1);
      console.error(`kernel worker ${init.index}: ${e instanceof Error ? e.message : String(e)}`);
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
});
