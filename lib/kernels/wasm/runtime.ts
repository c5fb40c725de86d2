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
    kp: number,
    C: number,
    ldc: number,
    acc: number,
    Q: number,
    i0: number,
    i1: number,
  ): void;
  gemv_nt(
    M: number,
    N: number,
    K: number,
    A: number,
    lda: number,
    B: number,
    ldb: number,
    C: number,
    ldc: number,
    acc: number,
  ): void;
  add_rows(rows: number, n: number, x: number, b: number, out: number): void;
  swiglu_fwd(n: number, g: number, u: number, out: number): void;
  rope_rotate(
    B: number,
    T: number,
    H: number,
    D: number,
    src: number,
    out: number,
    cos: number,
    sin: number,
    pos0: number,
    sign: number,
  ): void;
  swiglu_bwd(n: number, g: number, u: number, dy: number, dg: number, du: number): void;
  rmsnorm_fwd(rows: number, C: number, x: number, w: number, out: number, rstd: number, eps: number): void;
  rmsnorm_bwd(
    rows: number,
    C: number,
    x: number,
    w: number,
    rstd: number,
    dy: number,
    dx: number,
    dw: number,
  ): void;
  add_vec(n: number, a: number, b: number, out: number): void;
  softmax_fwd(rows: number, cols: number, x: number, out: number): void;
  softmax_bwd(rows: number, cols: number, p: number, dy: number, dx: number): void;
  sum_rows(rows: number, n: number, ld: number, g: number, out: number): void;
  attn_scratch_bytes(desc: number): number;
  attn_fwd(desc: number, h0: number, h1: number, scratch: number): void;
  attn_bwd(desc: number, h0: number, h1: number, scratch: number): void;
  flash_scratch_bytes(desc: number): number;
  flash_fwd(desc: number, h0: number, h1: number, scratch: number): void;
  flash_bwd(desc: number, h0: number, h1: number, scratch: number): void;
  gelu_fwd(n: number, x: number, out: number): void;
  gelu_bwd(n: number, x: number, dy: number, dx: number): void;
  layernorm_fwd(
    rows: number,
    C: number,
    x: number,
    w: number,
    b: number,
    hasBias: number,
    out: number,
    mean: number,
    rstd: number,
    eps: number,
  ): void;
  layernorm_bwd(
    rows: number,
    C: number,
    x: number,
    w: number,
    mean: number,
    rstd: number,
    dy: number,
    dx: number,
    dw: number,
    db: number,
    flags: number,
  ): void;
  cross_entropy_fwd(rows: number, cols: number, x: number, targets: number, probs: number): number;
  cross_entropy_rows(
    rows: number,
    cols: number,
    x: number,
    targets: number,
    probs: number,
    losses: number,
  ): void;
  layernorm_bwd_dw(
    rows: number,
    n: number,
    ld: number,
    x: number,
    mean: number,
    rstd: number,
    dy: number,
    dw: number,
    db: number,
    flags: number,
  ): void;
  rmsnorm_bwd_dw(rows: number, n: number, ld: number, x: number, rstd: number, dy: number, dw: number): void;
  cross_entropy_bwd(
    rows: number,
    cols: number,
    probs: number,
    targets: number,
    dx: number,
    scale: number,
  ): void;
  zero_bytes(p: number, bytes: number): void;
  copy_bytes(dst: number, src: number, bytes: number): void;
  adamw_update(
    n: number,
    p: number,
    g: number,
    m: number,
    v: number,
    beta1: number,
    beta2: number,
    c1: number,
    c2: number,
    eps: number,
    decay: number,
    stepSize: number,
    invBc2Sqrt: number,
  ): void;
}

/** `layernorm_bwd` flag: write dx (overwritten). */
export const LN_BWD_DX = 1;
/** `layernorm_bwd` flag: accumulate into dw. */
export const LN_BWD_DW = 2;
/** `layernorm_bwd` flag: accumulate into db. */
export const LN_BWD_DB = 4;

/**
 * Floats per operand that a row-wise or element-wise kernel moves through the heap per call (256 KiB): large
 * inputs are processed in chunks of this size, which bounds the heap (logits of a large vocabulary would not fit
 * the 2 GiB memory in one piece) and keeps a chunk's operands in cache between the copy in, the kernel and the
 * copy out.
 */
export const WASM_CHUNK = 65536;

/** Rows of width `width` per chunk of {@link WASM_CHUNK} floats (at least one, for rows wider than a chunk). */
export function wasmChunkRows(width: number): number {
  return Math.max(1, Math.floor(WASM_CHUNK / width));
}

/** What a worker needs to run the same kernels: the compiled bytes and the shared memory. */
export interface SharedKernels {
  /** The module's bytes. */
  bytes: Uint8Array;
  /** The memory every thread's instance imports. */
  memory: WebAssembly.Memory;
}

/** Maximum pages of the shared memory (4 GiB, all that 32-bit pointers reach); must match `--maximumMemory` of the build. */
export const MAX_PAGES = 65536;

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
let view = new Float32Array(0);
/** Every buffer object the memory has handed out (one per growth): views on them are resident. */
const memoryBuffers = new WeakSet<ArrayBufferLike>();

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

function memory(): WebAssembly.Memory {
  if (wasmKernels() === null || shared === null) {
    throw new Error("WebAssembly SIMD kernels are not available in this runtime");
  }
  return shared.memory;
}

// A float32 view of the whole memory, renewed after growth.
function wholeView(): Float32Array {
  const buf = memory().buffer;
  if (view.buffer !== buf) {
    memoryBuffers.add(buf);
    view = new Float32Array(buf);
  }
  return view;
}

// ---- allocator: first fit over a sorted free list, 64-byte blocks, coalescing, growing the memory at the top

const ALIGN = 64;
/** Free blocks, sorted by address. */
const free: Array<{ at: number; size: number }> = [];
let top = ALIGN; // bytes below are never handed out (address 0 stays invalid)

function alloc(bytes: number): number {
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  for (let i = 0; i < free.length; i++) {
    const b = free[i];
    if (b.size < size) continue;
    const at = b.at;
    if (b.size === size) free.splice(i, 1);
    else {
      b.at += size;
      b.size -= size;
    }
    return at;
  }
  const at = top, end = top + size;
  const mem = memory(), have = mem.buffer.byteLength;
  if (end > have) {
    const pages = Math.ceil((end - have) / 65536);
    if (have / 65536 + pages > MAX_PAGES) {
      throw new Error(`wasm kernels: out of memory (${end} bytes needed, the limit is ${MAX_PAGES * 65536})`);
    }
    mem.grow(pages);
  }
  top = end;
  return at;
}

function release(at: number, bytes: number): void {
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  let i = 0;
  while (i < free.length && free[i].at < at) i++;
  free.splice(i, 0, { at, size });
  // merge with the next, then with the previous block
  if (i + 1 < free.length && free[i].at + free[i].size === free[i + 1].at) {
    free[i].size += free[i + 1].size;
    free.splice(i + 1, 1);
  }
  if (i > 0 && free[i - 1].at + free[i - 1].size === free[i].at) {
    free[i - 1].size += free[i].size;
    free.splice(i, 1);
    i--;
  }
  if (free[i].at + free[i].size === top) {
    top = free[i].at;
    free.splice(i, 1);
  }
}

let scratchAt = 0, scratchBytes = 0;

/**
 * The kernels' scratch area: a float32 view of at least `floats` elements of the shared memory, valid until the
 * next call (a bigger request may move it; the contents are not kept). Pointers into it are
 * `view.byteOffset + 4·index`.
 */
export function wasmHeap(floats: number): Float32Array {
  const bytes = floats * 4;
  if (bytes > scratchBytes) {
    if (scratchBytes > 0) release(scratchAt, scratchBytes);
    scratchBytes = Math.max(bytes, Math.ceil(scratchBytes * 1.25));
    scratchAt = alloc(scratchBytes);
  }
  return wholeView().subarray(scratchAt >>> 2, (scratchAt + bytes) >>> 2);
}

const registry = new FinalizationRegistry<[number, number]>(([at, bytes]) => release(at, bytes));

/**
 * A zeroed float32 array that lives in the kernels' memory (kernels use it in place, with no copy). Its block is
 * returned to the allocator when the array object is garbage-collected, so keep the array itself (not only a
 * subarray of it) alive while it is in use. Null where the WASM kernels are unavailable.
 */
export function residentFloat32(n: number): Float32Array | null {
  if (wasmKernels() === null) return null;
  const bytes = n * 4;
  let at: number;
  try {
    at = alloc(bytes);
  } catch {
    return null; // out of kernel memory: the caller keeps ordinary storage
  }
  const a = wholeView().subarray(at >>> 2, (at >>> 2) + n);
  kernels!.zero_bytes(at, bytes);
  registry.register(a, [at, bytes]);
  return a;
}

// ---- the step arena: short-lived float32 storage (activations, gradients of activations) in the kernel memory

/** Bytes of one arena block (a larger request gets a block of its own size). */
const ARENA_BLOCK = 32 << 20;

/**
 * The arena: blocks of the kernel memory handed out front to back (`cur`, `used`) within a scope and reused by
 * the next one, plus storage released early in the scope (`free`, by size) for reuse within it.
 */
const arena = {
  blocks: [] as { at: number; bytes: number }[],
  cur: 0,
  used: 0,
  depth: 0,
  free: new Map<number, number[]>(),
  /** The furthest the arena has reached (bytes of the blocks before `cur` plus `used`), see arenaPeakBytes. */
  peak: 0,
};

/**
 * Runs `fn` with an arena: every float32 array the tensor ops allocate inside (see `allocate` in lib/tensor) is
 * carved from blocks of the kernel memory, so the kernels use it in place (no copies), and once the blocks have
 * grown to fit, a training step allocates no new storage. Everything allocated inside is released when the
 * outermost scope returns: no storage made inside may be used after it (read the numbers you need inside, copy
 * with `slice()` what must survive; parameters, their gradients, optimizer state and KV caches live outside).
 * Nested calls share the outer scope. Without the WASM kernels it just runs `fn`.
 */
export function withArena<T>(fn: () => T): T {
  if (wasmKernels() === null) return fn();
  arena.depth++;
  try {
    return fn();
  } finally {
    if (--arena.depth === 0) {
      arena.cur = 0;
      arena.used = 0;
      arena.free.clear();
    }
  }
}

function arenaBytes(n: number): number {
  return Math.max(ALIGN, Math.ceil((n * 4) / ALIGN) * ALIGN);
}

/**
 * Zeroed float32 storage of `n` elements from the current arena scope, or null outside a scope (or when the
 * kernel memory is exhausted: then the caller uses ordinary storage). With `zeroed` false the storage keeps
 * whatever it held (earlier steps' values), for a caller that writes every element before reading any.
 */
export function arenaFloat32(n: number, zeroed = true): Float32Array | null {
  if (arena.depth === 0) return null;
  const bytes = arenaBytes(n);
  let at = arena.free.get(bytes)?.pop();
  if (at === undefined) {
    for (;;) {
      const block = arena.blocks[arena.cur];
      if (block !== undefined && arena.used + bytes <= block.bytes) {
        at = block.at + arena.used;
        arena.used += bytes;
        let reach = arena.used;
        for (let b = 0; b < arena.cur; b++) reach += arena.blocks[b].bytes;
        if (reach > arena.peak) arena.peak = reach;
        break;
      }
      if (block !== undefined && arena.cur + 1 < arena.blocks.length) {
        arena.cur++;
        arena.used = 0;
        continue;
      }
      try {
        const size = Math.max(bytes, ARENA_BLOCK);
        arena.blocks.push({ at: alloc(size), bytes: size });
      } catch {
        return null;
      }
      arena.cur = arena.blocks.length - 1;
      arena.used = 0;
    }
  }
  const a = wholeView().subarray(at >>> 2, (at >>> 2) + n);
  // memset speed: a.fill(0) on the shared memory is several times slower
  if (zeroed) kernels!.zero_bytes(at, n * 4);
  return a;
}

/**
 * Gives arena storage back before the scope ends, for reuse by a later allocation of the same size in the scope.
 * Only for storage nothing else refers to any more (the autograd engine releases gradients it has consumed).
 * Storage that is not the arena's is left alone.
 */
export function arenaRelease(a: Float32Array | Float64Array): void {
  if (arena.depth === 0 || !inArena(a)) return;
  const bytes = arenaBytes(a.length);
  const list = arena.free.get(bytes);
  if (list === undefined) arena.free.set(bytes, [residentAddress(a)]);
  else list.push(residentAddress(a));
}

/** A position in the current arena scope (see {@link arenaMark}). */
export interface ArenaMark {
  /** Block index. */
  cur: number;
  /** Bytes used in that block. */
  used: number;
}

/**
 * The current position of the arena, or null outside a scope. Everything allocated after it can be given back at
 * once with {@link arenaResetTo} (activation checkpointing recomputes a block inside such a region).
 */
export function arenaMark(): ArenaMark | null {
  return arena.depth === 0 ? null : { cur: arena.cur, used: arena.used };
}

/**
 * Gives back everything allocated since `mark` (none of it may be used afterwards). Early releases of storage
 * from before the mark stay available.
 */
export function arenaResetTo(mark: ArenaMark | null): void {
  if (mark === null || arena.depth === 0) return;
  const markBlock = arena.blocks[mark.cur];
  if (markBlock === undefined) {
    // nothing was allocated at the mark: everything since is given back
    arena.free.clear();
    arena.cur = 0;
    arena.used = 0;
    return;
  }
  const limit = markBlock.at + mark.used;
  // storage handed back early that lies past the mark is part of what is given back now
  for (const [size, list] of arena.free) {
    const kept = list.filter((at) => {
      const b = arena.blocks.findIndex((x) => at >= x.at && at < x.at + x.bytes);
      return b < mark.cur || (b === mark.cur && at < limit);
    });
    if (kept.length === 0) arena.free.delete(size);
    else arena.free.set(size, kept);
  }
  arena.cur = mark.cur;
  arena.used = mark.used;
}

/**
 * The most arena storage in use at once since the last {@link resetArenaPeak} (bytes, counting storage released
 * early and reused as one): the activation memory of a training step, at a finer grain than
 * {@link arenaCapacity}'s blocks.
 */
export function arenaPeakBytes(): number {
  return arena.peak;
}

/** Starts a new {@link arenaPeakBytes} measurement. */
export function resetArenaPeak(): void {
  arena.peak = 0;
}

/** Bytes of kernel memory the arena holds (its blocks), for memory measurements. */
export function arenaCapacity(): number {
  return arena.blocks.reduce((n, b) => n + b.bytes, 0);
}

/** Whether `a` is storage of the arena (released at the end of its scope), as opposed to long-lived storage. */
export function inArena(a: ArrayBufferView): boolean {
  const r = residentAddress(a);
  if (r < 0) return false;
  for (const b of arena.blocks) if (r >= b.at && r < b.at + b.bytes) return true;
  return false;
}

/**
 * The byte addresses of arrays that all live in the kernel memory (null entries give 0), or null when one of
 * them does not: then the caller copies through the scratch area instead.
 */
export function residentAddresses(...arrays: (ArrayBufferView | null)[]): number[] | null {
  const out: number[] = [];
  for (const a of arrays) {
    const r = a === null ? 0 : residentAddress(a);
    if (r < 0) return null;
    out.push(r);
  }
  return out;
}

/**
 * `dst.set(src)` for arrays of the same element type, at memcpy speed when both live in the kernel memory (a
 * typed array's `set` on the shared memory copies element by element).
 */
export function copyInto(dst: Float32Array | Float64Array, src: Float32Array | Float64Array): void {
  const d = residentAddress(dst), s = residentAddress(src);
  if (d < 0 || s < 0 || dst.BYTES_PER_ELEMENT !== src.BYTES_PER_ELEMENT || src.length > dst.length) {
    dst.set(src);
    return;
  }
  kernels!.copy_bytes(d, s, src.byteLength);
}

/** The byte address of `a[0]` in the kernels' memory when `a` lives there, else -1. */
export function residentAddress(a: ArrayBufferView): number {
  return memoryBuffers.has(a.buffer) ? a.byteOffset : -1;
}
