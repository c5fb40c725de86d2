// Scaled dot-product attention with an explicit mask, forward and backward, one (batch, head) slice at a time
// (AssemblyScript; compiled by `deno task build:wasm`). The slices [h0, h1) of a call are independent, so threads
// split them. Every product runs on the packed gemm of gemm.ts, reading q, k, v, y and their gradients in place
// through strides, so the fused q/k/v projection output (B, T, 3C) and the merged output (B, T, C) need no
// permute. The arguments live in a descriptor of i32 slots (attn_desc.ts) at `desc`.

import { gemm_rows, pack_a_bytes, pack_b, pack_bt } from "./gemm";
import { exp1, exp4, expInit, hmax, hsum } from "./simd_math";
import {
  BIAS,
  D,
  DK_PTR,
  DQ_PTR,
  DS,
  DV_PTR,
  DY_PTR,
  H,
  K_PTR,
  KEEP,
  KEEP_SCALE,
  LENGTHS,
  MASK,
  maskLanes,
  PROBS,
  Q_PTR,
  RANGES,
  round8,
  SCALE,
  scaleRow,
  slice,
  slot,
  slotf,
  TK,
  TQ,
  unionRange,
  V_PTR,
  Y_PTR,
} from "./attn_desc";

// Per-thread scratch: two areas of packed B panels, the A-packing area, and two Tq × Tk work matrices.
@inline function panelBytes(desc: usize): i32 {
  const tq = slot(desc, TQ), tk = slot(desc, TK), d = slot(desc, D);
  return max(d * round8(tk), max(tq, tk) * round8(d)) << 2;
}

/** Bytes of scratch one thread needs for attn_fwd / attn_bwd with this descriptor (a multiple of 16). */
export function attn_scratch_bytes(desc: usize): i32 {
  const tq = slot(desc, TQ), tk = slot(desc, TK), d = slot(desc, D);
  const packA = (pack_a_bytes(max(max(tq, tk), d)) + 15) & ~15;
  return 2 * panelBytes(desc) + packA + 2 * ((tq * tk * 4 + 15) & ~15);
}

// Row s[0..n) of raw scores → masked softmax of (s · scale + bias), computed on [lo, hi) (which holds every
// allowed entry; outside it the row is set to zero); a row with no allowed entry becomes all zero. bias: the
// row's n floats, or 0 for none.
function softmaxRange(s: usize, m: usize, lo: i32, hi: i32, n: i32, scale: f32, bias: usize): void {
  if (hi <= lo) {
    memory.fill(s, 0, <usize>n << 2);
    return;
  }
  memory.fill(s, 0, <usize>lo << 2);
  memory.fill(s + (<usize>hi << 2), 0, <usize>(n - hi) << 2);
  softmaxRow(s + (<usize>lo << 2), m + <usize>lo, hi - lo, scale, bias != 0 ? bias + (<usize>lo << 2) : 0);
}

// Row s[0..n) of raw scores → masked softmax of (s · scale + bias); a row with no allowed entry becomes all zero.
function softmaxRow(s: usize, m: usize, n: i32, scale: f32, bias: usize): void {
  const n4 = n & ~3;
  const ninf = f32x4.splat(-Infinity);
  const sc = f32x4.splat(scale);
  let mv = ninf;
  for (let j = 0; j < n4; j += 4) {
    const p = s + (<usize>j << 2);
    let v = f32x4.mul(v128.load(p), sc);
    if (bias != 0) v = f32x4.add(v, v128.load(bias + (<usize>j << 2)));
    v128.store(p, v);
    mv = f32x4.max(mv, v128.bitselect(v, ninf, maskLanes(m + <usize>j)));
  }
  let mx = hmax(mv);
  for (let j = n4; j < n; j++) {
    const p = s + (<usize>j << 2);
    let v = load<f32>(p) * scale;
    if (bias != 0) v += load<f32>(bias + (<usize>j << 2));
    store<f32>(p, v);
    if (load<u8>(m + <usize>j) != 0 && v > mx) mx = v;
  }
  if (mx == -Infinity) {
    memory.fill(s, 0, <usize>n << 2);
    return;
  }
  const mxv = f32x4.splat(mx);
  const zero = f32x4.splat(0);
  let sv = zero;
  for (let j = 0; j < n4; j += 4) {
    const p = s + (<usize>j << 2);
    const e = v128.bitselect(exp4(f32x4.sub(v128.load(p), mxv)), zero, maskLanes(m + <usize>j));
    v128.store(p, e);
    sv = f32x4.add(sv, e);
  }
  let sum = hsum(sv);
  for (let j = n4; j < n; j++) {
    const p = s + (<usize>j << 2);
    let e: f32 = 0;
    if (load<u8>(m + <usize>j) != 0) e = exp1(load<f32>(p) - mx);
    store<f32>(p, e);
    sum += e;
  }
  const inv = f32x4.splat(<f32>1 / sum);
  for (let j = 0; j < n4; j += 4) {
    const p = s + (<usize>j << 2);
    v128.store(p, f32x4.mul(v128.load(p), inv));
  }
  const invs = <f32>1 / sum;
  for (let j = n4; j < n; j++) {
    const p = s + (<usize>j << 2);
    store<f32>(p, load<f32>(p) * invs);
  }
}

// dst[t] = keep[t] ? src[t] · ks : 0 for t < n (inverted dropout); dst may equal src.
function dropout(src: usize, keep: usize, dst: usize, n: i32, ks: f32): void {
  const n4 = n & ~3;
  const k4 = f32x4.splat(ks);
  const zero = f32x4.splat(0);
  for (let t = 0; t < n4; t += 4) {
    const o = <usize>t << 2;
    v128.store(dst + o, v128.bitselect(f32x4.mul(v128.load(src + o), k4), zero, maskLanes(keep + <usize>t)));
  }
  for (let t = n4; t < n; t++) {
    const o = <usize>t << 2;
    store<f32>(dst + o, load<u8>(keep + <usize>t) != 0 ? load<f32>(src + o) * ks : 0);
  }
}

// As softmaxBackwardRow on [lo, hi) of a row; the rest of g (which may hold anything) is set to zero.
function softmaxBackwardRange(p: usize, g: usize, lo: i32, hi: i32, n: i32, scale: f32): void {
  if (hi <= lo) {
    memory.fill(g, 0, <usize>n << 2);
    return;
  }
  memory.fill(g, 0, <usize>lo << 2);
  memory.fill(g + (<usize>hi << 2), 0, <usize>(n - hi) << 2);
  softmaxBackwardRow(p + (<usize>lo << 2), g + (<usize>lo << 2), hi - lo, scale);
}

// g[0..n) ← p ⊙ (g − ⟨g, p⟩) · scale: the softmax Jacobian-vector product, then the score scale.
function softmaxBackwardRow(p: usize, g: usize, n: i32, scale: f32): void {
  const n4 = n & ~3;
  let dv = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j << 2;
    dv = f32x4.relaxed_madd(v128.load(p + o), v128.load(g + o), dv);
  }
  let dot = hsum(dv);
  for (let j = n4; j < n; j++) {
    const o = <usize>j << 2;
    dot += load<f32>(p + o) * load<f32>(g + o);
  }
  const d4 = f32x4.splat(dot);
  const s4 = f32x4.splat(scale);
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j << 2;
    v128.store(g + o, f32x4.mul(f32x4.mul(v128.load(p + o), f32x4.sub(v128.load(g + o), d4)), s4));
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(g + o, load<f32>(p + o) * (load<f32>(g + o) - dot) * scale);
  }
}

// Rows [r0, r1) of C[M, N] = A · op(B)ᵀ-style products where row block i of C needs only the columns in the union
// of its rows' ranges: B is packed (pack_bt of an (N, K) operand) once, each block of 6 rows runs on its own column
// span. r0 is a multiple of 6.
function productColumns(
  r0: i32,
  r1: i32,
  N: i32,
  K: i32,
  A: usize,
  lda: i32,
  P: usize,
  C: usize,
  ldc: i32,
  Qa: usize,
  lo: usize,
  hi: usize,
): void {
  for (let i = r0; i < r1; i += 6) {
    const i1 = min(r1, i + 6);
    const r = unionRange(lo, hi, i, i1);
    const a = <i32>(r & 0xffffffff), b = <i32>(r >> 32);
    if (b <= a) continue;
    const j0 = a & ~7;
    gemm_rows(b - j0, K, A, lda, 0, P + (<usize>(j0 >> 3) * (<usize>K << 5)), K, C + (<usize>j0 << 2), ldc, 0, Qa, i, i1);
  }
}

// Rows [r0, r1) of C[M, N] = op(A) · B where row block i of C only needs depth [lo, hi) (the union of its rows'
// ranges): B (K × N) is packed once; blocks with an empty range get zero rows. transA as in gemm_rows (A stored
// (K, M) when set). r0 is a multiple of 6.
function productDepth(
  r0: i32,
  r1: i32,
  N: i32,
  K: i32,
  A: usize,
  lda: i32,
  transA: i32,
  P: usize,
  C: usize,
  ldc: i32,
  Qa: usize,
  lo: usize,
  hi: usize,
): void {
  for (let i = r0; i < r1; i += 6) {
    const i1 = min(r1, i + 6);
    const r = unionRange(lo, hi, i, i1);
    let a = <i32>(r & 0xffffffff), b = <i32>(r >> 32);
    if (b <= a) {
      a = 0;
      b = 0;
    }
    const Ak = transA != 0 ? A + ((<usize>a * <usize>lda) << 2) : A + (<usize>a << 2);
    gemm_rows(N, b - a, Ak, lda, transA, P + (<usize>a << 5), K, C, ldc, 0, Qa, i, i1);
  }
}

/**
 * Forward for slices [h0, h1): probs = softmax(mask(q·kᵀ·scale + bias)) (saved), y = dropout(probs) · v, fused:
 * one pass per block of rows. Key j of batch row b is masked out from lengths[b] on when LENGTHS is set.
 * `scratch` is this thread's area of attn_scratch_bytes(desc) bytes.
 */
export function attn_fwd(desc: usize, h0: i32, h1: i32, scratch: usize): void {
  expInit();
  const tq = slot(desc, TQ), tk = slot(desc, TK), d = slot(desc, D);
  const P = scratch;
  const Qa = P + 2 * <usize>panelBytes(desc);
  const W1 = Qa + <usize>((pack_a_bytes(max(max(tq, tk), d)) + 15) & ~15);
  const scale = slotf(desc, SCALE), ks = slotf(desc, KEEP_SCALE);
  const keep = slot(desc, KEEP), mask = <usize>slot(desc, MASK);
  const rowLo = <usize>slot(desc, RANGES), rowHi = rowLo + (<usize>tq << 2);
  const ldq = slot(desc, Q_PTR + 3), ldk = slot(desc, K_PTR + 3), ldv = slot(desc, V_PTR + 3), ldy = slot(desc, Y_PTR + 3);
  const tt = <usize>tq * <usize>tk;
  const PV = P + <usize>panelBytes(desc);
  const rb = max(6, (65536 / tk) / 6 * 6); // rows per block: their scores stay within 256 KiB
  const nh = slot(desc, H), bias = <usize>slot(desc, BIAS), lengths = <usize>slot(desc, LENGTHS);
  for (let bh = h0; bh < h1; bh++) {
    const b = bh / nh;
    const len = lengths != 0 ? load<i32>(lengths + (<usize>b << 2)) : tk;
    const biasH = bias != 0 ? bias + ((<usize>(bh - b * nh) * tt) << 2) : 0;
    const qp = slice(desc, Q_PTR, slot(desc, Q_PTR), bh);
    const kp = slice(desc, K_PTR, slot(desc, K_PTR), bh);
    const vp = slice(desc, V_PTR, slot(desc, V_PTR), bh);
    const yp = slice(desc, Y_PTR, slot(desc, Y_PTR), bh);
    const S = <usize>slot(desc, PROBS) + ((<usize>bh * tt) << 2);
    const kb = <usize>keep + <usize>bh * tt;
    pack_bt(tk, d, kp, ldk, P);
    pack_b(d, tk, vp, ldv, PV);
    // one pass per block of rows: scores, softmax, dropout and · v while the block's scores are in cache
    for (let i0 = 0; i0 < tq; i0 += rb) {
      const i1 = min(tq, i0 + rb);
      productColumns(i0, i1, tk, d, qp, ldq, P, S, tk, Qa, rowLo, rowHi);
      for (let i = i0; i < i1; i++) {
        const o = <usize>i * <usize>tk;
        const lo = load<i32>(rowLo + (<usize>i << 2)), hi = min(len, load<i32>(rowHi + (<usize>i << 2)));
        softmaxRange(S + (o << 2), mask + o, lo, hi, tk, scale, biasH != 0 ? biasH + (o << 2) : 0);
      }
      let A = S;
      if (keep != 0) {
        const o = <usize>i0 * <usize>tk;
        dropout(S + (o << 2), kb + o, W1 + (o << 2), (i1 - i0) * tk, ks);
        A = W1;
      }
      productDepth(i0, i1, d, tk, A, tk, 0, PV, yp, ldy, Qa, rowLo, rowHi);
    }
  }
}

/** Backward for slices [h0, h1): writes (overwrites) dq, dk, dv from dy and the saved probabilities. */
export function attn_bwd(desc: usize, h0: i32, h1: i32, scratch: usize): void {
  const tq = slot(desc, TQ), tk = slot(desc, TK), d = slot(desc, D);
  const P = scratch;
  const Qa = P + 2 * <usize>panelBytes(desc);
  const W1 = Qa + <usize>((pack_a_bytes(max(max(tq, tk), d)) + 15) & ~15);
  const tt = <usize>tq * <usize>tk;
  const W2 = W1 + (((tt << 2) + 15) & ~15);
  const scale = slotf(desc, SCALE), ks = slotf(desc, KEEP_SCALE);
  const keep = slot(desc, KEEP);
  const rowLo = <usize>slot(desc, RANGES), rowHi = rowLo + (<usize>tq << 2);
  const colLo = rowHi + (<usize>tq << 2), colHi = colLo + (<usize>tk << 2);
  const ldq = slot(desc, Q_PTR + 3), ldk = slot(desc, K_PTR + 3), ldv = slot(desc, V_PTR + 3), ldy = slot(desc, Y_PTR + 3);
  const ds = <usize>slot(desc, DS);
  for (let bh = h0; bh < h1; bh++) {
    const qp = slice(desc, Q_PTR, slot(desc, Q_PTR), bh);
    const kp = slice(desc, K_PTR, slot(desc, K_PTR), bh);
    const vp = slice(desc, V_PTR, slot(desc, V_PTR), bh);
    const dyp = slice(desc, Y_PTR, slot(desc, DY_PTR), bh);
    const dqp = slice(desc, Q_PTR, slot(desc, DQ_PTR), bh);
    const dkp = slice(desc, K_PTR, slot(desc, DK_PTR), bh);
    const dvp = slice(desc, V_PTR, slot(desc, DV_PTR), bh);
    const S = <usize>slot(desc, PROBS) + ((<usize>bh * tt) << 2);
    const kb = <usize>keep + <usize>bh * tt;
    let Pd = S;
    if (keep != 0) {
      dropout(S, kb, W1, <i32>tt, ks);
      Pd = W1;
    }
    // dv = Pdᵀ · dy (key j only gathers the queries that may attend to it)
    pack_b(d, tq, dyp, ldy, P);
    productDepth(0, tk, d, tq, Pd, tk, 1, P, dvp, ldv, Qa, colLo, colHi);
    // dP = dy · vᵀ, back through dropout and the softmax (→ dS, scaled)
    pack_bt(tk, d, vp, ldv, P);
    productColumns(0, tq, tk, d, dyp, ldy, P, W2, tk, Qa, rowLo, rowHi);
    if (keep != 0) dropout(W2, kb, W2, <i32>tt, ks);
    for (let i = 0; i < tq; i++) {
      const o = (<usize>i * <usize>tk) << 2;
      const lo = load<i32>(rowLo + (<usize>i << 2)), hi = load<i32>(rowHi + (<usize>i << 2));
      if (ds == 0) {
        softmaxBackwardRange(S + o, W2 + o, lo, hi, tk, scale);
        continue;
      }
      // the score gradient before the scale is the bias gradient of this slice
      softmaxBackwardRange(S + o, W2 + o, lo, hi, tk, 1);
      memory.copy(ds + ((<usize>bh * tt) << 2) + o, W2 + o, <usize>tk << 2);
      scaleRow(W2 + o, tk, scale);
    }
    // dq = dS · k, dk = dSᵀ · q
    pack_b(d, tk, kp, ldk, P);
    productDepth(0, tq, d, tk, W2, tk, 0, P, dqp, ldq, Qa, rowLo, rowHi);
    pack_b(d, tq, qp, ldq, P);
    productDepth(0, tk, d, tq, W2, tk, 1, P, dkp, ldk, Qa, colLo, colHi);
  }
}
