/**
 * The optional `blas` backend: float32 gemm on OpenBLAS's `cblas_sgemm`, reached through Deno's FFI.
 *
 * Nothing happens at import time: the library is opened on first use, and only when this runs in Deno with the
 * `ffi` permission already granted (never prompted for). Anywhere else (Node, browsers, no `--allow-ffi`, no
 * `libopenblas.so.0`) {@link blasAvailable} is false and {@link blasUnavailableReason} says why. Operands are
 * passed in place (subarray views, no copies). OpenBLAS itself always runs on one thread: large products are
 * split into fixed blocks of rows (or columns) that the kernel pool's threads hand to OpenBLAS one block each
 * (wasm/blas_split.ts), so OpenBLAS's threads and ours never compete for the cores, and the result depends on
 * the blocks, never on the thread count. A worker thread opens the library for itself on its first block.
 *
 * The permission can be narrow: `--allow-ffi=` with the paths of {@link OPENBLAS_PATHS} (what the experiment
 * task grants) is enough.
 *
 * @module
 */
import type { GemmArgs } from "./types.ts";

// CBLAS enum values (cblas.h).
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

/**
 * Where OpenBLAS is looked for, in order: Debian/Ubuntu (`apt-get install libopenblas0-pthread`) on x86-64 and
 * arm64, then Fedora/RHEL (`dnf install openblas`). The deno.json tasks grant `--allow-ffi` for exactly these
 * paths (tests/kernels/blas_test.ts keeps the two lists equal). With an unscoped `--allow-ffi`, the dynamic
 * loader's own search (`libopenblas.so.0`) is tried last.
 */
export const OPENBLAS_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
];
const LIBRARY_CANDIDATES = [...OPENBLAS_PATHS, "libopenblas.so.0"];

/** The Deno flag that grants FFI for {@link OPENBLAS_PATHS} only: `--allow-ffi=<path>,<path>,…`. */
export function openblasFfiFlag(): string {
  return `--allow-ffi=${OPENBLAS_PATHS.join(",")}`;
}

type SgemmFn = (
  order: number,
  transA: number,
  transB: number,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
) => void;

interface Blas {
  sgemm: SgemmFn;
  /** The path it was opened from. */
  path: string;
}

/** The part of Deno's API used here, typed locally so that this file type-checks and imports outside Deno. */
interface DenoFfi {
  permissions: { querySync(desc: { name: "ffi"; path?: string }): { state: string } };
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string; optional?: boolean }>,
  ): { symbols: Record<string, unknown> };
}

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
};

let blas: Blas | null | undefined;
let reason = "";

function ffiGranted(deno: DenoFfi, path: string): boolean {
  try {
    const desc = path.startsWith("/") ? { name: "ffi" as const, path } : { name: "ffi" as const };
    return deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

function load(): Blas | null {
  if (blas !== undefined) return blas;
  blas = null;
  const deno = (globalThis as unknown as { Deno?: DenoFfi }).Deno;
  if (deno === undefined || typeof deno.dlopen !== "function") {
    reason = "needs Deno's FFI (not running in Deno)";
    return blas;
  }
  let permitted = false, lastError = "";
  for (const path of LIBRARY_CANDIDATES) {
    if (!ffiGranted(deno, path)) continue;
    permitted = true;
    try {
      const lib = deno.dlopen(path, SYMBOLS);
      // one thread: the kernel pool splits large products (see the module's note)
      (lib.symbols.openblas_set_num_threads as ((n: number) => void) | null)?.(1);
      blas = { sgemm: lib.symbols.cblas_sgemm as SgemmFn, path };
      return blas;
    } catch (e) {
      lastError = (e instanceof Error ? e.message : String(e)).split("\n")[0].replace(
        /^(Could not open library: )+/,
        "",
      );
    }
  }
  reason = permitted
    ? `OpenBLAS not found (apt-get install libopenblas0-pthread): ${lastError}`
    : `--allow-ffi not granted for ${OPENBLAS_PATHS.join(", ")}`;
  return blas;
}

/** Whether OpenBLAS can be used here (opens it on the first call). */
export function blasAvailable(): boolean {
  return load() !== null;
}

/** Why the `blas` backend is unavailable (one line), or `null` when it is available. */
export function blasUnavailableReason(): string | null {
  return load() === null ? reason : null;
}

/** The path OpenBLAS was opened from, or `null` when it is unavailable. */
export function blasLibraryPath(): string | null {
  return load()?.path ?? null;
}

function slice(name: string, x: GemmArgs["A"], off: number, size: number): Float32Array {
  if (!(x instanceof Float32Array)) throw new TypeError(`gemmBlas: ${name} must be a Float32Array`);
  // BLAS reads raw memory: a slice running past the storage would read or write outside it, so refuse it here.
  if (!Number.isInteger(off) || off < 0 || off + size > x.length) {
    throw new RangeError(`gemmBlas: ${name}[${off}, ${off + size}) is outside its storage of ${x.length}`);
  }
  return x.subarray(off, off + size);
}

/** The opened library; throws when it is unavailable. */
function library(): Blas {
  const lib = load();
  if (lib === null) throw new Error(`blas backend unavailable: ${reason}`);
  return lib;
}

// C (+)= op(A) · op(B), row-major, alpha 1: the one place the CBLAS enums are spelled out.
function sgemm(
  lib: Blas,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  accumulate: boolean,
  C: Float32Array,
  ldc: number,
): void {
  const tA = transA ? TRANS : NO_TRANS, tB = transB ? TRANS : NO_TRANS;
  lib.sgemm(ROW_MAJOR, tA, tB, M, N, K, 1, A, lda, B, ldb, accumulate ? 1 : 0, C, ldc);
}

/** C (+)= op(A) · op(B) on float32 storage through `cblas_sgemm` (see {@link GemmArgs}). Throws when unavailable. */
export function gemmBlas(a: GemmArgs): void {
  const lib = library();
  const { M, N, K, transA, transB } = a;
  if (M === 0 || N === 0) return;
  const C = slice("C", a.C, a.cOff, M * N);
  if (K === 0) {
    if (!a.accumulate) C.fill(0);
    return;
  }
  const A = slice("A", a.A, a.aOff, M * K), B = slice("B", a.B, a.bOff, K * N);
  // Row-major leading dimensions: A is stored (M, K) or, transposed, (K, M); B is (K, N) or (N, K).
  sgemm(lib, transA, transB, M, N, K, A, transA ? M : K, B, transB ? K : N, a.accumulate, C, N);
}

/**
 * One `cblas_sgemm` on a view of the whole kernel memory `f32`, operands at float indices (what a pool thread
 * runs for its block: C[c…] (+)= op(A[a…]) · op(B[b…]) with row-major leading dimensions lda, ldb, ldc).
 */
export function sgemmAt(
  f32: Float32Array,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  accumulate: boolean,
  c: number,
  ldc: number,
): void {
  const A = f32.subarray(a), B = f32.subarray(b), C = f32.subarray(c);
  sgemm(library(), transA, transB, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
}
