// Flash attention, forward and backward, one (batch, head) slice at a time (AssemblyScript; compiled by
// `deno task build:wasm`): tiles of `tile` queries × round8(tile) keys, an online softmax in the forward (a
// running row maximum and sum, the output rescaled as each key tile arrives), and only the output and each row's
// log-sum-exp kept; the backward recomputes the probabilities from it one strip of keys at a time (a key tile ×
// the queries that may see it, so the key gradients come out of one long product each). Self-attention:
// Tq = Tk = T. Operands are read in place through the strides of the descriptor (attn_desc.ts), like
// attention.ts; the products run on the packed gemm, with every operand packed once per slice (O(T·D) scratch,
// O(T·tile) per strip, never T × T).

import { gemm_rows, pack_a_bytes, pack_b, pack_bt } from "./gemm";
import { exp1, exp4, expInit, hmax, hsum, log64 } from "./simd_math";
import {
  D,
  DK_PTR,
  DQ_PTR,
  DV_PTR,
  DY_PTR,
  K_PTR,
  LSE,
  MASK,
  maskLanes,
  Q_PTR,
  RANGES,
  round8,
  SCALE,
  scaleRow,
  slice,
  slot,
  slotf,
  TILE,
  TQ,
  unionRange,
  V_PTR,
  Y_PTR,
} from "./attn_desc";

// Bytes of one packed operand: pack_bt of a (T, D) operand or pack_b of a (T, D) one (depth T).
@inline function panelBytes(t: i32, d: i32): usize {
  return <usize>max(round8(t) * d, round8(d) * t) << 2;
}

@inline function align16(n: usize): usize {
  return (n + 15) & ~15;
}

// The per-thread scratch: five packed operands, the A-packing area (depths up to D, T and a key tile), two tiles of
// the forward or strips of the backward (T rows, or a tile's when larger, × a key tile), and row values: the
// backward's Δ (T), the forward's running maximum and sum (tile each).
@inline function packABytes(t: i32, d: i32, tile: i32): usize {
  return align16(<usize>pack_a_bytes(max(max(d, t), round8(tile))));
}

@inline function tileBytes(t: i32, tile: i32): usize {
  return align16(<usize>(max(t, tile) * round8(tile)) << 2);
}

/** Bytes of scratch one thread needs for flash_fwd / flash_bwd with this descriptor (a multiple of 16). */
export function flash_scratch_bytes(desc: usize): i32 {
  const t = slot(desc, TQ), d = slot(desc, D), tile = slot(desc, TILE);
  const panels: usize = panelBytes(t, d) * 5;
  const rows: usize = align16(<usize>max(t, 2 * tile) << 2);
  return <i32>(panels + packABytes(t, d, tile) + tileBytes(t, tile) * 2 + rows);
}

// Zeroes `rows` rows of d floats, ld floats apart.
function zeroRows(p: usize, ld: i32, rows: i32, d: i32): void {
  for (let r = 0; r < rows; r++) memory.fill(p + ((<usize>r * <usize>ld) << 2), 0, <usize>d << 2);
}

// One row of a score tile in the forward: s[0..n) raw scores → exp(s·scale − m') for the allowed entries (0 for
// the blocked ones), with m' the row's new running maximum; the running maximum (at mr), sum (at lr) and output
// row y (d floats) are rescaled to m'. A tile with nothing visible in this row leaves it all zero.
function onlineRow(s: usize, m: usize, n: i32, scale: f32, mr: usize, lr: usize, y: usize, d: i32): void {
  const n4 = n & ~3;
  const ninf = f32x4.splat(-Infinity);
  const sc = f32x4.splat(scale);
  let mv = ninf;
  for (let j = 0; j < n4; j += 4) {
    const p = s + (<usize>j << 2);
    const v = f32x4.mul(v128.load(p), sc);
    v128.store(p, v);
    mv = f32x4.max(mv, v128.bitselect(v, ninf, maskLanes(m + <usize>j)));
  }
  let mx = hmax(mv);
  for (let j = n4; j < n; j++) {
    const p = s + (<usize>j << 2);
    const v = load<f32>(p) * scale;
    store<f32>(p, v);
    if (load<u8>(m + <usize>j) != 0 && v > mx) mx = v;
  }
  if (mx == -Infinity) {
    memory.fill(s, 0, <usize>n << 2);
    return;
  }
  const old = load<f32>(mr);
  const nm = max(old, mx);
  const mxv = f32x4.splat(nm);
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
    if (load<u8>(m + <usize>j) != 0) e = exp1(load<f32>(p) - nm);
    store<f32>(p, e);
    sum += e;
  }
  let l = sum;
  if (old != -Infinity && nm != old) {
    // what was accumulated under the old maximum (nothing when there was none yet)
    const a = exp1(old - nm);
    l += load<f32>(lr) * a;
    scaleRow(y, d, a);
  } else if (old != -Infinity) {
    l += load<f32>(lr);
  }
  store<f32>(mr, nm);
  store<f32>(lr, l);
}

/**
 * Forward for slices [h0, h1): y = softmax(mask(q·kᵀ·scale)) · v and each row's log-sum-exp (f64, −∞ for a row
 * with nothing visible, whose output is 0). `scratch` is this thread's area of flash_scratch_bytes(desc) bytes.
 */
export function flash_fwd(desc: usize, h0: i32, h1: i32, scratch: usize): void {
  expInit();
  const t = slot(desc, TQ), d = slot(desc, D), br = slot(desc, TILE), bc = round8(br);
  const pb = panelBytes(t, d);
  const PK = scratch, PV = PK + pb;
  const Qa = scratch + pb * 5;
  const S = Qa + packABytes(t, d, br);
  const stats = S + tileBytes(t, br) * 2; // running maximum and sum of the tile's rows (br each)
  const scale = slotf(desc, SCALE), mask = <usize>slot(desc, MASK);
  const rowLo = <usize>slot(desc, RANGES), rowHi = rowLo + (<usize>t << 2);
  const ldq = slot(desc, Q_PTR + 3), ldk = slot(desc, K_PTR + 3), ldv = slot(desc, V_PTR + 3), ldy = slot(desc, Y_PTR + 3);
  for (let bh = h0; bh < h1; bh++) {
    const qp = slice(desc, Q_PTR, slot(desc, Q_PTR), bh);
    const kp = slice(desc, K_PTR, slot(desc, K_PTR), bh);
    const vp = slice(desc, V_PTR, slot(desc, V_PTR), bh);
    const yp = slice(desc, Y_PTR, slot(desc, Y_PTR), bh);
    const lse = <usize>slot(desc, LSE) + ((<usize>bh * <usize>t) << 3);
    pack_bt(t, d, kp, ldk, PK);
    pack_b(d, t, vp, ldv, PV);
    for (let i0 = 0; i0 < t; i0 += br) {
      const rows = min(br, t - i0);
      const yi = yp + ((<usize>i0 * <usize>ldy) << 2);
      zeroRows(yi, ldy, rows, d);
      for (let r = 0; r < rows; r++) {
        store<f32>(stats + (<usize>r << 2), -Infinity);
        store<f32>(stats + (<usize>(br + r) << 2), 0);
      }
      const range = unionRange(rowLo, rowHi, i0, i0 + rows);
      const lo = <i32>(range & 0xffffffff), hi = <i32>(range >> 32);
      for (let j0 = lo & ~7; j0 < hi; j0 += bc) {
        const cols = min(bc, hi - j0);
        gemm_rows(cols, d, qp + ((<usize>i0 * <usize>ldq) << 2), ldq, 0, PK + <usize>(j0 >> 3) * (<usize>d << 5), d, S, bc, 0, Qa, 0, rows);
        for (let r = 0; r < rows; r++) {
          const sr = S + ((<usize>r * <usize>bc) << 2);
          const mr = mask + <usize>(i0 + r) * <usize>t + <usize>j0;
          const yr = yi + ((<usize>r * <usize>ldy) << 2);
          onlineRow(sr, mr, cols, scale, stats + (<usize>r << 2), stats + (<usize>(br + r) << 2), yr, d);
        }
        gemm_rows(d, cols, S, bc, 0, PV + (<usize>j0 << 5), t, yi, ldy, 1, Qa, 0, rows);
      }
      for (let r = 0; r < rows; r++) {
        const l = load<f32>(stats + (<usize>(br + r) << 2));
        const at = lse + (<usize>(i0 + r) << 3);
        if (l > 0) {
          scaleRow(yi + ((<usize>r * <usize>ldy) << 2), d, <f32>1 / l);
          store<f64>(at, <f64>load<f32>(stats + (<usize>r << 2)) + log64(<f64>l));
        } else {
          store<f64>(at, -Infinity);
        }
      }
    }
  }
}

// One row of a score tile in the backward: s[0..n) raw scores → P = exp(s·scale − L) for the allowed entries, 0
// for the blocked ones (all 0 when L = −∞: the row sees nothing).
function probRow(s: usize, m: usize, n: i32, scale: f32, L: f64): void {
  if (L == -Infinity) {
    memory.fill(s, 0, <usize>n << 2);
    return;
  }
  const n4 = n & ~3;
  const l = <f32>L;
  const lv = f32x4.splat(l);
  const sc = f32x4.splat(scale);
  const zero = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    const p = s + (<usize>j << 2);
    const e = exp4(f32x4.sub(f32x4.mul(v128.load(p), sc), lv));
    v128.store(p, v128.bitselect(e, zero, maskLanes(m + <usize>j)));
  }
  for (let j = n4; j < n; j++) {
    const p = s + (<usize>j << 2);
    store<f32>(p, load<u8>(m + <usize>j) != 0 ? exp1(load<f32>(p) * scale - l) : 0);
  }
}

// g[0..n) ← p ⊙ (g − δ) · scale (dS from dP through the softmax, with δ = rowsum(dY ⊙ Y)).
function dsRow(p: usize, g: usize, n: i32, delta: f32, scale: f32): void {
  const n4 = n & ~3;
  const dv = f32x4.splat(delta);
  const sv = f32x4.splat(scale);
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j << 2;
    v128.store(g + o, f32x4.mul(f32x4.mul(v128.load(p + o), f32x4.sub(v128.load(g + o), dv)), sv));
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(g + o, load<f32>(p + o) * (load<f32>(g + o) - delta) * scale);
  }
}

// Σ a[j]·b[j] over d floats.
function dot(a: usize, b: usize, d: i32): f32 {
  const d4 = d & ~3;
  let v = f32x4.splat(0);
  for (let j = 0; j < d4; j += 4) {
    const o = <usize>j << 2;
    v = f32x4.relaxed_madd(v128.load(a + o), v128.load(b + o), v);
  }
  let s = hsum(v);
  for (let j = d4; j < d; j++) s += load<f32>(a + (<usize>j << 2)) * load<f32>(b + (<usize>j << 2));
  return s;
}

/**
 * Backward for slices [h0, h1): writes (overwrites) dq, dk, dv from dy, the forward's output y and log-sum-exp,
 * recomputing the probabilities one strip of keys at a time (a key tile × the queries that may see it):
 * P = exp(S − L); dV_j = Pᵀ dY; dP = dY V_jᵀ; dS = P ⊙ (dP − Δ) with Δ = rowsum(dY ⊙ Y); dK_j = dSᵀ Q·scale;
 * dQ += dS K_j·scale. A strip spans every query row, so dK_j and dV_j come out of one product each.
 */
export function flash_bwd(desc: usize, h0: i32, h1: i32, scratch: usize): void {
  expInit();
  const t = slot(desc, TQ), d = slot(desc, D), bc = round8(slot(desc, TILE));
  const pb = panelBytes(t, d);
  const PKt = scratch, PVt = PKt + pb, PdY = PVt + pb, PQ = PdY + pb, PK = PQ + pb;
  const Qa = PK + pb;
  const S = Qa + packABytes(t, d, bc), W = S + tileBytes(t, bc);
  const delta = W + tileBytes(t, bc);
  const scale = slotf(desc, SCALE), mask = <usize>slot(desc, MASK);
  const colLo = <usize>slot(desc, RANGES) + (<usize>t << 3), colHi = colLo + (<usize>t << 2);
  const ldq = slot(desc, Q_PTR + 3), ldk = slot(desc, K_PTR + 3), ldv = slot(desc, V_PTR + 3), ldy = slot(desc, Y_PTR + 3);
  for (let bh = h0; bh < h1; bh++) {
    const qp = slice(desc, Q_PTR, slot(desc, Q_PTR), bh);
    const kp = slice(desc, K_PTR, slot(desc, K_PTR), bh);
    const vp = slice(desc, V_PTR, slot(desc, V_PTR), bh);
    const yp = slice(desc, Y_PTR, slot(desc, Y_PTR), bh);
    const dyp = slice(desc, Y_PTR, slot(desc, DY_PTR), bh);
    const dqp = slice(desc, Q_PTR, slot(desc, DQ_PTR), bh);
    const dkp = slice(desc, K_PTR, slot(desc, DK_PTR), bh);
    const dvp = slice(desc, V_PTR, slot(desc, DV_PTR), bh);
    const lse = <usize>slot(desc, LSE) + ((<usize>bh * <usize>t) << 3);
    for (let i = 0; i < t; i++) {
      const o = (<usize>i * <usize>ldy) << 2;
      store<f32>(delta + (<usize>i << 2), dot(dyp + o, yp + o, d));
    }
    pack_bt(t, d, kp, ldk, PKt);
    pack_bt(t, d, vp, ldv, PVt);
    pack_b(d, t, dyp, ldy, PdY);
    pack_b(d, t, qp, ldq, PQ);
    pack_b(d, t, kp, ldk, PK);
    zeroRows(dqp, ldq, t, d);
    for (let j0 = 0; j0 < t; j0 += bc) {
      const cols = min(bc, t - j0);
      const dkj = dkp + ((<usize>j0 * <usize>ldk) << 2), dvj = dvp + ((<usize>j0 * <usize>ldv) << 2);
      // the queries that may see a key of this tile
      const range = unionRange(colLo, colHi, j0, j0 + cols);
      const qa = <i32>(range & 0xffffffff), qb = <i32>(range >> 32);
      if (qb <= qa) {
        zeroRows(dkj, ldk, cols, d);
        zeroRows(dvj, ldv, cols, d);
        continue;
      }
      const rows = qb - qa;
      const qi = qp + ((<usize>qa * <usize>ldq) << 2), dyi = dyp + ((<usize>qa * <usize>ldy) << 2);
      gemm_rows(cols, d, qi, ldq, 0, PKt + <usize>(j0 >> 3) * (<usize>d << 5), d, S, bc, 0, Qa, 0, rows);
      for (let r = 0; r < rows; r++) {
        const mr = mask + <usize>(qa + r) * <usize>t + <usize>j0;
        probRow(S + ((<usize>r * <usize>bc) << 2), mr, cols, scale, load<f64>(lse + (<usize>(qa + r) << 3)));
      }
      // dV_j = Pᵀ dY
      gemm_rows(d, rows, S, bc, 1, PdY + (<usize>qa << 5), t, dvj, ldv, 0, Qa, 0, cols);
      // dP = dY V_jᵀ → dS
      gemm_rows(cols, d, dyi, ldy, 0, PVt + <usize>(j0 >> 3) * (<usize>d << 5), d, W, bc, 0, Qa, 0, rows);
      for (let r = 0; r < rows; r++) {
        const o = (<usize>r * <usize>bc) << 2;
        dsRow(S + o, W + o, cols, load<f32>(delta + (<usize>(qa + r) << 2)), scale);
      }
      // dK_j = dSᵀ Q; dQ += dS K_j
      gemm_rows(d, rows, W, bc, 1, PQ + (<usize>qa << 5), t, dkj, ldk, 0, Qa, 0, cols);
      gemm_rows(d, cols, W, bc, 0, PK + (<usize>j0 << 5), t, dqp + ((<usize>qa * <usize>ldq) << 2), ldq, 1, Qa, 0, rows);
    }
  }
}
