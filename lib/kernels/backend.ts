/**
 * Kernel backends: `js` (plain TypeScript, the reference every fast kernel is tested against) and `wasm`
 * (WebAssembly SIMD, the default where it is available). Float64 work (gradient checks) always runs on `js`.
 *
 * @module
 */
import { wasmAvailable } from "./wasm/runtime.ts";

/** A backend name; `auto` picks `wasm` when WebAssembly SIMD is available, else `js`. */
export type BackendName = "js" | "wasm";

let current: BackendName | undefined;

/** The names of the backends that can run here. */
export function availableBackends(): BackendName[] {
  return wasmAvailable() ? ["js", "wasm"] : ["js"];
}

/** Selects the backend (`auto` = the fastest available). Throws, naming the options, for an unavailable one. */
export function setBackend(name: BackendName | "auto"): BackendName {
  if (name === "auto") {
    current = wasmAvailable() ? "wasm" : "js";
    return current;
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
