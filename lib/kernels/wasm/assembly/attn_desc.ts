// The descriptor shared by the attention kernels (attention.ts, flash.ts), and their small helpers: i32 slots at
// `desc`; pointers are byte offsets, strides are in floats. For each of q, k, v, y: base pointer, batch stride, head stride, row stride; the
// gradients dq, dk, dv, dy share the strides of q, k, v, y. A kernel reads only the slots it needs.

export const H: i32 = 0;
export const TQ: i32 = 1;
export const TK: i32 = 2;
export const D: i32 = 3;
export const Q_PTR: i32 = 4;
export const K_PTR: i32 = 8;
export const V_PTR: i32 = 12;
export const Y_PTR: i32 = 16;
export const PROBS: i32 = 20; // (BH, Tq, Tk) contiguous: written by the forward, read by the backward
export const MASK: i32 = 21; // (Tq, Tk) bytes, 1 = may attend
export const KEEP: i32 = 22; // (BH, Tq, Tk) bytes of the dropout mask, or 0 for no dropout
export const SCALE: i32 = 23; // f32
export const KEEP_SCALE: i32 = 24; // f32, 1/(1 − p)
export const DY_PTR: i32 = 25;
export const DQ_PTR: i32 = 26;
export const DK_PTR: i32 = 27;
export const DV_PTR: i32 = 28;
// i32 ranges derived from the mask: for query row i the keys [rowLo[i], rowHi[i]) hold every allowed one, for key
// j the queries [colLo[j], colHi[j]); arrays rowLo, rowHi (Tq each), colLo, colHi (Tk each), back to back.
// Products skip what lies outside them (half of the work under a causal mask).
export const RANGES: i32 = 29;
export const LSE: i32 = 30; // flash: (BH, Tq) f64 log-sum-exp of each row's scores (−∞: nothing visible)
export const TILE: i32 = 31; // flash: query rows per tile (keys per tile: rounded up to a multiple of 8)
export const BIAS: i32 = 32; // (H, Tq, Tk) f32 added to the scaled scores (shared by the batch), or 0
export const LENGTHS: i32 = 33; // (B) i32 key lengths (key j of batch row b is visible iff j < lengths[b]), or 0
export const DS: i32 = 34; // backward: (BH, Tq, Tk) f32 receiving the score gradient before the scale, or 0
/** Slots of the descriptor (a multiple of 4). */
export const DESC_SLOTS: i32 = 36;

@inline export function slot(desc: usize, s: i32): i32 {
  return load<i32>(desc + (<usize>s << 2));
}

@inline export function slotf(desc: usize, s: i32): f32 {
  return load<f32>(desc + (<usize>s << 2));
}

@inline export function round8(n: i32): i32 {
  return (n + 7) & ~7;
}

// Byte offset of slice bh of the operand whose slots start at `s` (pointer, batch stride, head stride).
@inline export function slice(desc: usize, s: i32, base: i32, bh: i32): usize {
  const h = slot(desc, H);
  const b = bh / h;
  return <usize>base + ((<usize>b * <usize>slot(desc, s + 1) + <usize>(bh - b * h) * <usize>slot(desc, s + 2)) << 2);
}

// Four mask bytes at m as lanes of all-ones (nonzero byte) or zero.
@inline export function maskLanes(m: usize): v128 {
  const w = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(m)));
  return i32x4.ne(w, i32x4.splat(0));
}

// The union [lo, hi) of the ranges of rows [i0, i1) (lo ≥ hi when all are empty), packed as lo | hi << 32.
@inline export function unionRange(lo: usize, hi: usize, i0: i32, i1: i32): u64 {
  let a = i32.MAX_VALUE, b = 0;
  for (let i = i0; i < i1; i++) {
    const l = load<i32>(lo + (<usize>i << 2)), h = load<i32>(hi + (<usize>i << 2));
    if (h > l) {
      a = min(a, l);
      b = max(b, h);
    }
  }
  return <u64><u32>a | (<u64><u32>b << 32);
}

// y[0..n) *= a.
export function scaleRow(y: usize, n: i32, a: f32): void {
  const n4 = n & ~3;
  const av = f32x4.splat(a);
  for (let j = 0; j < n4; j += 4) {
    const p = y + (<usize>j << 2);
    v128.store(p, f32x4.mul(v128.load(p), av));
  }
  for (let j = n4; j < n; j++) {
    const p = y + (<usize>j << 2);
    store<f32>(p, load<f32>(p) * a);
  }
}
