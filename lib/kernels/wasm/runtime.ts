/**
 * The WASM SIMD kernels at run time: instantiates the embedded module once (synchronously) and moves operands in
 * and out of its linear memory through a grow-only arena.
 *
 * @module
 */
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

/** The functions the compiled module exports (pointer arguments are byte offsets into `memory`). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  gelu_fwd(n: number, x: number, out: number): void;
  gelu_bwd(n: number, x: number, dy: number, dx: number): void;
  gemm_nn(M: number, N: number, K: number, A: number, B: number, C: number, P: number, Q: number): void;
  transpose(rows: number, cols: number, src: number, dst: number): void;
}

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let kernels: KernelExports | null | undefined;
let heap = new Float32Array(0);

/** The instantiated kernels, or null where WebAssembly SIMD is unavailable. */
export function wasmKernels(): KernelExports | null {
  if (kernels !== undefined) return kernels;
  try {
    const module = new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort() {
          throw new Error("wasm kernel aborted");
        },
      },
    });
    kernels = instance.exports as unknown as KernelExports;
  } catch {
    kernels = null;
  }
  return kernels;
}

/** Whether the WASM SIMD kernels can run here. */
export function wasmAvailable(): boolean {
  return wasmKernels() !== null;
}

/** A float32 view of the kernels' memory with room for at least `floats` elements (grows, never shrinks). */
export function wasmHeap(floats: number): Float32Array {
  const k = wasmKernels();
  if (k === null) throw new Error("WebAssembly SIMD kernels are not available in this runtime");
  const need = floats * 4;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  if (heap.buffer !== k.memory.buffer) heap = new Float32Array(k.memory.buffer);
  return heap;
}
