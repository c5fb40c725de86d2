/**
 * The kernels as pool jobs: each function runs one WASM kernel on operands in the shared memory (byte pointers),
 * split over the thread pool (pool.ts) when the job is large enough to pay for the hand-off, else on the calling
 * thread through the same piece code (pieces.ts). Pieces are rows, elements, columns or panels, so the result is
 * the same bits on any number of threads: reductions over rows (the weight gradients of the norms, the bias
 * gradient) split their columns instead and keep the row order, and the cross-entropy's loss is summed here in
 * row order.
 *
 * @module
 */
import { activeWorkers, jobControl, pieceSize, run, sleepingWorkers } from "./pool.ts";
import {
  CTRL,
  OP_ADAMW,
  OP_ADD_ROWS,
  OP_ADD_VEC,
  OP_CE_BWD,
  OP_CE_FWD,
  OP_GELU_BWD,
  OP_GELU_FWD,
  OP_GEMM,
  OP_GEMM_PACK,
  OP_LN_BWD_DW,
  OP_LN_BWD_DX,
  OP_LN_FWD,
  OP_RMS_BWD_DW,
  OP_RMS_BWD_DX,
  OP_RMS_FWD,
  OP_SOFTMAX_BWD,
  OP_SOFTMAX_FWD,
  OP_SUM_ROWS,
  OP_SWIGLU_BWD,
  OP_SWIGLU_FWD,
} from "./protocol.ts";
import { LN_BWD_DB, LN_BWD_DW, LN_BWD_DX, sharedKernels, wasmKernels } from "./runtime.ts";

/**
 * The least work worth handing to another thread, per piece: a job is split only into pieces at least this
 * large, so one that is smaller than two of them runs on the calling thread. In float operations of a cheap
 * pass (an add): heavier kernels count more per element (see `WEIGHT`).
 */
const MIN_PIECE = 1 << 15;

/** Work per element, relative to an add, of the kernels (rough costs on one core: exp, erf, divisions). */
const WEIGHT = { add: 1, norm: 2, softmax: 4, gelu: 6, adamw: 4, pack: 1 } as const;

/**
 * The least work worth waking a sleeping worker for (about 100 µs on one core): a smaller job runs here while
 * the workers sleep, and is split only when they are awake (polling right after an earlier job).
 */
const WAKE_MIN = 1 << 18;

/** Whether a job of `work` (in {@link MIN_PIECE}'s units) should run here: no worker, or all asleep and it is small. */
function staysHere(work: number): boolean {
  const n = activeWorkers();
  return n === 0 || (work < WAKE_MIN && sleepingWorkers() === n);
}

/**
 * Items per piece for a job of `total` items of `work` each: `total` (one piece, run here) when two pieces of
 * {@link MIN_PIECE} (and of `least` items) would not fill it or the job {@link staysHere} (`wake` false: only
 * when there is no worker), else a {@link pieceSize} of at least that much.
 */
function chunkOf(total: number, work: number, align = 1, least = 1, wake = true): number {
  const min = Math.max(least, Math.ceil(MIN_PIECE / work));
  if (total < 2 * min || (wake ? staysHere(total * work) : activeWorkers() === 0)) return total;
  return pieceSize(total, min, align);
}

/**
 * Columns per piece of a job that sums over rows column by column (the norms' weight gradients, the bias
 * gradient): at least {@link MIN_COLUMNS}, a multiple of 4 (the kernels' SIMD width, so a piece's columns get the
 * same vector or scalar arithmetic as on one thread).
 */
function columnChunk(cols: number, work: number): number {
  return chunkOf(cols, work, 4, MIN_COLUMNS);
}

/**
 * The narrowest column piece: each row contributes a run of at least 256 bytes, so the strided reads stay
 * prefetch-friendly (narrower strips read the rows' cache lines several times over).
 */
const MIN_COLUMNS = 64;

/** Multiply-adds per piece of a gemm worth handing to another thread. */
const GEMM_MIN_PIECE = 1 << 18;

/** Operands of one gemm with op(B) packed at full depth (byte pointers; leading dimensions in floats). */
export interface GemmRowsJob {
  /** Rows of C. */
  M: number;
  /** Columns of C. */
  N: number;
  /** Depth. */
  K: number;
  /** Depth of one block: each row block runs the blocks in order. */
  kc: number;
  /** op(A)'s storage. */
  a: number;
  /** Leading dimension of A as stored. */
  lda: number;
  /** A is stored (K, M). */
  transA: boolean;
  /** op(B) packed at depth K by {@link packB}. */
  p: number;
  /** C. */
  c: number;
  /** Leading dimension of C. */
  ldc: number;
  /** Add into C instead of overwriting it. */
  acc: boolean;
  /** The first of the threads' private A-packing areas, `qStride` bytes apart. */
  q: number;
  /** Bytes between the threads' A-packing areas. */
  qStride: number;
}

/** C (+)= op(A) · op(B) for a packed op(B) (see {@link GemmRowsJob}), rows split over the pool. */
export function gemmRows(j: GemmRowsJob): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_GEMM;
  ctrl[CTRL.N] = j.N;
  ctrl[CTRL.K] = j.K;
  ctrl[CTRL.A] = j.a;
  ctrl[CTRL.LDA] = j.lda;
  ctrl[CTRL.TRANS_A] = j.transA ? 1 : 0;
  ctrl[CTRL.P] = j.p;
  ctrl[CTRL.C] = j.c;
  ctrl[CTRL.LDC] = j.ldc;
  ctrl[CTRL.ACC] = j.acc ? 1 : 0;
  ctrl[CTRL.Q] = j.q;
  ctrl[CTRL.Q_STRIDE] = j.qStride;
  ctrl[CTRL.ARG] = j.kc;
  // rows go out in multiples of 6 (the kernel's row block)
  const minRows = Math.max(6, Math.ceil(GEMM_MIN_PIECE / (j.N * j.K)));
  const here = j.M < 2 * minRows || staysHere(j.M * j.N * j.K / 4); // a multiply-add: about 1/4 of an add's time
  run(j.M, here ? j.M : pieceSize(j.M, minRows, 6));
}

/**
 * Packs op(B) (K × N; B stored (N, K) when `transB`, with rows `ldb` floats apart) into 8-column panels of depth
 * K at `p` (K · ⌈N/8⌉ · 8 floats), the panels split over the pool.
 */
export function packB(N: number, K: number, b: number, ldb: number, transB: boolean, p: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_GEMM_PACK;
  ctrl[CTRL.N] = N;
  ctrl[CTRL.K] = K;
  ctrl[CTRL.A] = b;
  ctrl[CTRL.LDA] = ldb;
  ctrl[CTRL.TRANS_A] = transB ? 1 : 0;
  ctrl[CTRL.P] = p;
  const panels = Math.ceil(N / 8);
  // wakes a sleeping worker even when small: the product that follows needs it, and it wakes while packing
  run(panels, chunkOf(panels, WEIGHT.pack * 8 * K, 1, 1, false));
}

/** GELU forward (dy = 0) or backward over n elements. */
export function gelu(n: number, x: number, dy: number, out: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = dy !== 0 ? OP_GELU_BWD : OP_GELU_FWD;
  ctrl[CTRL.A] = x;
  ctrl[CTRL.B] = dy;
  ctrl[CTRL.C] = out;
  run(n, chunkOf(n, WEIGHT.gelu, 4));
}

/** SwiGLU forward: out = silu(g) ⊙ u over n elements. */
export function swigluForward(n: number, g: number, u: number, out: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_SWIGLU_FWD;
  ctrl.set([g, u, out], CTRL.A);
  run(n, chunkOf(n, WEIGHT.gelu, 4));
}

/** SwiGLU backward over n elements (dg or du 0: not written). */
export function swigluBackward(n: number, g: number, u: number, dy: number, dg: number, du: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_SWIGLU_BWD;
  ctrl.set([g, u, dy, dg, du], CTRL.ARG);
  run(n, chunkOf(n, WEIGHT.gelu, 4));
}

/** out[r, :] = x[r, :] + b for `rows` rows of width n (out may be x). */
export function addRows(rows: number, n: number, x: number, b: number, out: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_ADD_ROWS;
  ctrl.set([x, b, out], CTRL.A);
  ctrl[CTRL.N] = n;
  run(rows, chunkOf(rows, WEIGHT.add * n));
}

/** out = a + b over n elements. */
export function addVec(n: number, a: number, b: number, out: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_ADD_VEC;
  ctrl.set([a, b, out], CTRL.A);
  run(n, chunkOf(n, WEIGHT.add, 4));
}

/** out[j] += Σ_r g[r, j] over `rows` rows of width n (rows in order), columns split over the pool. */
export function sumRows(rows: number, n: number, g: number, out: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_SUM_ROWS;
  ctrl[CTRL.A] = g;
  ctrl[CTRL.C] = out;
  ctrl[CTRL.N] = n;
  ctrl[CTRL.K] = rows;
  run(n, columnChunk(n, WEIGHT.add * rows));
}

/** LayerNorm forward (see layernorm_fwd; b = 0 for none), rows split over the pool. */
export function layerNormForward(
  rows: number,
  C: number,
  x: number,
  w: number,
  b: number,
  out: number,
  mean: number,
  rstd: number,
  eps: number,
): void {
  const { ctrl, f64 } = jobControl();
  ctrl[CTRL.OP] = OP_LN_FWD;
  ctrl.set([x, w, out], CTRL.A);
  ctrl[CTRL.P] = b;
  ctrl[CTRL.ACC] = b === 0 ? 0 : 1;
  ctrl[CTRL.N] = C;
  ctrl[CTRL.LDA] = mean;
  ctrl[CTRL.LDC] = rstd;
  f64[CTRL.F64 / 2] = eps;
  run(rows, chunkOf(rows, WEIGHT.norm * C));
}

/**
 * LayerNorm backward (see layernorm_bwd; dx, dw, db 0 for none): on one thread the fused kernel; split, dx by
 * rows, then dw and db by columns (the same arithmetic in the same row order, so the same bits).
 */
export function layerNormBackward(
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
): void {
  const flags = (dx !== 0 ? LN_BWD_DX : 0) | (dw !== 0 ? LN_BWD_DW : 0) | (db !== 0 ? LN_BWD_DB : 0);
  if (flags === 0) return;
  const rowChunk = chunkOf(rows, WEIGHT.norm * C);
  if (rowChunk >= rows) {
    wasmKernels()!.layernorm_bwd(rows, C, x, w, mean, rstd, dy, dx, dw, db, flags);
    return;
  }
  const { ctrl } = jobControl();
  ctrl.set([x, w, mean, rstd, dy, dx, dw, db], CTRL.ARG);
  ctrl[CTRL.N] = C;
  if (dx !== 0) {
    ctrl[CTRL.OP] = OP_LN_BWD_DX;
    run(rows, rowChunk);
  }
  if ((flags & (LN_BWD_DW | LN_BWD_DB)) === 0) return;
  ctrl[CTRL.OP] = OP_LN_BWD_DW;
  ctrl[CTRL.K] = rows;
  ctrl[CTRL.ACC] = flags;
  run(C, columnChunk(C, WEIGHT.norm * rows));
}

/** RMSNorm forward (see rmsnorm_fwd), rows split over the pool. */
export function rmsNormForward(
  rows: number,
  C: number,
  x: number,
  w: number,
  out: number,
  rstd: number,
  eps: number,
): void {
  const { ctrl, f64 } = jobControl();
  ctrl[CTRL.OP] = OP_RMS_FWD;
  ctrl.set([x, w, out], CTRL.A);
  ctrl[CTRL.N] = C;
  ctrl[CTRL.LDC] = rstd;
  f64[CTRL.F64 / 2] = eps;
  run(rows, chunkOf(rows, WEIGHT.norm * C));
}

/**
 * RMSNorm backward (see rmsnorm_bwd; dx or dw 0 for none): on one thread the fused kernel; split, dx by rows,
 * then dw by columns (the same bits).
 */
export function rmsNormBackward(
  rows: number,
  C: number,
  x: number,
  w: number,
  rstd: number,
  dy: number,
  dx: number,
  dw: number,
): void {
  if (dx === 0 && dw === 0) return;
  const rowChunk = chunkOf(rows, WEIGHT.norm * C);
  if (rowChunk >= rows) {
    wasmKernels()!.rmsnorm_bwd(rows, C, x, w, rstd, dy, dx, dw);
    return;
  }
  const { ctrl } = jobControl();
  ctrl.set([x, w, rstd, dy, dx, dw], CTRL.ARG);
  ctrl[CTRL.N] = C;
  if (dx !== 0) {
    ctrl[CTRL.OP] = OP_RMS_BWD_DX;
    run(rows, rowChunk);
  }
  if (dw === 0) return;
  ctrl[CTRL.OP] = OP_RMS_BWD_DW;
  ctrl[CTRL.K] = rows;
  run(C, columnChunk(C, WEIGHT.norm * rows));
}

/** Row softmax forward over `rows` rows of `cols`. */
export function softmaxForward(rows: number, cols: number, x: number, out: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_SOFTMAX_FWD;
  ctrl[CTRL.A] = x;
  ctrl[CTRL.C] = out;
  ctrl[CTRL.N] = cols;
  run(rows, chunkOf(rows, WEIGHT.softmax * cols));
}

/** Softmax backward over `rows` rows of `cols`. */
export function softmaxBackward(rows: number, cols: number, p: number, dy: number, dx: number): void {
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_SOFTMAX_BWD;
  ctrl.set([p, dy, dx], CTRL.A);
  ctrl[CTRL.N] = cols;
  run(rows, chunkOf(rows, WEIGHT.norm * cols));
}

/**
 * Softmax + cross-entropy over `rows` rows of `cols` logits (targets: int32, −1 = ignored); returns the summed
 * loss. Split, each row's loss goes to `losses` (rows float64s, 8-byte aligned) and is summed here in row order,
 * as the kernel sums them on one thread.
 */
export function crossEntropyForward(
  rows: number,
  cols: number,
  x: number,
  targets: number,
  probs: number,
  losses: number,
): number {
  const k = wasmKernels()!;
  const chunk = chunkOf(rows, WEIGHT.softmax * cols);
  if (chunk >= rows) return k.cross_entropy_fwd(rows, cols, x, targets, probs);
  const { ctrl } = jobControl();
  ctrl[CTRL.OP] = OP_CE_FWD;
  ctrl.set([x, targets, probs], CTRL.A);
  ctrl[CTRL.P] = losses;
  ctrl[CTRL.N] = cols;
  run(rows, chunk);
  const mem = sharedKernels()!.memory.buffer;
  const loss = new Float64Array(mem, losses, rows), tgt = new Int32Array(mem, targets, rows);
  let total = 0;
  for (let r = 0; r < rows; r++) if (tgt[r] >= 0) total += loss[r];
  return total;
}

/** Cross-entropy backward over `rows` rows of `cols` (see cross_entropy_bwd). */
export function crossEntropyBackward(
  rows: number,
  cols: number,
  probs: number,
  targets: number,
  dx: number,
  scale: number,
): void {
  const { ctrl, f64 } = jobControl();
  ctrl[CTRL.OP] = OP_CE_BWD;
  ctrl.set([probs, targets, dx], CTRL.A);
  ctrl[CTRL.N] = cols;
  f64[CTRL.F64 / 2] = scale;
  run(rows, chunkOf(rows, WEIGHT.add * cols));
}

/** One AdamW step over n elements (see adamw_update for the scalars). */
export function adamw(
  n: number,
  p: number,
  g: number,
  m: number,
  v: number,
  scalars: readonly [number, number, number, number, number, number, number, number],
): void {
  const { ctrl, f64 } = jobControl();
  ctrl[CTRL.OP] = OP_ADAMW;
  ctrl.set([p, g, m, v], CTRL.ARG);
  f64.set(scalars, CTRL.F64 / 2);
  run(n, chunkOf(n, WEIGHT.adamw, 4));
}
