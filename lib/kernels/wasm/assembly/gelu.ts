// GELU (exact erf form) forward and backward, four lanes at a time. erf uses the same Abramowitz & Stegun 7.1.26
// rational form as the TypeScript float32 path (|error| < 1.5e-7), with a SIMD exp.

import { exp4, expInit, fma, splat } from "./simd_math";

@inline function erf4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(splat(1.0), fma(splat(0.3275911), ax, splat(1.0)));
  let p = splat(1.061405429);
  p = fma(p, t, splat(-1.453152027));
  p = fma(p, t, splat(1.421413741));
  p = fma(p, t, splat(-0.284496736));
  p = fma(p, t, splat(0.254829592));
  p = f32x4.mul(p, t);
  const y = f32x4.sub(splat(1.0), f32x4.mul(p, exp4(f32x4.neg(f32x4.mul(ax, ax)))));
  return v128.or(f32x4.abs(y), v128.and(x, i32x4.splat(0x80000000)));
}

@inline function cdf4(x: v128): v128 {
  return f32x4.mul(splat(0.5), f32x4.add(splat(1.0), erf4(f32x4.mul(x, splat(0.7071067811865476)))));
}

@inline function cdf1(x: f32): f32 {
  return f32x4.extract_lane(cdf4(f32x4.splat(x)), 0);
}

// out[i] = x[i] · Φ(x[i])
export function gelu_fwd(n: i32, x: usize, out: usize): void {
  expInit();
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(out + o, f32x4.mul(v, cdf4(v)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v * cdf1(v));
  }
}

// dx[i] = dy[i] · (Φ(x) + x · φ(x)), φ(x) = exp(-x²/2)/√(2π)
export function gelu_bwd(n: i32, x: usize, dy: usize, dx: usize): void {
  expInit();
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const pdf = f32x4.mul(splat(0.3989422804014327), exp4(f32x4.mul(splat(-0.5), f32x4.mul(v, v))));
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), fma(v, pdf, cdf4(v))));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const pdf = f32x4.extract_lane(exp4(f32x4.splat(-0.5 * v * v)), 0) * 0.3989422804014327;
    store<f32>(dx + o, load<f32>(dy + o) * (cdf1(v) + v * pdf));
  }
}
