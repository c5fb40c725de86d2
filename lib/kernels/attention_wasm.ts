/**
 * What the WASM attention kernels (standard, flash, biased) share on the TypeScript side: when they run, the
 * descriptor's slots (the mirror of `wasm/assembly/attn_desc.ts`), where the (batch, head) slices of an operand
 * live, the row and column ranges of a mask, and the staging of a call's descriptor.
 *
 * @module
 */
import { getBackend } from "./backend.ts";
import type { Float } from "./types.ts";
import { attentionParallel, getThreads } from "./wasm/pool.ts";
import type { SliceOp } from "./wasm/pieces.ts";
import { scratchBytes, type StagedCall, type Staging } from "./wasm/staging.ts";
import { wasmAvailable } from "./wasm/runtime.ts";

/** Slots of the attention descriptor (see `wasm/assembly/attn_desc.ts`, which must agree). */
export const SLOT = {
  H: 0,
  TQ: 1,
  TK: 2,
  D: 3,
  Q: 4,
  K: 8,
  V: 12,
  Y: 16,
  PROBS: 20,
  MASK: 21,
  KEEP: 22,
  SCALE: 23,
  KEEP_SCALE: 24,
  DY: 25,
  DQ: 26,
  DK: 27,
  DV: 28,
  RANGES: 29,
  LSE: 30,
  TILE: 31,
  BIAS: 32,
  LENGTHS: 33,
  DS: 34,
  /** Slots in all. */
  COUNT: 36,
} as const;

/**
 * Where the (batch, head) slices of one operand live in its flat storage: element (b, h, t, d) sits at
 * `offset + b·batch + h·head + t·row + d`.
 */
export interface SliceLayout {
  /** First element. */
  offset: number;
  /** Elements between batch entries. */
  batch: number;
  /** Elements between heads. */
  head: number;
  /** Elements between positions. */
  row: number;
}

/** Contiguous (BH, T, D) slices, seen as BH batch entries of one head each. */
export function headsLayout(T: number, D: number): SliceLayout {
  return { offset: 0, batch: T * D, head: T * D, row: D };
}

/** Whether the WASM kernels take this storage: float32, a backend other than `js`, and WebAssembly SIMD here. */
export function useWasm(x: Float): x is Float32Array {
  return x instanceof Float32Array && getBackend() !== "js" && wasmAvailable();
}

const rangesCache = new WeakMap<Uint8Array, Int32Array>();

/**
 * For each query row the span [lo, hi) of its allowed keys, and for each key the span of the queries allowed to
 * see it (empty rows: 0, 0), as rowLo, rowHi, colLo, colHi back to back; no mask means everything.
 */
export function maskRanges(mask: Uint8Array | null, Tq: number, Tk: number): Int32Array {
  const cached = mask === null ? undefined : rangesCache.get(mask);
  if (cached !== undefined && cached.length === 2 * (Tq + Tk)) return cached;
  const r = new Int32Array(2 * (Tq + Tk));
  const rowLo = r.subarray(0, Tq), rowHi = r.subarray(Tq, 2 * Tq);
  const colLo = r.subarray(2 * Tq, 2 * Tq + Tk), colHi = r.subarray(2 * Tq + Tk);
  if (mask === null) {
    rowHi.fill(Tk);
    colHi.fill(Tq);
    return r;
  }
  colLo.fill(Tq);
  for (let i = 0; i < Tq; i++) {
    let lo = Tk, hi = 0;
    for (let j = 0, o = i * Tk; j < Tk; j++) {
      if (mask[o + j] === 0) continue;
      if (lo === Tk) lo = j;
      hi = j + 1;
      if (colLo[j] > i) colLo[j] = i;
      colHi[j] = i + 1;
    }
    rowLo[i] = hi > 0 ? lo : 0;
    rowHi[i] = hi;
  }
  for (let j = 0; j < Tk; j++) if (colHi[j] === 0) colLo[j] = 0;
  rangesCache.set(mask, r);
  return r;
}

/** Sizes of a sliced attention call: heads, query and key positions, head dimension (BH = slices). */
export interface SliceDims {
  /** Batch × heads. */
  BH: number;
  /** Heads. */
  H: number;
  /** Query positions. */
  Tq: number;
  /** Key/value positions. */
  Tk: number;
  /** Head dimension. */
  D: number;
}

/**
 * Commits `st` for the kernel `op` (its per-thread scratch asked of `scratchFn` with the sizes and the `extra`
 * slots, e.g. the flash tile), writes the sizes and `extra` into the descriptor and returns the staged call.
 */
export function commitSlices(
  st: Staging,
  d: SliceDims,
  scratchFn: (desc: number) => number,
  extra: Record<number, number> = {},
): StagedCall {
  const sizes = new Int32Array(SLOT.COUNT);
  sizes.set([d.H, d.Tq, d.Tk, d.D]);
  for (const [s, v] of Object.entries(extra)) sizes[Number(s)] = v;
  const call = st.commit(scratchBytes(scratchFn, sizes), getThreads());
  call.desc.set(sizes);
  return call;
}

/** Writes the pointer and strides of operand `a` (layout L) at slot `s` (Q, K, V or Y). */
export function setLayout(call: StagedCall, s: number, a: Float, L: SliceLayout): void {
  call.desc.set([call.ptr(a as Float32Array) + L.offset * 4, L.batch, L.head, L.row], s);
}

/**
 * Runs the kernel `op` over the BH slices of a staged call (split over the pool), then `after` (work on the
 * staged results, e.g. a reduction), then copies the outputs back.
 */
export function runSlices(op: SliceOp, call: StagedCall, d: SliceDims, after?: () => void): void {
  attentionParallel(op, call.base, d.BH, call.scratch, call.stride, d.BH * d.Tq * d.Tk * d.D);
  after?.();
  call.finish();
}
