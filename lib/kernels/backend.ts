/**
 * Kernel backends: `js` (plain TypeScript, the reference every fast kernel is tested against), `wasm`
 * (WebAssembly SIMD, the default where it is available) and `blas` (optional: float32 gemm on OpenBLAS through
 * Deno's FFI; needs `libopenblas.so.0` and `--allow-ffi`). Float64 work (gradient checks) always runs on `js`.
 *
 * @module
 */
import { blasAvailable, blasUnavailableReason } from "./blas.ts";
import type { Float } from "./types.ts";
import { wasmAvailable } from "./wasm/runtime.ts";

/** A backend name; `auto` picks `wasm` when WebAssembly SIMD is available, else `js` (never `blas`). */
export type BackendName = "js" | "wasm" | "blas";

let current: BackendName | undefined;

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
    current = wasmAvailable() ? "wasm" : "js";
    return current;
  }
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
