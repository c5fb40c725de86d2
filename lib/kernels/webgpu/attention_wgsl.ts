/**
 * WGSL pieces the attention kernels (attention_core.ts, flash.ts) share: rows of D features held as ⌈D/4⌉
 * `vec4<f32>` (zero-padded when D is not a multiple of 4), loaded from f32 storage at any offset, and dot products
 * and updates over a row written out in full (D is compiled in), so the only loops a thread runs are over keys
 * or queries. That matters beyond speed: lavapipe (Mesa's llvmpipe) stops every loop of an invocation once the
 * invocation has run about 65,535 loop iterations in all (its loop limiter), silently; a kernel whose inner
 * loops ran over D would hit that at T·D of a few hundred thousand.
 *
 * @module
 */
import { LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

/** Threads per workgroup of the attention kernels (a thread per row of a 64-row block). */
export const WG = 64;

/** Stand-in for −∞ in running maxima (no finite score reaches it). */
export const NEG = "-3.0e38";

/** vec4s per row of D features. */
export function vecs(D: number): number {
  return Math.ceil(D / 4);
}

/**
 * Rows per tile, at most 64: two tiles of rows plus two floats per row fit the 16 KiB of workgroup memory every
 * adapter has.
 */
export function tileRows(D: number): number {
  return Math.min(WG, Math.floor(16384 / (32 * vecs(D) + 8)));
}

/** An expression: the features 4·d4 … 4·d4 + 3 of the row whose first element is `src[at]`, as a vec4. */
export function loadVec(src: string, at: string, D: number, d4: string): string {
  const parts = [0, 1, 2, 3].map((k) => {
    const x = `${src}[${at} + 4u * ${d4} + ${k}u]`;
    return D % 4 === 0 ? x : `select(0.0, ${x}, 4u * ${d4} + ${k}u < ${D}u)`;
  });
  return `vec4<f32>(${parts.join(", ")})`;
}

/** Statements: `dst` (a private array of vec4) = the row whose first element is `src[at]`. */
export function loadRow(dst: string, src: string, at: string, D: number): string {
  return `for (var d4 = 0u; d4 < ${vecs(D)}u; d4++) { ${dst}[d4] = ${loadVec(src, at, D, "d4")}; }`;
}

/**
 * Statements run by every thread of a workgroup: rows t0 … t0 + n − 1 (`n` and `t0` in scope) of `src`, the
 * first element of row t at `base + t·stride`, into the vec4 tile `tile` (row c at c·⌈D/4⌉).
 */
export function loadTile(tile: string, src: string, base: string, stride: string, D: number): string {
  const V = vecs(D);
  return /* wgsl */ `for (var e = l; e < n * ${V}u; e += ${WG}u) {
      let c = e / ${V}u;
      ${tile}[e] = ${loadVec(src, `${base} + (t0 + c) * ${stride}`, D, `(e - c * ${V}u)`)};
    }`;
}

// Element k of a vec4 array `a`, whose row starts at `off` ("" for 0).
function at(a: string, off: string, k: number): string {
  return off === "" ? `${a}[${k}]` : `${a}[${off} + ${k}u]`;
}

/** An expression: the dot product of two rows (vec4 arrays `a` from `aOff`, `b` from `bOff`), written out. */
export function dotRow(a: string, aOff: string, b: string, bOff: string, D: number): string {
  const terms = Array.from({ length: vecs(D) }, (_, k) => `dot(${at(a, aOff, k)}, ${at(b, bOff, k)})`);
  return terms.join(" + ");
}

/** Statements: row `acc` += `s` · row `b` (from `bOff`), written out. */
export function axpyRow(acc: string, s: string, b: string, bOff: string, D: number): string {
  return Array.from({ length: vecs(D) }, (_, k) => `${acc}[${k}] += ${s} * ${at(b, bOff, k)};`).join(" ");
}

/** Statements: the first D features of the vec4 row `src`, times `factor`, into `dst[at …]`. */
export function storeRow(dst: string, at: string, src: string, D: number, factor = ""): string {
  const f = factor === "" ? "" : ` * ${factor}`;
  return `for (var d = 0u; d < ${D}u; d++) { ${dst}[${at} + d] = ${src}[d / 4u][d % 4u]${f}; }`;
}

/**
 * The entry point and its prologue: a workgroup per (slice, block of 64 rows), `slices` slices of `rows` rows
 * (WGSL expressions), the linear workgroup index rebuilt from a `grid()`-spread launch. Defines `l` (the local
 * index), `bh` (the slice), `r0` (the block's first row), `r` (the thread's row) and `live` (r < rows); the
 * workgroups past the last block return.
 */
export function blockMain(slices: string, rows: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let l = lid;
  let blocks = (${rows} + ${WG - 1}u) / ${WG}u;
  let w = ${LINEAR_WG}; // bh·blocks + block
  if (w >= ${slices} * blocks) { return; }
  let bh = w / blocks;
  let r0 = (w - bh * blocks) * ${WG}u;
  let r = r0 + l;
  let live = r < ${rows};`;
}

/** Declarations: the constants KT (rows per tile) and V (vec4s per row), and two vec4 tiles `a` and `b`. */
export function tiles(KT: number, D: number, a: string, b: string): string {
  return /* wgsl */ `const KT = ${KT}u;
const V = ${vecs(D)}u;
var<workgroup> ${a}: array<vec4<f32>, ${KT * vecs(D)}>;
var<workgroup> ${b}: array<vec4<f32>, ${KT * vecs(D)}>;`;
}
