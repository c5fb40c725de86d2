/**
 * A kernel worker thread: instantiates the WASM kernels on the shared memory, then waits on the control block for
 * jobs (see pool.ts for the protocol) and runs its share of rows (gemm) or slices (attention).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { CTRL, OP_ATTN_BWD, OP_ATTN_FWD, OP_EXIT, OP_GELU_BWD, OP_GELU_FWD, OP_GEMM } from "./protocol.ts";
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
  const ctrl = new Int32Array(init.control);
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
    const q = ctrl[CTRL.Q] + init.index * ctrl[CTRL.Q_STRIDE];
    if (op === OP_GEMM) {
      const N = ctrl[CTRL.N],
        K = ctrl[CTRL.K],
        a = ctrl[CTRL.A],
        lda = ctrl[CTRL.LDA],
        transA = ctrl[CTRL.TRANS_A];
      const p = ctrl[CTRL.P], c = ctrl[CTRL.C], ldc = ctrl[CTRL.LDC], acc = ctrl[CTRL.ACC];
      for (
        let i0 = Atomics.add(ctrl, CTRL.NEXT, chunk);
        i0 < total;
        i0 = Atomics.add(ctrl, CTRL.NEXT, chunk)
      ) {
        k.gemm_rows(N, K, a, lda, transA, p, K, c, ldc, acc, q, i0, Math.min(total, i0 + chunk));
      }
    } else if (op === OP_GELU_FWD || op === OP_GELU_BWD) {
      const x = ctrl[CTRL.A], dy = ctrl[CTRL.B], out = ctrl[CTRL.C];
      for (
        let i0 = Atomics.add(ctrl, CTRL.NEXT, chunk);
        i0 < total;
        i0 = Atomics.add(ctrl, CTRL.NEXT, chunk)
      ) {
        const len = Math.min(chunk, total - i0), o = i0 * 4;
        if (op === OP_GELU_BWD) k.gelu_bwd(len, x + o, dy + o, out + o);
        else k.gelu_fwd(len, x + o, out + o);
      }
    } else if (op === OP_ATTN_FWD || op === OP_ATTN_BWD) {
      const fn = op === OP_ATTN_FWD ? k.attn_fwd : k.attn_bwd, desc = ctrl[CTRL.A];
      for (let h = Atomics.add(ctrl, CTRL.NEXT, 1); h < total; h = Atomics.add(ctrl, CTRL.NEXT, 1)) {
        fn(desc, h, h + 1, q);
      }
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
});
