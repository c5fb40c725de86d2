// Optimizer updates over flat f32 arrays, four lanes at a time. Pointer arguments are byte offsets into linear
// memory.

import { fma, splat } from "./simd_math";

// One AdamW step on n elements, in f32. The step's scalars come precomputed from the caller (in f64):
// c1 = 1 − β1, c2 = 1 − β2, decay = 1 − lr·wd, stepSize = lr / (1 − β1^t), invBc2Sqrt = 1 / √(1 − β2^t).
//   m ← β1·m + c1·g;  v ← β2·v + c2·g²;  p ← p·decay − stepSize · m / (√v · invBc2Sqrt + eps)
export function adamw_update(
  n: i32,
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  beta1: f32,
  beta2: f32,
  c1: f32,
  c2: f32,
  eps: f32,
  decay: f32,
  stepSize: f32,
  invBc2Sqrt: f32,
): void {
  const n4 = n & ~3;
  const b1 = splat(beta1), b2 = splat(beta2), k1 = splat(c1), k2 = splat(c2), ev = splat(eps);
  const dv = splat(decay), ss = splat(stepSize), ib = splat(invBc2Sqrt);
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = fma(b1, v128.load(m + o), f32x4.mul(k1, gi));
    const vi = fma(b2, v128.load(v + o), f32x4.mul(f32x4.mul(k2, gi), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const den = fma(f32x4.sqrt(vi), ib, ev);
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), dv), f32x4.div(f32x4.mul(ss, mi), den)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = beta1 * load<f32>(m + o) + c1 * gi;
    const vi = beta2 * load<f32>(v + o) + c2 * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, load<f32>(p + o) * decay - stepSize * mi / (Mathf.sqrt(vi) * invBc2Sqrt + eps));
  }
}
