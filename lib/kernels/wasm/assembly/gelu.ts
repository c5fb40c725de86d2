// GELU (exact erf form) forward and backward, four lanes at a time. erf uses the same Abramowitz & Stegun 7.1.26
// rational form as the TypeScript float32 path (|error| < 1.5e-7), with a SIMD exp.

import { exp4, expInit, fma, splat } from "./simd_math";

// The constants of erf4 and cdf4 as globals set by geluInit(), for the reason given at expInit in simd_math.ts
// (V8 rebuilds vector constants at every use inside a loop).
let ONE = i32x4(0, 0, 0, 0);
let HALF = i32x4(0, 0, 0, 0);
let SQRT1_2 = i32x4(0, 0, 0, 0);
let INV_SQRT_2PI = i32x4(0, 0, 0, 0);
let MINUS_HALF = i32x4(0, 0, 0, 0);
let SIGN = i32x4(0, 0, 0, 0);
let AS_P = i32x4(0, 0, 0, 0);
let AS_A5 = i32x4(0, 0, 0, 0);
let AS_A4 = i32x4(0, 0, 0, 0);
let AS_A3 = i32x4(0, 0, 0, 0);
let AS_A2 = i32x4(0, 0, 0, 0);
let AS_A1 = i32x4(0, 0, 0, 0);

// Sets the constants (and exp4's); every kernel here calls it on entry.
@inline function geluInit(): void {
  expInit();
  ONE = splat(1.0);
  HALF = splat(0.5);
  SQRT1_2 = splat(0.7071067811865476);
  INV_SQRT_2PI = splat(0.3989422804014327);
  MINUS_HALF = splat(-0.5);
  SIGN = i32x4.splat(0x80000000);
  AS_P = splat(0.3275911);
  AS_A5 = splat(1.061405429);
  AS_A4 = splat(-1.453152027);
  AS_A3 = splat(1.421413741);
  AS_A2 = splat(-0.284496736);
  AS_A1 = splat(0.254829592);
}

@inline function erf4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(ONE, fma(AS_P, ax, ONE));
  let p = AS_A5;
  p = fma(p, t, AS_A4);
  p = fma(p, t, AS_A3);
  p = fma(p, t, AS_A2);
  p = fma(p, t, AS_A1);
  p = f32x4.mul(p, t);
  const y = f32x4.sub(ONE, f32x4.mul(p, exp4(f32x4.neg(f32x4.mul(ax, ax)))));
  return v128.or(f32x4.abs(y), v128.and(x, SIGN));
}

@inline function cdf4(x: v128): v128 {
  return f32x4.mul(HALF, f32x4.add(ONE, erf4(f32x4.mul(x, SQRT1_2))));
}

@inline function cdf1(x: f32): f32 {
  return f32x4.extract_lane(cdf4(f32x4.splat(x)), 0);
}

// out[i] = x[i] · Φ(x[i])
export function gelu_fwd(n: i32, x: usize, out: usize): void {
  geluInit();
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
  geluInit();
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const pdf = f32x4.mul(INV_SQRT_2PI, exp4(f32x4.mul(MINUS_HALF, f32x4.mul(v, v))));
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), fma(v, pdf, cdf4(v))));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const pdf = f32x4.extract_lane(exp4(f32x4.splat(-0.5 * v * v)), 0) * 0.3989422804014327;
    store<f32>(dx + o, load<f32>(dy + o) * (cdf1(v) + v * pdf));
  }
}
