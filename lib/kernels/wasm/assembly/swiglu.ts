// The SwiGLU gate (AssemblyScript; compiled by `deno task build:wasm`), forward and backward, four lanes at a
// time. Pointer arguments are byte offsets into linear memory.

import { exp1, exp4, expInit, fma, splat } from "./simd_math";

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
