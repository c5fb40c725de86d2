/**
 * Kernel backends: `js` (plain TypeScript, the reference every fast kernel is tested against), `wasm`
 * (WebAssembly SIMD) and `blas` (float32 gemm on OpenBLAS through Deno's FFI, every other kernel on wasm; needs
 * `libopenblas.so.0` and `--allow-ffi` for it). `auto` picks the fastest that can run here by a fixed rule (what
 * is installed and permitted, never a timing): blas, else wasm, else js. Float64 work (gradient checks) always
 * runs on `js`.
 *
 * @module
 */
import { blasAvailable, blasLibraryPath, blasUnavailableReason } from "./blas.ts";

export { OPENBLAS_PATHS, openblasFfiFlag } from "./blas.ts";
import type { Float } from "./types.ts";
import { wasmAvailable } from "./wasm/runtime.ts";

/** A backend name; `auto` picks `blas` where OpenBLAS can be opened, else `wasm` where WebAssembly SIMD runs, else `js`. */
export type BackendName = "js" | "wasm" | "blas";

let current: BackendName | undefined;
let why = "";

/** The names of the backends that can run here. */
export function availableBackends(): BackendName[] {
  const names: BackendName[] = ["js"];
  if (wasmAvailable()) names.push("wasm");
  if (blasAvailable()) names.push("blas");
  return names;
}

/**
 * Selects the backend (`auto` = the fastest available) and returns the one in use. An unavailable `blas` falls
 * back to `auto`'s choice with one warning line on stderr; any other unavailable name throws, naming the options.
 */
export function setBackend(name: BackendName | "auto"): BackendName {
  if (name === "auto") {
    const path = blasLibraryPath();
    if (path !== null) {
      why = `auto: OpenBLAS at ${path}`;
      current = "blas";
    } else {
      const without = `OpenBLAS unavailable: ${blasUnavailableReason()}`;
      current = wasmAvailable() ? "wasm" : "js";
      why = `auto: ${without}; ${current === "wasm" ? "WebAssembly SIMD" : "no WebAssembly SIMD either"}`;
    }
    return current;
  }
  why = `requested`;
  if (name === "blas" && !blasAvailable()) {
    const fallback = setBackend("auto");
    console.warn(`backend blas: ${blasUnavailableReason()}; using ${fallback}`);
    return fallback;
  }
  if (!availableBackends().includes(name)) {
    throw new Error(`backend "${name}" is not available here (available: ${availableBackends().join(", ")})`);
  }
  current = name;
  return current;
}

/**
 * Why the backend in use was chosen, in one line: `requested`, or for `auto` what it found (`auto: OpenBLAS at
 * /usr/lib/…`, or `auto: OpenBLAS unavailable: <why>; WebAssembly SIMD`).
 */
export function backendReason(): string {
  getBackend();
  return why;
}

/** The backend in use (auto-detected on first use). */
export function getBackend(): BackendName {
  return current ?? setBackend("auto");
}

/** Below this many elements a kernel call stays on the TypeScript loop (the copies would cost more than they save). */
export const WASM_MIN_ELEMENTS = 64;

/**
 * Whether a kernel on `x` (`n` elements) runs on the wasm SIMD kernels: float32 storage, at least
 * {@link WASM_MIN_ELEMENTS} elements, and a backend other than `js` (`blas` replaces only gemm, so the wasm
 * kernels serve it too) where WebAssembly SIMD is available. Float64 work always takes the TypeScript loop.
 */
export function useWasm(x: Float, n: number): x is Float32Array {
  return x instanceof Float32Array && n >= WASM_MIN_ELEMENTS && getBackend() !== "js" && wasmAvailable();
}
