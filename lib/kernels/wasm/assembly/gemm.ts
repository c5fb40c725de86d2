// AssemblyScript source of the WASM SIMD gemm (compiled by `deno task build:wasm`; not TypeScript for Deno).
// All matrices are row-major f32 with explicit leading dimensions (in floats); pointer arguments are byte offsets
// into linear memory. C (+)= op(A) · op(B): B is packed into 8-column panels first (pack_b or pack_bt, which read
// either layout), A is packed 6 rows at a time inside gemm_rows (either layout), so no operand is ever transposed
// in memory and one 6×8 register-blocked kernel serves every layout.

@inline function ld(p: usize): v128 {
  return v128.load(p);
}

@inline function fma(a: v128, b: v128, c: v128): v128 {
  return f32x4.relaxed_madd(a, b, c);
}

/** Bytes of the per-thread A-packing area gemm_rows needs for depth K (8·K floats plus a 6×8 edge tile). */
export function pack_a_bytes(K: i32): i32 {
  return (K << 5) + 6 * 32;
}

// Packs op(B) (K × N) into panels of 8 columns (panel p = columns 8p..8p+7 as K rows of 8, contiguous); the last
// panel is zero-padded. P needs K · ceil(N/8) · 8 floats. B[k, j] = B[k·ldb + j].
export function pack_b(N: i32, K: i32, B: usize, ldb: i32, P: usize): void {
  const ldbB = <usize>ldb << 2;
  const panel = <usize>K << 5;
  const n8 = N & ~7;
  for (let j = 0; j < n8; j += 8) {
    let src = B + (<usize>j << 2);
    let dst = P + <usize>(j >> 3) * panel;
    for (let k = 0; k < K; k++) {
      v128.store(dst, ld(src));
      v128.store(dst + 16, ld(src + 16));
      src += ldbB;
      dst += 32;
    }
  }
  if (n8 < N) {
    const rem = N - n8;
    let src = B + (<usize>n8 << 2);
    let dst = P + <usize>(n8 >> 3) * panel;
    for (let k = 0; k < K; k++) {
      v128.store(dst, f32x4.splat(0));
      v128.store(dst + 16, f32x4.splat(0));
      for (let c = 0; c < rem; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
      src += ldbB;
      dst += 32;
    }
  }
}

// As pack_b for op(B) = Bᵀ: B is stored (N × K) with rows ldb floats apart, op(B)[k, j] = B[j·ldb + k].
// Full panels move 4×4 tiles through registers.
export function pack_bt(N: i32, K: i32, B: usize, ldb: i32, P: usize): void {
  const ldbB = <usize>ldb << 2;
  const panel = <usize>K << 5;
  const n8 = N & ~7;
  const k4 = K & ~3;
  for (let j = 0; j < n8; j += 8) {
    const s0 = B + <usize>j * ldbB;
    const s4 = s0 + 4 * ldbB;
    let dst = P + <usize>(j >> 3) * panel;
    for (let k = 0; k < k4; k += 4) {
      const o = <usize>k << 2;
      const a0 = ld(s0 + o), a1 = ld(s0 + ldbB + o), a2 = ld(s0 + 2 * ldbB + o), a3 = ld(s0 + 3 * ldbB + o);
      const b0 = ld(s4 + o), b1 = ld(s4 + ldbB + o), b2 = ld(s4 + 2 * ldbB + o), b3 = ld(s4 + 3 * ldbB + o);
      const t0 = i32x4.shuffle(a0, a1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(a2, a3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(a0, a1, 2, 6, 3, 7);
      const t3 = i32x4.shuffle(a2, a3, 2, 6, 3, 7);
      const u0 = i32x4.shuffle(b0, b1, 0, 4, 1, 5);
      const u1 = i32x4.shuffle(b2, b3, 0, 4, 1, 5);
      const u2 = i32x4.shuffle(b0, b1, 2, 6, 3, 7);
      const u3 = i32x4.shuffle(b2, b3, 2, 6, 3, 7);
      v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
      v128.store(dst + 16, i64x2.shuffle(u0, u1, 0, 2));
      v128.store(dst + 32, i64x2.shuffle(t0, t1, 1, 3));
      v128.store(dst + 48, i64x2.shuffle(u0, u1, 1, 3));
      v128.store(dst + 64, i64x2.shuffle(t2, t3, 0, 2));
      v128.store(dst + 80, i64x2.shuffle(u2, u3, 0, 2));
      v128.store(dst + 96, i64x2.shuffle(t2, t3, 1, 3));
      v128.store(dst + 112, i64x2.shuffle(u2, u3, 1, 3));
      dst += 128;
    }
    for (let k = k4; k < K; k++) {
      const o = <usize>k << 2;
      for (let c = 0; c < 8; c++) store<f32>(dst + (<usize>c << 2), load<f32>(s0 + <usize>c * ldbB + o));
      dst += 32;
    }
  }
  if (n8 < N) {
    const rem = N - n8;
    const s0 = B + <usize>n8 * ldbB;
    let dst = P + <usize>(n8 >> 3) * panel;
    for (let k = 0; k < K; k++) {
      const o = <usize>k << 2;
      v128.store(dst, f32x4.splat(0));
      v128.store(dst + 16, f32x4.splat(0));
      for (let c = 0; c < rem; c++) store<f32>(dst + (<usize>c << 2), load<f32>(s0 + <usize>c * ldbB + o));
      dst += 32;
    }
  }
}

// Packs rows [i, i + rows) of op(A) k-major into Q: Q[k·8 + r] = op(A)[i + r, k]; rows ≤ 6, the unused lanes of
// a short block are zeroed. transA = 0: A[i, k] = A[i·lda + k]; otherwise A is stored (K × M): A[k·lda + i].
@inline function packA(A: usize, ldaB: usize, transA: i32, i: i32, rows: i32, K: i32, Q: usize): void {
  if (transA == 0) {
    const a0 = A + <usize>i * ldaB;
    if (rows == 6) {
      for (let k = 0; k < K; k++) {
        const q = Q + (<usize>k << 5);
        const ak = a0 + (<usize>k << 2);
        store<f32>(q, load<f32>(ak));
        store<f32>(q + 4, load<f32>(ak + ldaB));
        store<f32>(q + 8, load<f32>(ak + 2 * ldaB));
        store<f32>(q + 12, load<f32>(ak + 3 * ldaB));
        store<f32>(q + 16, load<f32>(ak + 4 * ldaB));
        store<f32>(q + 20, load<f32>(ak + 5 * ldaB));
      }
      return;
    }
    for (let k = 0; k < K; k++) {
      const q = Q + (<usize>k << 5);
      v128.store(q, f32x4.splat(0));
      v128.store(q + 16, f32x4.splat(0));
      const ak = a0 + (<usize>k << 2);
      for (let r = 0; r < rows; r++) store<f32>(q + (<usize>r << 2), load<f32>(ak + <usize>r * ldaB));
    }
    return;
  }
  const a0 = A + (<usize>i << 2);
  if (rows == 6) {
    for (let k = 0; k < K; k++) {
      const q = Q + (<usize>k << 5);
      const ak = a0 + <usize>k * ldaB;
      v128.store(q, ld(ak));
      store<u64>(q + 16, load<u64>(ak + 16));
    }
    return;
  }
  for (let k = 0; k < K; k++) {
    const q = Q + (<usize>k << 5);
    v128.store(q, f32x4.splat(0));
    v128.store(q + 16, f32x4.splat(0));
    const ak = a0 + <usize>k * ldaB;
    for (let r = 0; r < rows; r++) store<f32>(q + (<usize>r << 2), load<f32>(ak + (<usize>r << 2)));
  }
}

// One 6×8 block of C (rows × cols valid, at most 6 × 8): C (+)= Qblock · Ppanel over depth K. The 12 accumulators,
// 2 B vectors and 1 broadcast fit x86-64's 16 vector registers. Edge blocks go through the tile at T.
@inline function block(Q: usize, P: usize, K: i32, c0: usize, ldcB: usize, rows: i32, cols: i32, acc: i32, T: usize): void {
  let x00 = f32x4.splat(0), x01 = f32x4.splat(0);
  let x10 = f32x4.splat(0), x11 = f32x4.splat(0);
  let x20 = f32x4.splat(0), x21 = f32x4.splat(0);
  let x30 = f32x4.splat(0), x31 = f32x4.splat(0);
  let x40 = f32x4.splat(0), x41 = f32x4.splat(0);
  let x50 = f32x4.splat(0), x51 = f32x4.splat(0);
  let b = P;
  const qEnd = Q + (<usize>K << 5);
  for (let q = Q; q < qEnd; q += 32) {
    const b0 = ld(b), b1 = ld(b + 16);
    let a = v128.load32_splat(q);
    x00 = fma(a, b0, x00);
    x01 = fma(a, b1, x01);
    a = v128.load32_splat(q + 4);
    x10 = fma(a, b0, x10);
    x11 = fma(a, b1, x11);
    a = v128.load32_splat(q + 8);
    x20 = fma(a, b0, x20);
    x21 = fma(a, b1, x21);
    a = v128.load32_splat(q + 12);
    x30 = fma(a, b0, x30);
    x31 = fma(a, b1, x31);
    a = v128.load32_splat(q + 16);
    x40 = fma(a, b0, x40);
    x41 = fma(a, b1, x41);
    a = v128.load32_splat(q + 20);
    x50 = fma(a, b0, x50);
    x51 = fma(a, b1, x51);
    b += 32;
  }
  if (rows == 6 && cols == 8) {
    const c1 = c0 + ldcB, c2 = c1 + ldcB, c3 = c2 + ldcB, c4 = c3 + ldcB, c5 = c4 + ldcB;
    if (acc != 0) {
      x00 = f32x4.add(x00, ld(c0));
      x01 = f32x4.add(x01, ld(c0 + 16));
      x10 = f32x4.add(x10, ld(c1));
      x11 = f32x4.add(x11, ld(c1 + 16));
      x20 = f32x4.add(x20, ld(c2));
      x21 = f32x4.add(x21, ld(c2 + 16));
      x30 = f32x4.add(x30, ld(c3));
      x31 = f32x4.add(x31, ld(c3 + 16));
      x40 = f32x4.add(x40, ld(c4));
      x41 = f32x4.add(x41, ld(c4 + 16));
      x50 = f32x4.add(x50, ld(c5));
      x51 = f32x4.add(x51, ld(c5 + 16));
    }
    v128.store(c0, x00);
    v128.store(c0 + 16, x01);
    v128.store(c1, x10);
    v128.store(c1 + 16, x11);
    v128.store(c2, x20);
    v128.store(c2 + 16, x21);
    v128.store(c3, x30);
    v128.store(c3 + 16, x31);
    v128.store(c4, x40);
    v128.store(c4 + 16, x41);
    v128.store(c5, x50);
    v128.store(c5 + 16, x51);
    return;
  }
  v128.store(T, x00);
  v128.store(T + 16, x01);
  v128.store(T + 32, x10);
  v128.store(T + 48, x11);
  v128.store(T + 64, x20);
  v128.store(T + 80, x21);
  v128.store(T + 96, x30);
  v128.store(T + 112, x31);
  v128.store(T + 128, x40);
  v128.store(T + 144, x41);
  v128.store(T + 160, x50);
  v128.store(T + 176, x51);
  for (let r = 0; r < rows; r++) {
    const cr = c0 + <usize>r * ldcB, tr = T + (<usize>r << 5);
    for (let c = 0; c < cols; c++) {
      const o = <usize>c << 2;
      const v = load<f32>(tr + o);
      store<f32>(cr + o, acc != 0 ? load<f32>(cr + o) + v : v);
    }
  }
}

// Rows [i0, i1) of C[M, N] (+)= op(A)[M, K] · op(B)[K, N], with op(B) already packed by pack_b / pack_bt into P
// as panels of kp ≥ K rows (P may point k rows into them, to use a slice of the depth).
// acc = 0 overwrites C, otherwise adds to it. Q is the caller thread's private packing area (pack_a_bytes(K)).
// Threads split the rows; i0 must be a multiple of 6 unless it is the last block.
export function gemm_rows(
  N: i32,
  K: i32,
  A: usize,
  lda: i32,
  transA: i32,
  P: usize,
  kp: i32,
  C: usize,
  ldc: i32,
  acc: i32,
  Q: usize,
  i0: i32,
  i1: i32,
): void {
  const ldaB = <usize>lda << 2;
  const ldcB = <usize>ldc << 2;
  const panel = <usize>kp << 5;
  const T = Q + (<usize>K << 5);
  for (let i = i0; i < i1; i += 6) {
    const rows = min(6, i1 - i);
    packA(A, ldaB, transA, i, rows, K, Q);
    const c0 = C + <usize>i * ldcB;
    for (let j = 0; j < N; j += 8) {
      block(Q, P + <usize>(j >> 3) * panel, K, c0 + (<usize>j << 2), ldcB, rows, min(8, N - j), acc, T);
    }
  }
}

// Four dot-product accumulators reduced to one vector of their sums (lane r = sum of a_r's lanes).
@inline function sum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(i64x2.shuffle(s01, s23, 0, 2), i64x2.shuffle(s01, s23, 1, 3));
}

// C[i, j] (+)= Σ_k A[i·lda + k] · B[j·ldb + k] for a few rows of A (y = x · Bᵀ, one token at a time when
// decoding): B is streamed once per row of A, four of its rows at a time, with no packing.
export function gemv_nt(M: i32, N: i32, K: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, acc: i32): void {
  const ldbB = <usize>ldb << 2;
  const k4 = K & ~3;
  const kBytes4 = <usize>k4 << 2;
  for (let i = 0; i < M; i++) {
    const a = A + ((<usize>i * <usize>lda) << 2);
    const c = C + ((<usize>i * <usize>ldc) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const b0 = B + <usize>j * ldbB, b1 = b0 + ldbB, b2 = b1 + ldbB, b3 = b2 + ldbB;
      let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
      for (let o: usize = 0; o < kBytes4; o += 16) {
        const av = v128.load(a + o);
        x0 = fma(av, v128.load(b0 + o), x0);
        x1 = fma(av, v128.load(b1 + o), x1);
        x2 = fma(av, v128.load(b2 + o), x2);
        x3 = fma(av, v128.load(b3 + o), x3);
      }
      let r = sum4(x0, x1, x2, x3);
      for (let k = k4; k < K; k++) {
        const o = <usize>k << 2;
        const av = f32x4.splat(load<f32>(a + o));
        const bv = f32x4.replace_lane(
          f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(load<f32>(b0 + o)), 1, load<f32>(b1 + o)), 2, load<f32>(b2 + o)),
          3,
          load<f32>(b3 + o),
        );
        r = fma(av, bv, r);
      }
      const cj = c + (<usize>j << 2);
      v128.store(cj, acc != 0 ? f32x4.add(v128.load(cj), r) : r);
    }
    for (; j < N; j++) {
      const b0 = B + <usize>j * ldbB;
      let s: f32 = 0;
      for (let k = 0; k < K; k++) s += load<f32>(a + (<usize>k << 2)) * load<f32>(b0 + (<usize>k << 2));
      const cj = c + (<usize>j << 2);
      store<f32>(cj, acc != 0 ? load<f32>(cj) + s : s);
    }
  }
}
