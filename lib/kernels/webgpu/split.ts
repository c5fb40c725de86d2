/**
 * Splitting a (rows, cols) array larger than one storage binding (`gpu.info.maxBinding`) into chunks of whole
 * rows, each bound as a {@link GpuArray.view}: a view must start at a multiple of 64 elements, so a chunk's view
 * starts at the multiple of 64 at or before its first row, and the kernel skips the few elements in front.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";

/** Rows [r0, r0 + nr) of a (rows, cols) array, bound from element `at` (a multiple of 64) with `skip` in front. */
export interface RowChunk {
  /** First row. */
  readonly r0: number;
  /** Rows in the chunk. */
  readonly nr: number;
  /** First element of the view (a multiple of 64). */
  readonly at: number;
  /** Elements of the view in front of row r0 (< 64). */
  readonly skip: number;
}

/**
 * The chunks of whole rows, in order, each fitting one binding: one chunk `{ r0: 0, nr: rows, at: 0, skip: 0 }`
 * when the array fits. Throws when one row (plus 63 elements of alignment) does not fit a binding.
 */
export function rowChunks(gpu: Gpu, rows: number, cols: number): RowChunk[] {
  const max = Math.floor(gpu.info.maxBinding / 4);
  if (rows * cols <= max) return [{ r0: 0, nr: rows, at: 0, skip: 0 }];
  const per = Math.floor((max - 63) / cols);
  if (per < 1) {
    throw new Error(
      `rowChunks: a row of ${cols} elements does not fit a binding of ${gpu.info.maxBinding} bytes`,
    );
  }
  const chunks: RowChunk[] = [];
  for (let r0 = 0; r0 < rows; r0 += per) {
    const first = r0 * cols, at = first - (first % 64);
    chunks.push({ r0, nr: Math.min(per, rows - r0), at, skip: first - at });
  }
  return chunks;
}

/** The part of `a`, a (rows, cols) array, that chunk `c` binds: `a` itself when the chunk is the whole array. */
export function chunkView(a: GpuArray, c: RowChunk, cols: number, rows: number): GpuArray {
  if (c.r0 === 0 && c.nr === rows) return a;
  return a.view(c.at, c.skip + c.nr * cols);
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
  for (const c of rowChunks(gpu, rows, cols)) fn(c, (a) => chunkView(a, c, cols, rows));
}
