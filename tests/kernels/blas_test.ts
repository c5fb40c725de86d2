import { availableBackends, getBackend, setBackend } from "../../lib/kernels/backend.ts";
import { blasAvailable, blasUnavailableReason, gemmBlas } from "../../lib/kernels/blas.ts";
import { gemm, gemmJs } from "../../lib/kernels/matmul.ts";
import { getThreads, readyWorkers, setThreads, whenThreadsReady } from "../../lib/kernels/wasm/pool.ts";
import { residentFloat32, wasmAvailable } from "../../lib/kernels/wasm/runtime.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose, assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

// Skipped (not failed) without OpenBLAS or without --allow-ffi; the fallback test runs exactly then.
const available = blasAvailable();

function rand(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

Deno.test({
  name: "blas gemm equals the js reference: every layout, odd shapes, offsets, accumulate",
  ignore: !available,
  fn() {
    const rng = new Rng(17);
    const shapes = [[1, 1, 1], [3, 5, 7], [6, 8, 4], [7, 9, 13], [13, 17, 31], [64, 48, 32], [37, 101, 65], [
      130,
      70,
      257,
    ]];
    for (const [M, N, K] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            const aOff = 3, bOff = 5, cOff = 2;
            const A = rand(aOff + M * K + 1, rng),
              B = rand(bOff + K * N + 1, rng),
              C0 = rand(cOff + M * N + 4, rng);
            const want = C0.slice(), got = C0.slice();
            const args = { transA, transB, M, N, K, A, aOff, B, bOff, cOff, accumulate };
            gemmJs({ ...args, C: want });
            gemmBlas({ ...args, C: got });
            const tag = `M${M} N${N} K${K} tA${transA} tB${transB} acc${accumulate}`;
            assertAllClose(got, want, 1e-4 * Math.sqrt(K), 1e-4, tag);
            // Storage outside the C slice is untouched.
            assertEquals(Array.from(got.subarray(0, cOff)), Array.from(C0.subarray(0, cOff)), tag);
            assertEquals(Array.from(got.subarray(cOff + M * N)), Array.from(C0.subarray(cOff + M * N)), tag);
          }
        }
      }
    }
  },
});

Deno.test({
  name: "blas backend: gemm dispatches to it, more threads agree, bad slices are refused",
  ignore: !available,
  fn() {
    assertTrue(availableBackends().includes("blas"));
    assertEquals(blasUnavailableReason(), null);
    const rng = new Rng(5);
    const M = 96, N = 80, K = 72;
    const A = rand(M * K, rng),
      B = rand(K * N, rng),
      want = new Float32Array(M * N),
      got = new Float32Array(M * N);
    const args = { transA: false, transB: true, M, N, K, A, aOff: 0, B, bOff: 0, cOff: 0, accumulate: false };
    gemmJs({ ...args, C: want });
    try {
      assertEquals(setBackend("blas"), "blas");
      assertEquals(getBackend(), "blas");
      gemm({ ...args, C: got });
      assertAllClose(got, want, 1e-4 * Math.sqrt(K), 1e-4, "via gemm");
    } finally {
      setBackend("auto");
    }
    assertThrows(() => gemmBlas({ ...args, aOff: 1, C: got }));
    assertThrows(() => gemmBlas({ ...args, C: new Float32Array(M * N - 1) }));
  },
});

/** Operands in the kernel memory (as a training step's are), filled from `rng`. */
function resident(n: number, rng: Rng): Float32Array {
  const a = residentFloat32(n)!;
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

Deno.test({
  name:
    "blas on the pool: a large product in kernel memory, split in blocks of rows or columns, equals js and " +
    "gives the same bits on 1 and 2 threads",
  ignore: !available || !wasmAvailable(),
  async fn() {
    const before = getThreads();
    const rng = new Rng(23);
    // rows of C split (M >= 192), columns split (M small, N >= 192), and one call (small), each layout
    const shapes = [[2048, 384, 128], [500, 300, 64], [128, 1030, 257], [100, 800, 130], [64, 64, 64]];
    try {
      assertEquals(setBackend("blas"), "blas");
      for (const [M, N, K] of shapes) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            for (const accumulate of [false, true]) {
              const aOff = 3,
                bOff = 5,
                cOff = 2,
                tag = `M=${M} N=${N} K=${K} tA=${transA} tB=${transB} acc=${accumulate}`;
              const A = resident(aOff + M * K + 1, rng), B = resident(bOff + K * N + 1, rng);
              const C0 = rand(cOff + M * N + 4, rng);
              const want = C0.slice();
              const args = { transA, transB, M, N, K, A, aOff, B, bOff, cOff, accumulate };
              gemmJs({ ...args, C: want });
              const bits: Float32Array[] = [];
              for (const threads of [1, 2]) {
                setThreads(threads);
                await whenThreadsReady();
                if (threads === 2) assertEquals(readyWorkers(), 1, "the worker takes blocks");
                const C = residentFloat32(C0.length)!;
                C.set(C0);
                gemm({ ...args, C });
                assertAllClose(C, want, 1e-4 * Math.sqrt(K), 1e-4, `${tag}, ${threads} threads`);
                bits.push(C.slice());
              }
              assertEquals(
                new Uint32Array(bits[0].buffer).every((v, i) => v === new Uint32Array(bits[1].buffer)[i]),
                true,
                `${tag}: 1 and 2 threads give the same bits`,
              );
            }
          }
        }
      }
    } finally {
      setBackend("auto");
      setThreads(before);
    }
  },
});

Deno.test({
  name: "blas unavailable: setBackend('blas') falls back with one warning line, no throw",
  ignore: available,
  fn() {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...xs: unknown[]) => void warnings.push(xs.join(" "));
    try {
      const got = setBackend("blas");
      const fallback = wasmAvailable() ? "wasm" : "js";
      assertEquals(got, fallback);
      assertEquals(getBackend(), fallback);
      assertTrue(!availableBackends().includes("blas"));
      assertEquals(warnings.length, 1);
      assertTrue(
        warnings[0].startsWith("backend blas: ") && warnings[0].endsWith(`; using ${fallback}`),
        warnings[0],
      );
      assertTrue(!warnings[0].includes("\n"), "one line");
      assertThrows(() =>
        gemmBlas({
          transA: false,
          transB: false,
          M: 1,
          N: 1,
          K: 1,
          A: new Float32Array(1),
          aOff: 0,
          B: new Float32Array(1),
          bOff: 0,
          C: new Float32Array(1),
          cOff: 0,
          accumulate: false,
        })
      );
    } finally {
      console.warn = warn;
      setBackend("auto");
    }
  },
});
