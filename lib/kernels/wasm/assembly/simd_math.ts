// Helpers shared by the kernels: f32x4 shorthands and reductions, a vector exp and a table-free f64 log.

// All four lanes = v.
@inline export function splat(v: f32): v128 {
  return f32x4.splat(v);
}

// a·b + c per lane (relaxed: fused where the hardware has it).
@inline export function fma(a: v128, b: v128, c: v128): v128 {
  return f32x4.relaxed_madd(a, b, c);
}

// Long sums add up at most this many elements in f32 lanes, then add that partial sum to an f64 total: a row
// of 50k elements then keeps about the precision of a 256-element f32 sum. A multiple of 8.
export const SUM_BLOCK = 256;

// Sum of the four lanes.
@inline export function hsum(v: v128): f32 {
  const lo = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1);
  return lo + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// Largest of the four lanes (NaN lanes are skipped where a larger lane follows, as with f32x4.pmax).
@inline export function hmax(v: v128): f32 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1);
  const c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  const ab = b > a ? b : a, cd = d > c ? d : c;
  return cd > ab ? cd : ab;
}

// The constants of exp4. V8 rebuilds a v128.const at each use inside a loop (about four instructions each, which
// made exp4 three times slower); read from mutable globals they become plain loads. Binaryen folds constants it
// can see, so the globals start at zero and get their values only in expInit(), which every kernel that uses exp4
// or exp1 must call once on entry.
let EXP_HI = i32x4(0, 0, 0, 0);
let EXP_LO = i32x4(0, 0, 0, 0);
let EXP_LOG2E = i32x4(0, 0, 0, 0);
let EXP_ROUND = i32x4(0, 0, 0, 0);
let EXP_BIAS = i32x4(0, 0, 0, 0);
let EXP_P6 = i32x4(0, 0, 0, 0);
let EXP_P5 = i32x4(0, 0, 0, 0);
let EXP_P4 = i32x4(0, 0, 0, 0);
let EXP_P3 = i32x4(0, 0, 0, 0);
let EXP_P2 = i32x4(0, 0, 0, 0);
let EXP_P1 = i32x4(0, 0, 0, 0);
let EXP_P0 = i32x4(0, 0, 0, 0);

// Sets the constants of exp4 (see above).
@inline export function expInit(): void {
  EXP_HI = splat(88.0);
  EXP_LO = splat(-87.0);
  EXP_LOG2E = splat(1.4426950408889634);
  EXP_ROUND = splat(12582912.0); // 1.5·2^23
  EXP_BIAS = i32x4.splat(127 - 0x4b400000);
  EXP_P6 = splat(0.00015403530393381609);
  EXP_P5 = splat(0.0013333558146428443);
  EXP_P4 = splat(0.009618129107628477);
  EXP_P3 = splat(0.05550410866482158);
  EXP_P2 = splat(0.2402265069591007);
  EXP_P1 = splat(0.6931471805599453);
  EXP_P0 = splat(1.0);
}

// exp(x) for f32 lanes: 2^(x·log2 e) = 2^n · 2^f with f in [-0.5, 0.5], 2^f by a degree-6 Taylor polynomial
// (relative error ≈ 1.2e-7); inputs are clamped to [-87, 88] so 2^n stays a normal float (NaN stays NaN). n is
// rounded to nearest by adding 1.5·2^23, which leaves n + 0x4B400000 in the sum's bits: cheaper than
// f32x4.nearest plus a saturating conversion, and the same n. Needs expInit().
@inline export function exp4(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, EXP_HI), EXP_LO);
  const t = f32x4.mul(x, EXP_LOG2E);
  const j = f32x4.add(t, EXP_ROUND);
  const f = f32x4.sub(t, f32x4.sub(j, EXP_ROUND));
  let p = EXP_P6;
  p = fma(p, f, EXP_P5);
  p = fma(p, f, EXP_P4);
  p = fma(p, f, EXP_P3);
  p = fma(p, f, EXP_P2);
  p = fma(p, f, EXP_P1);
  p = fma(p, f, EXP_P0);
  return f32x4.mul(p, i32x4.shl(i32x4.add(j, EXP_BIAS), 23));
}

// exp4 on one scalar (for the tails of rows whose length is not a multiple of 4). Needs expInit().
@inline export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

// Natural log in f64 without lookup tables (the kernels must not have data segments: the runtime allocates all of linear memory).
// x = 2^e · m with m in [√½, √2), log m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + …) with s = (m − 1)/(m + 1),
// |s| ≤ 0.172, summed to s²¹ (relative error < 1e-16). Non-positive, infinite and NaN inputs follow Math.log.
export function log64(x: f64): f64 {
  if (!(x > 0) || x == Infinity) return x == 0 ? -Infinity : x == Infinity ? x : NaN;
  let bias = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984.0; // 2^54: subnormal to normal
    bias = 54;
  }
  const bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023 - bias;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  const s = (m - 1) / (m + 1), s2 = s * s;
  let p = 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  return <f64>e * 0.6931471805599453 + 2 * s * p;
}
