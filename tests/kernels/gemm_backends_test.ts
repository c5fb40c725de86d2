import { setBackend } from "../../lib/kernels/backend.ts";
import { gemm, gemmJs } from "../../lib/kernels/matmul.ts";
import { setThreads, whenThreadsReady } from "../../lib/kernels/wasm/pool.ts";
import { residentFloat32 } from "../../lib/kernels/wasm/runtime.ts";
import { wasmAvailable } from "../../lib/kernels/wasm/runtime.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertTrue } from "../_helpers/assert.ts";

function rand(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

Deno.test("wasm SIMD is available in this runtime", () => {
  assertTrue(wasmAvailable());
});

for (const threads of [1, 2, 3]) {
  Deno.test(`wasm gemm on ${threads} thread(s) equals the js reference: every layout, odd shapes, offsets, accumulate`, async () => {
    setThreads(threads);
    await whenThreadsReady();
    try {
      compareWithJs(new Rng(11 + threads));
    } finally {
      setThreads(1);
    }
  });
}

function compareWithJs(rng: Rng) {
  setBackend("wasm");
  try {
    // [1, 300, 67], [2, 64, 64], [4, 129, 33]: the matrix-vector path (few rows of A, Bᵀ)
    const shapes = [
      [1, 1, 1],
      [3, 5, 7],
      [6, 8, 4],
      [7, 9, 13],
      [13, 17, 31],
      [64, 48, 32],
      [37, 101, 65],
      [
        130,
        70,
        257,
      ],
      [1, 300, 67],
      [2, 64, 64],
      [4, 129, 33],
    ];
    for (const [M, N, K] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            const aOff = 3, bOff = 5, cOff = 2;
            const A = rand(aOff + M * K, rng), B = rand(bOff + K * N, rng), C0 = rand(cOff + M * N + 4, rng);
            const want = C0.slice(), got = C0.slice();
            const args = { transA, transB, M, N, K, A, aOff, B, bOff, cOff, accumulate };
            gemmJs({ ...args, C: want });
            gemm({ ...args, C: got });
            const what = `M${M} N${N} K${K} tA${transA} tB${transB} acc${accumulate}`;
            assertAllClose(got, want, 1e-4 * Math.sqrt(K), 1e-4, what);
            // operands that live in the kernel memory (as parameters do) are read and written in place
            const [rA, rB, rC] = [A, B, C0].map((x) => {
              const r = residentFloat32(x.length)!;
              r.set(x);
              return r;
            });
            gemm({ ...args, A: rA, B: rB, C: rC });
            assertAllClose(rC, want, 1e-4 * Math.sqrt(K), 1e-4, `resident ${what}`);
          }
        }
      }
    }
  } finally {
    setBackend("auto");
  }
}
