// RMSNorm over rows of width C (AssemblyScript; compiled by `deno task build:wasm`), forward and backward, four
// lanes at a time. Pointer arguments are byte offsets into linear memory.

import { fma, hsum, splat, SUM_BLOCK } from "./simd_math";

// Σ a[j]·b[j] over a row of C floats: f32 lanes in blocks of SUM_BLOCK, block sums in f64.
@inline function rowDot(a: usize, b: usize, C: i32): f64 {
  const c4 = C & ~3;
  let total: f64 = 0;
  for (let j0 = 0; j0 < c4; j0 += SUM_BLOCK) {
    const j1 = min(j0 + SUM_BLOCK, c4);
    let acc = splat(0);
    for (let j = j0; j < j1; j += 4) {
      const o = <usize>j << 2;
      acc = fma(v128.load(a + o), v128.load(b + o), acc);
    }
    total += <f64>hsum(acc);
  }
  for (let j = c4; j < C; j++) {
    const o = <usize>j << 2;
    total += <f64>(load<f32>(a + o) * load<f32>(b + o));
  }
  return total;
}

// y = x / √(mean(x²) + eps) · w per row; rstd[r] = 1/√(mean(x²) + eps) is saved for the backward.
export function rmsnorm_fwd(rows: i32, C: i32, x: usize, w: usize, out: usize, rstd: usize, eps: f64): void {
  const c4 = C & ~3;
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>C) << 2;
    const xr = x + ro, yr = out + ro;
    const s = <f32>(1.0 / Math.sqrt(rowDot(xr, xr, C) / <f64>C + eps));
    store<f32>(rstd + (<usize>r << 2), s);
    const sv = splat(s);
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), sv), v128.load(w + o)));
    }
    for (let j = c4; j < C; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(xr + o) * s * load<f32>(w + o));
    }
  }
}

// dx = s · (dy⊙w − x̂ · mean(dy⊙w⊙x̂)) with x̂ = x·s (written when dx ≠ 0); dw += Σ_rows dy⊙x̂ (when dw ≠ 0).
export function rmsnorm_bwd(rows: i32, C: i32, x: usize, w: usize, rstd: usize, dy: usize, dx: usize, dw: usize): void {
  const c4 = C & ~3;
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>C) << 2;
    const xr = x + ro, gr = dy + ro;
    const s = load<f32>(rstd + (<usize>r << 2));
    // mean(dy⊙w⊙x̂) = s · Σ(dy⊙w⊙x) / C
    let dot: f64 = 0;
    for (let j = 0; j < C; j++) {
      const o = <usize>j << 2;
      dot += <f64>(load<f32>(gr + o) * load<f32>(w + o) * load<f32>(xr + o));
    }
    const m = <f32>(dot * <f64>s / <f64>C);
    const sv = splat(s), mv = splat(m);
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(v128.load(xr + o), sv), g = v128.load(gr + o);
      if (dx != 0) v128.store(dx + ro + o, f32x4.mul(sv, f32x4.sub(f32x4.mul(g, v128.load(w + o)), f32x4.mul(xh, mv))));
      if (dw != 0) v128.store(dw + o, fma(g, xh, v128.load(dw + o)));
    }
    for (let j = c4; j < C; j++) {
      const o = <usize>j << 2;
      const xh = load<f32>(xr + o) * s, g = load<f32>(gr + o);
      if (dx != 0) store<f32>(dx + ro + o, s * (g * load<f32>(w + o) - xh * m));
      if (dw != 0) store<f32>(dw + o, load<f32>(dw + o) + g * xh);
    }
  }
}

// The weight gradient of rmsnorm_bwd alone, dw += Σ_rows dy ⊙ x̂, for n columns of rows ld floats apart (x, dy
// and dw point at the first of them), with the same per-element arithmetic and row order as rmsnorm_bwd, so
// threads can split the columns (at multiples of 4, the last range ending at the row's end).
export function rmsnorm_bwd_dw(rows: i32, n: i32, ld: i32, x: usize, rstd: usize, dy: usize, dw: usize): void {
  const n4 = n & ~3;
  const row = <usize>ld << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * row, gr = dy + <usize>r * row;
    const s = load<f32>(rstd + (<usize>r << 2));
    const sv = splat(s);
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(dw + o, fma(v128.load(gr + o), f32x4.mul(v128.load(xr + o), sv), v128.load(dw + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(dw + o, load<f32>(dw + o) + load<f32>(gr + o) * (load<f32>(xr + o) * s));
    }
  }
}
