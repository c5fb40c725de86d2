/**
 * A kernel worker thread: instantiates the WASM kernels on the shared memory, then waits on the control block for
 * jobs (see pool.ts for the protocol) and runs its share of rows.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { CTRL, OP_EXIT, OP_GEMM } from "./protocol.ts";
import { instantiateKernels } from "./runtime.ts";

interface Init {
  bytes: Uint8Array;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  index: number;
}

parentPort!.once("message", (init: Init) => {
  const k = instantiateKernels(init.bytes, init.memory);
  const ctrl = new Int32Array(init.control);
  parentPort!.postMessage("ready");
  let seq = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL.SEQ, seq);
    seq = Atomics.load(ctrl, CTRL.SEQ);
    const op = ctrl[CTRL.OP];
    if (op === OP_EXIT) return;
    if (op === OP_GEMM) {
      const M = ctrl[CTRL.M], chunk = ctrl[CTRL.CHUNK];
      const q = ctrl[CTRL.Q] + init.index * ctrl[CTRL.Q_STRIDE];
      for (let i0 = Atomics.add(ctrl, CTRL.NEXT, chunk); i0 < M; i0 = Atomics.add(ctrl, CTRL.NEXT, chunk)) {
        k.gemm_rows(
          ctrl[CTRL.N],
          ctrl[CTRL.K],
          ctrl[CTRL.LDA],
          ctrl[CTRL.A],
          ctrl[CTRL.B],
          ctrl[CTRL.C],
          ctrl[CTRL.P],
          q,
          i0,
          Math.min(M, i0 + chunk),
        );
      }
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
});
