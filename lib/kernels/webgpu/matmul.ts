/**
 * General matrix multiply on the GPU, mirroring `gemm` of lib/kernels/matmul.ts:
 * `C[M,N] (+)= op(A)[M,K] · op(B)[K,N]` for the four transpose layouts, with element offsets and accumulate.
 *
 * The kernel is tiled: a workgroup of 16×16 invocations computes a BM×BN tile of C (BM = 16·TM, BN = 16·TN),
 * staging BK-deep slices of op(A) and op(B) in workgroup memory; each invocation keeps TM×TN sums in
 * registers, for rows `ly + 16·i` and columns `lx + 16·j` of the tile (so that neighbouring invocations read
 * neighbouring words). Every edge is bounds-checked. Each output sums its K products in order: two runs give
 * the same bits.
 *
 * Operands larger than one storage binding are handled by splitting the product into pieces over M, N and K
 * whose operand ranges fit ({@link bindSpan}); the K pieces of one output run in order, each adding into C.
 * {@link gemmBatchedGpu} runs a batch of equally strided products in one dispatch.
 *
 * @module
 */
import type { GemmArgs } from "../types.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { bindingElements, bindSpan } from "./span.ts";
import type { BoundSpan } from "./span.ts";

/** {@link GemmArgs} with the operands on the GPU: C[M,N] (+)= op(A)[M,K] · op(B)[K,N]. */
export interface GpuGemmArgs extends Omit<GemmArgs, "A" | "B" | "C"> {
  /** Left operand storage: (M, K) row-major, or (K, M) when `transA`. */
  A: GpuArray;
  /** Right operand storage: (K, N) row-major, or (N, K) when `transB`. */
  B: GpuArray;
  /** Output storage, (M, N) row-major from `cOff`; it may not share a buffer with A or B. */
  C: GpuArray;
}

/** A tile shape of the kernel: TM×TN outputs per invocation (BM = 16·TM, BN = 16·TN), BK-deep K slices. */
export interface GemmTile {
  /** Rows of C per invocation. */
  readonly tm: number;
  /** Columns of C per invocation (multiple of 4: vec4 sums). */
  readonly tn: number;
  /** Depth of one staged K slice (BM·BK and BN·BK must be multiples of 256). */
  readonly bk: number;
}

/** 16×64 tiles, 1×4 per invocation, K slices of 16: for products of few rows (generation, small batches). */
export const TILE_16: GemmTile = { tm: 1, tn: 4, bk: 16 };
/** 64×64 tiles, 4×4 per invocation, K slices of 16: the default. */
export const TILE_64: GemmTile = { tm: 4, tn: 4, bk: 16 };
/** 128×128 tiles, 8×8 per invocation, K slices of 8: for products with many tiles. */
export const TILE_128: GemmTile = { tm: 8, tn: 8, bk: 8 };

/** Workgroups of 128×128 tiles above which {@link TILE_128} is chosen (enough to fill a large GPU). */
const LARGE_TILES = 512;
const WG_MAX = 65535;

/** The tile {@link gemmGpu} picks for an M×N product: few rows, many tiles, or the default. */
export function gemmTile(M: number, N: number): GemmTile {
  if (M <= 16) return TILE_16;
  return Math.ceil(M / 128) * Math.ceil(N / 128) >= LARGE_TILES ? TILE_128 : TILE_64;
}

/**
 * The WGSL of one layout and tile. Launch: ⌈N / BN⌉ × ⌈M / BM⌉ workgroups of 16×16 invocations.
 * Parameters: the piece's M, N, K, the leading dimensions of A, B, C as stored, where the piece starts in each
 * bound array, whether to add into C, and the strides between the products of a batch (workgroup z).
 */
function gemmWgsl(transA: boolean, transB: boolean, t: GemmTile): string {
  const { tm, tn, bk } = t;
  const bm = 16 * tm, bn = 16 * tn, q = tn / 4;
  const sa = bm + 1, sb = bn + 1; // padded rows of the staged slices: column-wise stores hit distinct banks
  // one staged element per invocation and step: which (row, k) of the tile it is, keeping global reads
  // contiguous along the operand's stored rows
  const loadA = transA
    ? `let r = e % ${bm}u; let kk = e / ${bm}u;`
    : `let kk = e % ${bk}u; let r = e / ${bk}u;`;
  const loadB = transB
    ? `let kk = e % ${bk}u; let r = e / ${bk}u;`
    : `let r = e % ${bn}u; let kk = e / ${bn}u;`;
  const idxA = transA ? "gk * p.lda + gr" : "gr * p.lda + gk";
  const idxB = transB ? "gr * p.ldb + gk" : "gk * p.ldb + gr";
  const lines = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join("\n");
  const accs = lines(tm, (i) => lines(q, (j) => `  var c${i}_${j} = vec4f(0.0);`));
  const readA = lines(tm, (i) => `      let a${i} = sa[kk * ${sa}u + lid.y + ${16 * i}u];`);
  const readB = lines(q, (j) => {
    const at = (s: number) => `sb[kk * ${sb}u + lid.x + ${16 * (4 * j + s)}u]`;
    return `      let b${j} = vec4f(${at(0)}, ${at(1)}, ${at(2)}, ${at(3)});`;
  });
  const fmas = lines(tm, (i) => lines(q, (j) => `      c${i}_${j} = fma(vec4f(a${i}), b${j}, c${i}_${j});`));
  const stores = lines(tm, (i) =>
    lines(tn, (s) => {
      const j = Math.floor(s / 4), w = "xyzw"[s % 4];
      return `  store(cr, m0 + lid.y + ${16 * i}u, n0 + lid.x + ${16 * s}u, c${i}_${j}.${w});`;
    }));
  return /* wgsl */ `
struct P {
  M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, ar: u32, br: u32, cr: u32, acc: u32,
  sa: u32, sb: u32, sc: u32,
}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> sa: array<f32, ${bk * sa}>;
var<workgroup> sb: array<f32, ${bk * sb}>;

fn store(cr: u32, m: u32, n: u32, v: f32) {
  if (m >= p.M || n >= p.N) { return; }
  let at = cr + m * p.ldc + n;
  if (p.acc != 0u) { c[at] = c[at] + v; } else { c[at] = v; }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let m0 = wid.y * ${bm}u;
  let n0 = wid.x * ${bn}u;
  let ar = p.ar + wid.z * p.sa; // the z-th product of a batch
  let br = p.br + wid.z * p.sb;
  let cr = p.cr + wid.z * p.sc;
${accs}
  for (var k0 = 0u; k0 < p.K; k0 += ${bk}u) {
    for (var s = 0u; s < ${(bm * bk) / 256}u; s++) {
      let e = t + s * 256u;
      ${loadA}
      let gr = m0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < p.M && gk < p.K) { v = a[ar + ${idxA}]; }
      sa[kk * ${sa}u + r] = v;
    }
    for (var s = 0u; s < ${(bn * bk) / 256}u; s++) {
      let e = t + s * 256u;
      ${loadB}
      let gr = n0 + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < p.N && gk < p.K) { v = b[br + ${idxB}]; }
      sb[kk * ${sb}u + r] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
${readA}
${readB}
${fmas}
    }
    workgroupBarrier();
  }
${stores}
}`;
}

const sources = new Map<string, string>();

/** {@link gemmWgsl}, generated once per layout and tile. */
function source(transA: boolean, transB: boolean, t: GemmTile): string {
  const key = `${transA} ${transB} ${t.tm} ${t.tn} ${t.bk}`;
  let wgsl = sources.get(key);
  if (wgsl === undefined) sources.set(key, wgsl = gemmWgsl(transA, transB, t));
  return wgsl;
}

/** Sizes of one piece of the product. */
interface Sizes {
  m: number;
  n: number;
  k: number;
}
type Dim = keyof Sizes;

/**
 * Piece sizes whose operand ranges each fit one binding (only operands larger than one binding constrain
 * them): an operand stored with leading dimension `ld` spans (rows − 1)·ld + cols elements of a piece, plus up
 * to 63 before it (the view's alignment). Sizes shrink to multiples of the tile where they can.
 */
function pieceSizes(a: GpuGemmArgs, limit: number, tile: GemmTile): Sizes {
  const { M, N, K } = a;
  const s: Sizes = { m: Math.min(M, WG_MAX * 16 * tile.tm), n: Math.min(N, WG_MAX * 16 * tile.tn), k: K };
  const cap = limit - 63;
  // each operand: its stored rows and columns as piece dimensions, its leading dimension, whether it is large
  const ops: [Dim, Dim, number, boolean][] = [
    a.transA ? ["k", "m", M, a.A.length > limit] : ["m", "k", K, a.A.length > limit],
    a.transB ? ["n", "k", K, a.B.length > limit] : ["k", "n", N, a.B.length > limit],
    ["m", "n", N, a.C.length > limit],
  ];
  const down = (x: number) => (x > 64 ? x - (x % 64) : x);
  for (let changed = true; changed;) {
    changed = false;
    for (const [rows, cols, ld, large] of ops) {
      if (!large || s[rows] === 0 || s[cols] === 0 || (s[rows] - 1) * ld + s[cols] <= cap) continue;
      if (s[cols] > cap) {
        s[cols] = down(cap);
        s[rows] = 1;
      } else s[rows] = down(Math.floor((cap - s[cols]) / ld) + 1);
      changed = true;
    }
  }
  return s;
}

/** Strides of a batch of products, in elements between consecutive matrices of A, B and C. */
export interface GemmBatch {
  /** Number of products. */
  readonly count: number;
  /** Elements from one A to the next. */
  readonly strideA: number;
  /** Elements from one B to the next. */
  readonly strideB: number;
  /** Elements from one C to the next. */
  readonly strideC: number;
}

const ONE: GemmBatch = { count: 1, strideA: 0, strideB: 0, strideC: 0 };

/** Records one dispatch of a piece (or of a whole batch: `batch.count` workgroups along z). */
function record(
  gpu: Gpu,
  args: GpuGemmArgs,
  tile: GemmTile,
  spans: readonly [BoundSpan, BoundSpan, BoundSpan],
  size: Sizes,
  accumulate: boolean,
  batch: GemmBatch,
): void {
  const { M, N, K, transA, transB } = args;
  const params = gpu.params()
    .u32(size.m, size.n, size.k, transA ? M : K, transB ? K : N, N)
    .u32(spans[0].at, spans[1].at, spans[2].at, accumulate ? 1 : 0)
    .u32(batch.strideA, batch.strideB, batch.strideC);
  gpu.dispatch(
    gpu.pipeline(source(transA, transB, tile)),
    spans.map((s) => s.array),
    [Math.ceil(size.n / (16 * tile.tn)), Math.ceil(size.m / (16 * tile.tm)), batch.count],
    params,
  );
}

/**
 * Records C (+)= op(A) · op(B), as `gemm` (see {@link GpuGemmArgs}); `tile` overrides the kernel's tile shape
 * ({@link gemmTile} by default). Launch per piece: ⌈N / BN⌉ × ⌈M / BM⌉ workgroups of 16×16 invocations (one
 * piece unless an operand is larger than one binding).
 */
export function gemmGpu(gpu: Gpu, args: GpuGemmArgs, tile: GemmTile = gemmTile(args.M, args.N)): void {
  const { M, N, K, A, B, C, transA, transB, aOff, bOff, cOff } = args;
  if (C.buffer === A.buffer || C.buffer === B.buffer) {
    throw new Error("gemmGpu: C may not share a buffer with A or B");
  }
  if (M === 0 || N === 0) return;
  const s = pieceSizes(args, bindingElements(gpu), tile);
  for (let m0 = 0; m0 < M; m0 += s.m) {
    const m = Math.min(s.m, M - m0);
    for (let n0 = 0; n0 < N; n0 += s.n) {
      const n = Math.min(s.n, N - n0);
      // K = 0 still runs one piece: it writes zeros (or leaves C as it was when accumulating)
      for (let k0 = 0; k0 === 0 || k0 < K; k0 += s.k) {
        const k = Math.min(s.k, K - k0);
        const spans = [
          transA
            ? bindSpan(A, aOff + k0 * M + m0, k === 0 ? 0 : (k - 1) * M + m)
            : bindSpan(A, aOff + m0 * K + k0, (m - 1) * K + k),
          transB
            ? bindSpan(B, bOff + n0 * K + k0, (n - 1) * K + k)
            : bindSpan(B, bOff + k0 * N + n0, k === 0 ? 0 : (k - 1) * N + n),
          bindSpan(C, cOff + m0 * N + n0, (m - 1) * N + n),
        ] as const;
        record(gpu, args, tile, spans, { m, n, k }, args.accumulate || k0 > 0, ONE);
        if (K === 0) break;
      }
    }
  }
}

/**
 * Records `batch.count` products, the i-th on the matrices at `aOff + i·strideA`, `bOff + i·strideB` and
 * `cOff + i·strideC` (attention's per-head products). One dispatch (workgroups along z) where A, B and C each
 * fit one binding and the tile grid does; else one {@link gemmGpu} per product.
 */
export function gemmBatchedGpu(
  gpu: Gpu,
  args: GpuGemmArgs,
  batch: GemmBatch,
  tile: GemmTile = gemmTile(args.M, args.N),
): void {
  const { M, N, A, B, C } = args;
  const limit = bindingElements(gpu);
  const fits = A.length <= limit && B.length <= limit && C.length <= limit && batch.count <= WG_MAX &&
    Math.ceil(M / (16 * tile.tm)) <= WG_MAX && Math.ceil(N / (16 * tile.tn)) <= WG_MAX;
  if (!fits) {
    for (let i = 0; i < batch.count; i++) {
      const off = {
        aOff: args.aOff + i * batch.strideA,
        bOff: args.bOff + i * batch.strideB,
        cOff: args.cOff + i * batch.strideC,
      };
      gemmGpu(gpu, { ...args, ...off }, tile);
    }
    return;
  }
  if (C.buffer === A.buffer || C.buffer === B.buffer) {
    throw new Error("gemmBatchedGpu: C may not share a buffer with A or B");
  }
  if (M === 0 || N === 0 || batch.count === 0) return;
  const spans = [
    { array: A, at: args.aOff },
    { array: B, at: args.bOff },
    { array: C, at: args.cOff },
  ] as const;
  record(gpu, args, tile, spans, { m: M, n: N, k: args.K }, args.accumulate, batch);
}
