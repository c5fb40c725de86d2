// Kernels of the architecture variants (AssemblyScript; compiled by `deno task build:wasm`): the SwiGLU gate and
// RMSNorm, forward and backward, four lanes at a time. Pointer arguments are byte offsets into linear memory.

import { exp1, exp4, expInit, fma, hsum, splat, SUM_BLOCK } from "./simd_math";

// σ(x) for f32 lanes, through exp4 (needs expInit()); `one` is splat(1), hoisted by the caller out of its loop.
@inline function sigmoid4(x: v128, one: v128): v128 {
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

// out[i] = silu(g[i]) · u[i], silu(x) = x·σ(x).
export function swiglu_fwd(n: i32, g: usize, u: usize, out: usize): void {
  expInit();
  const n4 = n & ~3;
  const one = splat(1.0);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(g + o);
    v128.store(out + o, f32x4.mul(f32x4.mul(x, sigmoid4(x, one)), v128.load(u + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(g + o);
    store<f32>(out + o, (x / (1 + exp1(-x))) * load<f32>(u + o));
  }
}

// dg = dy · u · σ(g)·(1 + g·(1 − σ(g))), du = dy · silu(g); a pointer of 0 skips that output.
export function swiglu_bwd(n: i32, g: usize, u: usize, dy: usize, dg: usize, du: usize): void {
  expInit();
  const n4 = n & ~3;
  const one = splat(1.0);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(g + o), s = sigmoid4(x, one), d = v128.load(dy + o);
    if (dg != 0) {
      const ds = f32x4.mul(s, fma(x, f32x4.sub(one, s), one));
      v128.store(dg + o, f32x4.mul(f32x4.mul(d, v128.load(u + o)), ds));
    }
    if (du != 0) v128.store(du + o, f32x4.mul(d, f32x4.mul(x, s)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(g + o), s: f32 = 1 / (1 + exp1(-x)), d = load<f32>(dy + o);
    if (dg != 0) store<f32>(dg + o, d * load<f32>(u + o) * s * (1 + x * (1 - s)));
    if (du != 0) store<f32>(du + o, d * x * s);
  }
}

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

// Rotary embeddings on the q and k parts of each row of src (B, T, 3C) into out (which already holds v, or is
// src): pairs (i, i + D/2) of each head rotate by the angles of positions pos0 … pos0+T−1, whose cos and sin are
// the (positions, D/2) f32 tables at cos / sin; sign −1 rotates back (the backward pass).
export function rope_rotate(B: i32, T: i32, H: i32, D: i32, src: usize, out: usize, cos: usize, sin: usize, pos0: i32, sign: f32): void {
  const C = H * D, half = D >> 1, h4 = half & ~3;
  const sg = splat(sign);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = <usize>((b * T + t) * 3 * C);
      const tp = <usize>((pos0 + t) * half) << 2;
      for (let part = 0; part < 2; part++) {
        for (let h = 0; h < H; h++) {
          const o = (row + <usize>(part * C + h * D)) << 2;
          const hb = <usize>half << 2;
          for (let i = 0; i < h4; i += 4) {
            const io = <usize>i << 2;
            const c = v128.load(cos + tp + io), s = f32x4.mul(sg, v128.load(sin + tp + io));
            const x1 = v128.load(src + o + io), x2 = v128.load(src + o + hb + io);
            v128.store(out + o + io, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
            v128.store(out + o + hb + io, fma(x1, s, f32x4.mul(x2, c)));
          }
          for (let i = h4; i < half; i++) {
            const io = <usize>i << 2;
            const c = load<f32>(cos + tp + io), s = sign * load<f32>(sin + tp + io);
            const x1 = load<f32>(src + o + io), x2 = load<f32>(src + o + hb + io);
            store<f32>(out + o + io, x1 * c - x2 * s);
            store<f32>(out + o + hb + io, x2 * c + x1 * s);
          }
        }
      }
    }
  }
}
