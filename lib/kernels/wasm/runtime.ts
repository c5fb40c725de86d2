/**
 * The WASM SIMD kernels at run time: instantiates the embedded module once (synchronously) on a shared
 * `WebAssembly.Memory`, so worker threads can run the same kernels on the same data, and moves operands in and out
 * of that memory through a grow-only heap view.
 *
 * @module
 */
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

/** The functions the compiled module exports (pointer arguments are byte offsets into the shared memory). */
export interface KernelExports {
  pack_a_bytes(K: number): number;
  pack_b(N: number, K: number, B: number, ldb: number, P: number): void;
  pack_bt(N: number, K: number, B: number, ldb: number, P: number): void;
  gemm_rows(
    N: number,
    K: number,
    A: number,
    lda: number,
    transA: number,
    P: number,
    C: number,
    ldc: number,
    acc: number,
    Q: number,
    i0: number,
    i1: number,
  ): void;
  attn_scratch_bytes(desc: number): number;
  attn_fwd(desc: number, h0: number, h1: number, scratch: number): void;
  attn_bwd(desc: number, h0: number, h1: number, scratch: number): void;
  gelu_fwd(n: number, x: number, out: number): void;
  gelu_bwd(n: number, x: number, dy: number, dx: number): void;
}

/** What a worker needs to run the same kernels: the compiled bytes and the shared memory. */
export interface SharedKernels {
  /** The module's bytes. */
  bytes: Uint8Array;
  /** The memory every thread's instance imports. */
  memory: WebAssembly.Memory;
}

/** Maximum pages of the shared memory (2 GiB); must match `--maximumMemory` of the build. */
export const MAX_PAGES = 32768;

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Instantiates the kernels on `memory` (used by the main thread and by each worker). */
export function instantiateKernels(bytes: Uint8Array, memory: WebAssembly.Memory): KernelExports {
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort() {
        throw new Error("wasm kernel aborted");
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}

let kernels: KernelExports | null | undefined;
let shared: SharedKernels | null = null;
let heap = new Float32Array(0);

/** The instantiated kernels, or null where WebAssembly SIMD or shared memory is unavailable. */
export function wasmKernels(): KernelExports | null {
  if (kernels !== undefined) return kernels;
  try {
    const bytes = decodeBase64(KERNELS_WASM_BASE64);
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    kernels = instantiateKernels(bytes, memory);
    shared = { bytes, memory };
  } catch {
    kernels = null;
  }
  return kernels;
}

/** The module bytes and shared memory, for starting workers (null when the kernels are unavailable). */
export function sharedKernels(): SharedKernels | null {
  wasmKernels();
  return shared;
}

/** Whether the WASM SIMD kernels can run here. */
export function wasmAvailable(): boolean {
  return wasmKernels() !== null;
}

/** A float32 view of the kernels' memory with room for at least `floats` elements (grows, never shrinks). */
export function wasmHeap(floats: number): Float32Array {
  if (wasmKernels() === null || shared === null) {
    throw new Error("WebAssembly SIMD kernels are not available in this runtime");
  }
  const memory = shared.memory;
  const need = floats * 4;
  const have = memory.buffer.byteLength;
  if (need > have) memory.grow(Math.ceil((need - have) / 65536));
  if (heap.length * 4 !== memory.buffer.byteLength) heap = new Float32Array(memory.buffer);
  return heap;
}
