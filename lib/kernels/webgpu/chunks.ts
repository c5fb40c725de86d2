/**
 * Splitting element-wise work over arrays larger than one storage binding (`gpu.info.maxBinding`): the range
 * [start, end) is cut into pieces that each lie inside one binding-sized window, whose views a kernel binds.
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray, Params } from "./runtime.ts";

/** One binding-sized window: bind `view(base, size)`, and work on its elements [lo, hi) (relative to base). */
export interface Piece {
  /** First element of the window (a multiple of 64). */
  readonly base: number;
  /** Elements in the window. */
  readonly size: number;
  /** First element to work on, relative to `base`. */
  readonly lo: number;
  /** One past the last element to work on, relative to `base`. */
  readonly hi: number;
}

/** Elements that fit one binding, rounded down to a multiple of 64 (the step of a view's offset). */
export function bindingElements(gpu: Gpu): number {
  return Math.max(64, Math.floor(gpu.info.maxBinding / 256) * 64);
}

/**
 * The windows covering elements [start, end) of arrays of `length` elements: one (the whole arrays) when they fit
 * `window` elements (default: one binding, {@link bindingElements}; else a multiple of 64), else consecutive windows
 * of that many; none when the range is empty.
 */
export function pieces(
  gpu: Gpu,
  length: number,
  start = 0,
  end = length,
  window: number = bindingElements(gpu),
): Piece[] {
  if (!(0 <= start && start <= end && end <= length)) {
    throw new Error(`webgpu: element range [${start}, ${end}) exceeds ${length} elements`);
  }
  if (start === end) return [];
  if (length <= window) return [{ base: 0, size: length, lo: start, hi: end }];
  const out: Piece[] = [];
  for (let base = Math.floor(start / window) * window; base < end; base += window) {
    const size = Math.min(window, length - base);
    out.push({ base, size, lo: Math.max(start, base) - base, hi: Math.min(end, base + size) - base });
  }
  return out;
}

/** `a` itself when the piece covers it whole, else its view of the piece's window. */
export function part(a: GpuArray, piece: Piece): GpuArray {
  return piece.base === 0 && piece.size === a.length ? a : a.view(piece.base, piece.size);
}

/**
 * Records a 1-D element-wise launch of `pipeline` per window of `windows` ({@link pieces}): the arrays `bind` gives
 * for it (e.g. {@link part}s), parameters that begin with the window's `lo, hi` (`more` appends the kernel's own),
 * one invocation per element of [lo, hi), `wg` per workgroup.
 */
export function dispatchWindows(
  gpu: Gpu,
  pipeline: GPUComputePipeline,
  wg: number,
  windows: readonly Piece[],
  bind: (piece: Piece) => GpuArray[],
  more: (params: Params, piece: Piece) => void = () => {},
): void {
  for (const piece of windows) {
    const params = gpu.params().u32(piece.lo, piece.hi);
    more(params, piece);
    gpu.dispatch(pipeline, bind(piece), grid(Math.ceil((piece.hi - piece.lo) / wg)), params);
  }
}
