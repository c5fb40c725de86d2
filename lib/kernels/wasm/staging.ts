/**
 * Staging of one descriptor-driven kernel call (the attention kernels): a descriptor of i32 slots at the start of
 * the kernels' scratch heap, then each distinct operand that does not already live in the kernel memory (copied in
 * and/or back out as its direction says), reserved areas, and the threads' private scratch. Operands that are
 * resident (an arena activation, a KV cache) are read and written in place.
 *
 * @module
 */
import { residentAddress, wasmHeap } from "./runtime.ts";

/** An operand of a kernel call. */
export type Operand = Float32Array | Float64Array | Int32Array | Uint8Array;

/** How an operand moves: `in` is copied in before the call, `out` back after it, `inout` both. */
export type Direction = "in" | "out" | "inout";

/** A staged call (see {@link Staging.commit}): where everything is, valid until the next heap request. */
export interface StagedCall {
  /** Byte address of the descriptor. */
  base: number;
  /** The descriptor's slots as i32. */
  desc: Int32Array;
  /** The same slots as f32. */
  descF: Float32Array;
  /** Byte address of the first thread's scratch (the others follow, `stride` bytes apart). */
  scratch: number;
  /** Bytes of scratch per thread. */
  stride: number;
  /** Byte address of an added operand. */
  ptr(a: Operand): number;
  /** Byte address of an area from {@link Staging.reserve}. */
  at(area: number): number;
  /** Copies the `out` and `inout` operands that are not resident back. */
  finish(): void;
}

const align16 = (n: number) => (n + 15) & ~15;

function bytesOf(a: Operand): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Collects a call's operands, then places them in the heap ({@link Staging.commit}). */
export class Staging {
  #top: number;
  #slots: number;
  #placed = new Map<Operand, { at: number; dir: Direction; resident: number }>();

  /** A staging whose descriptor has `slots` i32 slots (a multiple of 4). */
  constructor(slots: number) {
    this.#slots = slots;
    this.#top = align16(slots * 4);
  }

  /** Adds an operand; adding the same storage again merges the directions. */
  add(a: Operand, dir: Direction): void {
    const had = this.#placed.get(a);
    if (had !== undefined) {
      if (had.dir !== dir) had.dir = "inout";
      return;
    }
    const resident = residentAddress(a);
    this.#placed.set(a, { at: this.#top, dir, resident });
    if (resident < 0) this.#top = align16(this.#top + a.byteLength);
  }

  /** Reserves `bytes` of uninitialised room; returns a handle for {@link StagedCall.at}. */
  reserve(bytes: number): number {
    const at = this.#top;
    this.#top = align16(this.#top + bytes);
    return at;
  }

  /**
   * Requests the heap with `threads` scratch areas of `stride` bytes after everything added, copies the `in`
   * operands in and returns the call's addresses. The descriptor starts zeroed.
   */
  commit(stride: number, threads: number): StagedCall {
    const scratchAt = this.#top, total = scratchAt + align16(stride) * threads;
    const heap = wasmHeap(total / 4), base = heap.byteOffset, buf = heap.buffer;
    const desc = new Int32Array(buf, base, this.#slots);
    desc.fill(0);
    const placed = this.#placed;
    for (const [a, p] of placed) {
      if (p.resident < 0 && p.dir !== "out") new Uint8Array(buf, base + p.at, a.byteLength).set(bytesOf(a));
    }
    return {
      base,
      desc,
      descF: new Float32Array(buf, base, this.#slots),
      scratch: base + scratchAt,
      stride: align16(stride),
      ptr(a) {
        const p = placed.get(a);
        if (p === undefined) throw new Error("staging: operand was not added");
        return p.resident >= 0 ? p.resident : base + p.at;
      },
      at: (area) => base + area,
      finish() {
        for (const [a, p] of placed) {
          if (p.resident < 0 && p.dir !== "in") {
            bytesOf(a).set(new Uint8Array(buf, base + p.at, a.byteLength));
          }
        }
      },
    };
  }
}

/** Asks a kernel's scratch-size function about a descriptor (written to the heap first; only its sizes matter). */
export function scratchBytes(fn: (desc: number) => number, desc: Int32Array): number {
  const heap = wasmHeap(desc.length);
  new Int32Array(heap.buffer, heap.byteOffset, desc.length).set(desc);
  return fn(heap.byteOffset);
}
