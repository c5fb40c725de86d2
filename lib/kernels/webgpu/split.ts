/**
 * Splitting a (rows, cols) array larger than one storage binding (`gpu.info.maxBinding`) into chunks of whole
 * rows, each bound by span.ts's {@link bindSpan}: a view from the multiple of 64 at or before the chunk's first
 * row, the kernel skipping the few elements in front.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";
import { bindingElements, bindSpan } from "./span.ts";

/** Rows [r0, r0 + nr) of a (rows, cols) array, bound with `skip` elements in front of row r0. */
export interface RowChunk {
  /** First row. */
  readonly r0: number;
  /** Rows in the chunk. */
  readonly nr: number;
  /** Elements of the bound array in front of row r0 (< 64; 0 when the array is bound whole). */
  readonly skip: number;
}

/**
 * The chunks of whole rows, in order, each fitting one binding: one chunk `{ r0: 0, nr: rows, skip: 0 }` when the
 * array fits. Throws when one row (plus 63 elements of alignment) does not fit a binding.
 */
export function rowChunks(gpu: Gpu, rows: number, cols: number): RowChunk[] {
  const max = bindingElements(gpu);
  if (rows * cols <= max) return [{ r0: 0, nr: rows, skip: 0 }];
  const per = Math.floor((max - 63) / cols);
  if (per < 1) {
    throw new Error(
      `rowChunks: a row of ${cols} elements does not fit a binding of ${gpu.info.maxBinding} bytes`,
    );
  }
  const chunks: RowChunk[] = [];
  for (let r0 = 0; r0 < rows; r0 += per) {
    chunks.push({ r0, nr: Math.min(per, rows - r0), skip: (r0 * cols) % 64 });
  }
  return chunks;
}

/** The part of `a`, a (rows, cols) array (or one that fits a binding whole), that chunk `c` binds. */
export function chunkView(a: GpuArray, c: RowChunk, cols: number): GpuArray {
  const bound = bindSpan(a, c.r0 * cols, c.nr * cols);
  if (bound.at !== c.skip) {
    throw new Error(`chunkView: an array of ${a.length} does not have the chunk's layout`);
  }
  return bound.array;
}

/**
 * Calls `fn` for each chunk of whole rows of a (rows, cols) array ({@link rowChunks}), with `view` binding a
 * (rows, cols) array's part for that chunk.
 */
export function forEachChunk(
  gpu: Gpu,
  rows: number,
  cols: number,
  fn: (c: RowChunk, view: (a: GpuArray) => GpuArray) => void,
): void {
  for (const c of rowChunks(gpu, rows, cols)) fn(c, (a) => chunkView(a, c, cols));
}
