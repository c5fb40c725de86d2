/**
 * Binding part of an array that may be larger than one storage binding ({@link GpuInfo.maxBinding}): a kernel
 * binds a view that starts at the 64-element step at or before the part it needs and adds the remainder to its
 * indices.
 *
 * @module
 */
import type { Gpu, GpuArray } from "./runtime.ts";

/** Elements one storage binding holds on `gpu`. */
export function bindingElements(gpu: Gpu): number {
  return Math.floor(gpu.info.maxBinding / 4);
}

/** What {@link bindSpan} gives: the array to bind, and where the span starts in it (in elements). */
export interface BoundSpan {
  /** `a` itself when it fits one binding, else a view of it. */
  readonly array: GpuArray;
  /** Index of the span's first element in {@link BoundSpan.array}. */
  readonly at: number;
}

/**
 * The binding for elements [start, start + length) of `a`: `a` itself (at = start) when it fits one binding,
 * else a view from the 64-element step at or before `start` (at < 64). The view then holds `at + length`
 * elements: callers size their spans so that this fits ({@link bindingElements} − 63 elements always does).
 */
export function bindSpan(a: GpuArray, start: number, length: number): BoundSpan {
  if (start < 0 || length < 0 || start + length > a.length) {
    throw new Error(`bindSpan: ${length} elements at ${start} exceed the array's ${a.length}`);
  }
  if (a.length <= bindingElements(a.gpu)) return { array: a, at: start };
  const from = start - (start % 64);
  return { array: a.view(from, start - from + length), at: start - from };
}
