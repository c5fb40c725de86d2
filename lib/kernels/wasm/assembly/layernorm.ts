// LayerNorm over rows of width C (f32, row-major), forward and backward, four lanes at a time with a scalar tail
// for widths that are not a multiple of 4. Pointer arguments are byte offsets into linear memory.

import { fma, hsum, splat, SUM_BLOCK } from "./simd_math";

// Sum of row[0..C): two vector accumulators over blocks of SUM_BLOCK, block sums in f64, then the 4-lane and
// scalar tails.
@inline function rowSum(row: usize, C: i32): f64 {
  const c8 = C & ~7, c4 = C & ~3;
  let s: f64 = 0;
  for (let j0 = 0; j0 < c8; j0 += SUM_BLOCK) {
    const j1 = min(j0 + SUM_BLOCK, c8);
    let a0 = splat(0), a1 = splat(0);
    for (let j = j0; j < j1; j += 8) {
      const p = row + (<usize>j << 2);
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p + 16));
    }
    s += <f64>hsum(f32x4.add(a0, a1));
  }
  if (c4 > c8) s += <f64>hsum(v128.load(row + (<usize>c8 << 2)));
  for (let j = c4; j < C; j++) s += <f64>load<f32>(row + (<usize>j << 2));
  return s;
}

// Σ (row[j] − m)² over row[0..C), summed as in rowSum.
@inline function rowSumSqDev(row: usize, C: i32, m: f32): f64 {
  const c8 = C & ~7, c4 = C & ~3;
  const mv = splat(m);
  let s: f64 = 0;
  for (let j0 = 0; j0 < c8; j0 += SUM_BLOCK) {
    const j1 = min(j0 + SUM_BLOCK, c8);
    let a0 = splat(0), a1 = splat(0);
    for (let j = j0; j < j1; j += 8) {
      const p = row + (<usize>j << 2);
      const d0 = f32x4.sub(v128.load(p), mv), d1 = f32x4.sub(v128.load(p + 16), mv);
      a0 = fma(d0, d0, a0);
      a1 = fma(d1, d1, a1);
    }
    s += <f64>hsum(f32x4.add(a0, a1));
  }
  if (c4 > c8) {
    const d = f32x4.sub(v128.load(row + (<usize>c8 << 2)), mv);
    s += <f64>hsum(f32x4.mul(d, d));
  }
  for (let j = c4; j < C; j++) {
    const d = load<f32>(row + (<usize>j << 2)) - m;
    s += <f64>(d * d);
  }
  return s;
}

// out = (x − mean) · rstd · w (+ b when hasBias ≠ 0) for `rows` rows of width C; mean[r] and
// rstd[r] = 1/√(var + eps) (biased variance, two passes) are saved per row for the backward pass.
export function layernorm_fwd(
  rows: i32,
  C: i32,
  x: usize,
  w: usize,
  b: usize,
  hasBias: i32,
  out: usize,
  mean: usize,
  rstd: usize,
  eps: f64,
): void {
  const c4 = C & ~3;
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>C) << 2;
    const xr = x + ro, yr = out + ro;
    const m = <f32>(rowSum(xr, C) / C);
    const s = <f32>(1.0 / Math.sqrt(rowSumSqDev(xr, C, m) / C + eps));
    store<f32>(mean + (<usize>r << 2), m);
    store<f32>(rstd + (<usize>r << 2), s);
    const mv = splat(m), sv = splat(s);
    if (hasBias != 0) {
      for (let j = 0; j < c4; j += 4) {
        const o = <usize>j << 2;
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
        v128.store(yr + o, fma(xh, v128.load(w + o), v128.load(b + o)));
      }
      for (let j = c4; j < C; j++) {
        const o = <usize>j << 2;
        store<f32>(yr + o, (load<f32>(xr + o) - m) * s * load<f32>(w + o) + load<f32>(b + o));
      }
    } else {
      for (let j = 0; j < c4; j += 4) {
        const o = <usize>j << 2;
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
        v128.store(yr + o, f32x4.mul(xh, v128.load(w + o)));
      }
      for (let j = c4; j < C; j++) {
        const o = <usize>j << 2;
        store<f32>(yr + o, (load<f32>(xr + o) - m) * s * load<f32>(w + o));
      }
    }
  }
}

// Which outputs layernorm_bwd writes (bit flags).
const WANT_DX = 1;
const WANT_DW = 2;
const WANT_DB = 4;

// Backward of layernorm_fwd: with x̂ = (x − mean)·rstd and g = dy ⊙ w,
// dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) (overwritten, when flags & 1), dw += Σ_rows dy ⊙ x̂ (flags & 2)
// and db += Σ_rows dy (flags & 4).
export function layernorm_bwd(
  rows: i32,
  C: i32,
  x: usize,
  w: usize,
  mean: usize,
  rstd: usize,
  dy: usize,
  dx: usize,
  dw: usize,
  db: usize,
  flags: i32,
): void {
  const c4 = C & ~3;
  const wantDx = (flags & WANT_DX) != 0, wantDw = (flags & WANT_DW) != 0, wantDb = (flags & WANT_DB) != 0;
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>C) << 2;
    const xr = x + ro, gr = dy + ro;
    const m = load<f32>(mean + (<usize>r << 2)), s = load<f32>(rstd + (<usize>r << 2));
    const mv = splat(m), sv = splat(s);
    // Σ g and Σ g·x̂, in blocks of SUM_BLOCK summed in f64 (as rowSum)
    let sumG: f64 = 0, sumGX: f64 = 0;
    for (let j0 = 0; j0 < c4; j0 += SUM_BLOCK) {
      const j1 = min(j0 + SUM_BLOCK, c4);
      let sg = splat(0), sgx = splat(0);
      for (let j = j0; j < j1; j += 4) {
        const o = <usize>j << 2;
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
        const d = v128.load(gr + o);
        const g = f32x4.mul(d, v128.load(w + o));
        sg = f32x4.add(sg, g);
        sgx = fma(g, xh, sgx);
        if (wantDw) v128.store(dw + o, fma(d, xh, v128.load(dw + o)));
        if (wantDb) v128.store(db + o, f32x4.add(v128.load(db + o), d));
      }
      sumG += <f64>hsum(sg);
      sumGX += <f64>hsum(sgx);
    }
    for (let j = c4; j < C; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(xr + o) - m) * s;
      const d = load<f32>(gr + o);
      const g = d * load<f32>(w + o);
      sumG += <f64>g;
      sumGX += <f64>(g * xh);
      if (wantDw) store<f32>(dw + o, load<f32>(dw + o) + d * xh);
      if (wantDb) store<f32>(db + o, load<f32>(db + o) + d);
    }
    if (!wantDx) continue;
    const mg = <f32>(sumG / C), mgx = <f32>(sumGX / C);
    const mgv = splat(mg), mgxv = splat(mgx);
    const dr = dx + ro;
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
      const g = f32x4.mul(v128.load(gr + o), v128.load(w + o));
      v128.store(dr + o, f32x4.mul(sv, f32x4.sub(f32x4.sub(g, mgv), f32x4.mul(xh, mgxv))));
    }
    for (let j = c4; j < C; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(xr + o) - m) * s;
      const g = load<f32>(gr + o) * load<f32>(w + o);
      store<f32>(dr + o, s * (g - mg - xh * mgx));
    }
  }
}

// The weight and bias gradients of layernorm_bwd alone, for n columns of rows ld floats apart (x, dy, dw and db
// point at the first of them): dw += Σ_rows dy ⊙ x̂ (flags & 2), db += Σ_rows dy (flags & 4). Each element gets
// the same arithmetic, rows in the same order, as in layernorm_bwd, so threads can split the columns (at
// multiples of 4, the last range ending at the row's end) and the sums keep their bits.
export function layernorm_bwd_dw(
  rows: i32,
  n: i32,
  ld: i32,
  x: usize,
  mean: usize,
  rstd: usize,
  dy: usize,
  dw: usize,
  db: usize,
  flags: i32,
): void {
  const n4 = n & ~3;
  const row = <usize>ld << 2;
  const wantDw = (flags & WANT_DW) != 0, wantDb = (flags & WANT_DB) != 0;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * row, gr = dy + <usize>r * row;
    const m = load<f32>(mean + (<usize>r << 2)), s = load<f32>(rstd + (<usize>r << 2));
    const mv = splat(m), sv = splat(s);
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2;
      const d = v128.load(gr + o);
      if (wantDw) {
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mv), sv);
        v128.store(dw + o, fma(d, xh, v128.load(dw + o)));
      }
      if (wantDb) v128.store(db + o, f32x4.add(v128.load(db + o), d));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      const d = load<f32>(gr + o);
      if (wantDw) store<f32>(dw + o, load<f32>(dw + o) + d * ((load<f32>(xr + o) - m) * s));
      if (wantDb) store<f32>(db + o, load<f32>(db + o) + d);
    }
  }
}
