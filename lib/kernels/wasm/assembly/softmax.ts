// Row softmax (forward, backward) and the fused softmax + cross-entropy over rows of `cols` logits (f32, row-major), one exp per logit. Targets are one
// i32 per row, already checked to lie in [0, cols) by the caller; a negative target marks an ignored row.
// Pointer arguments are byte offsets into linear memory.

import { exp1, exp4, expInit, hmax, hsum, log64, splat, SUM_BLOCK } from "./simd_math";

// Largest element of row[0..cols) (two vector accumulators, then the 4-lane and scalar tails). Uses pmax
// (one instruction) and, like the TypeScript loop's `x > max`, skips NaN elements; a NaN still reaches the loss
// through its exp.
@inline function rowMax(row: usize, cols: i32): f32 {
  const c8 = cols & ~7, c4 = cols & ~3;
  let a0 = splat(-Infinity), a1 = splat(-Infinity);
  for (let j = 0; j < c8; j += 8) {
    const p = row + (<usize>j << 2);
    a0 = f32x4.pmax(a0, v128.load(p));
    a1 = f32x4.pmax(a1, v128.load(p + 16));
  }
  if (c4 > c8) a0 = f32x4.pmax(a0, v128.load(row + (<usize>c8 << 2)));
  let m = hmax(f32x4.pmax(a0, a1));
  for (let j = c4; j < cols; j++) {
    const v = load<f32>(row + (<usize>j << 2));
    if (v > m) m = v;
  }
  return m;
}

// pr[0..cols) = softmax(xr[0..cols)), returning Σ exp(x − max) (in f64: blocks of SUM_BLOCK summed in f32
// lanes, the block sums in f64, so a 50k-wide row stays accurate). Max, then exp(x − max) stored while summing,
// then scaled by 1/sum.
@inline function softmaxRow(xr: usize, pr: usize, cols: i32, mx: f32): f64 {
  const c4 = cols & ~3;
  const mv = splat(mx);
  let sum: f64 = 0;
  for (let j0 = 0; j0 < c4; j0 += SUM_BLOCK) {
    const j1 = min(j0 + SUM_BLOCK, c4);
    let acc = splat(0);
    for (let j = j0; j < j1; j += 4) {
      const o = <usize>j << 2;
      const e = exp4(f32x4.sub(v128.load(xr + o), mv));
      v128.store(pr + o, e);
      acc = f32x4.add(acc, e);
    }
    sum += <f64>hsum(acc);
  }
  for (let j = c4; j < cols; j++) {
    const o = <usize>j << 2;
    const e = exp1(load<f32>(xr + o) - mx);
    store<f32>(pr + o, e);
    sum += <f64>e;
  }
  const inv = <f32>(1.0 / sum);
  const iv = splat(inv);
  for (let j = 0; j < c4; j += 4) {
    const o = <usize>j << 2;
    v128.store(pr + o, f32x4.mul(v128.load(pr + o), iv));
  }
  for (let j = c4; j < cols; j++) {
    const o = <usize>j << 2;
    store<f32>(pr + o, load<f32>(pr + o) * inv);
  }
  return sum;
}

// probs[r] = softmax(x[r]) for row r; returns −log p_t for its target t, computed as log Σ exp(x − max) − (x_t − max)
// so it keeps its precision when p_t is tiny, or 0 for a row without one (t < 0).
@inline function crossEntropyRow(r: i32, cols: i32, x: usize, targets: usize, probs: usize): f64 {
  const ro = (<usize>r * <usize>cols) << 2;
  const xr = x + ro;
  const mx = rowMax(xr, cols);
  const sum = softmaxRow(xr, probs + ro, cols, mx);
  const t = load<i32>(targets + (<usize>r << 2));
  return t >= 0 ? log64(sum) - <f64>(load<f32>(xr + (<usize>t << 2)) - mx) : 0;
}

// probs = softmax(x) per row; returns Σ over the rows with a target t ≥ 0 of −log p_t (see crossEntropyRow).
export function cross_entropy_fwd(rows: i32, cols: i32, x: usize, targets: usize, probs: usize): f64 {
  expInit();
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const loss = crossEntropyRow(r, cols, x, targets, probs);
    if (load<i32>(targets + (<usize>r << 2)) >= 0) total += loss;
  }
  return total;
}

// As cross_entropy_fwd, but each row's −log p_t goes to losses[r] (f64; 0 for a row without a target), so threads
// can split the rows and the caller sums the losses in row order (the same sum cross_entropy_fwd returns).
export function cross_entropy_rows(rows: i32, cols: i32, x: usize, targets: usize, probs: usize, losses: usize): void {
  expInit();
  for (let r = 0; r < rows; r++) store<f64>(losses + (<usize>r << 3), crossEntropyRow(r, cols, x, targets, probs));
}

// out = softmax(x) per row (max-subtracted).
export function softmax_fwd(rows: i32, cols: i32, x: usize, out: usize): void {
  expInit();
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>cols) << 2;
    softmaxRow(x + ro, out + ro, cols, rowMax(x + ro, cols));
  }
}

// dx = p ⊙ (dy − ⟨dy, p⟩) per row (the dot in f64, like the sums above).
export function softmax_bwd(rows: i32, cols: i32, p: usize, dy: usize, dx: usize): void {
  const c4 = cols & ~3;
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>cols) << 2;
    const pr = p + ro, gr = dy + ro, xr = dx + ro;
    let dot: f64 = 0;
    for (let j0 = 0; j0 < c4; j0 += SUM_BLOCK) {
      const j1 = min(j0 + SUM_BLOCK, c4);
      let acc = splat(0);
      for (let j = j0; j < j1; j += 4) {
        const o = <usize>j << 2;
        acc = f32x4.add(acc, f32x4.mul(v128.load(pr + o), v128.load(gr + o)));
      }
      dot += <f64>hsum(acc);
    }
    for (let j = c4; j < cols; j++) {
      const o = <usize>j << 2;
      dot += <f64>(load<f32>(pr + o) * load<f32>(gr + o));
    }
    const d = <f32>dot;
    const dv = splat(d);
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      v128.store(xr + o, f32x4.mul(v128.load(pr + o), f32x4.sub(v128.load(gr + o), dv)));
    }
    for (let j = c4; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(xr + o, load<f32>(pr + o) * (load<f32>(gr + o) - d));
    }
  }
}

// dx = scale · (probs − onehot(t)) per row; rows with a negative target get zero.
export function cross_entropy_bwd(
  rows: i32,
  cols: i32,
  probs: usize,
  targets: usize,
  dx: usize,
  scale: f32,
): void {
  const c4 = cols & ~3;
  const sv = splat(scale), zero = splat(0);
  for (let r = 0; r < rows; r++) {
    const ro = (<usize>r * <usize>cols) << 2;
    const pr = probs + ro, dr = dx + ro;
    const t = load<i32>(targets + (<usize>r << 2));
    if (t < 0) {
      for (let j = 0; j < c4; j += 4) v128.store(dr + (<usize>j << 2), zero);
      for (let j = c4; j < cols; j++) store<f32>(dr + (<usize>j << 2), 0);
      continue;
    }
    for (let j = 0; j < c4; j += 4) {
      const o = <usize>j << 2;
      v128.store(dr + o, f32x4.mul(v128.load(pr + o), sv));
    }
    for (let j = c4; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(dr + o, load<f32>(pr + o) * scale);
    }
    const ot = <usize>t << 2;
    store<f32>(dr + ot, load<f32>(dr + ot) - scale);
  }
}
