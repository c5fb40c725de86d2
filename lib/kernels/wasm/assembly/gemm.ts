// AssemblyScript source of the WASM SIMD kernels (compiled by `deno task build:wasm`; not TypeScript for Deno).
// All matrices are row-major f32; pointer arguments are byte offsets into linear memory.

@inline function ld(p: usize): v128 {
  return v128.load(p);
}

@inline function fma(a: v128, b: v128, c: v128): v128 {
  return f32x4.relaxed_madd(a, b, c);
}

// Packs the full 8-column panels of B[K,N] into P (panel p = columns 8p..8p+7 as K × 8, contiguous).
// P needs K·(N & ~7) floats.
export function pack_b(N: i32, K: i32, B: usize, P: usize): void {
  const ldb = <usize>N << 2;
  const n8 = N & ~7;
  const panel = <usize>K << 5;
  for (let j = 0; j < n8; j += 8) {
    let src = B + (<usize>j << 2);
    let dst = P + <usize>(j >> 3) * panel;
    for (let k = 0; k < K; k++) {
      v128.store(dst, ld(src));
      v128.store(dst + 16, ld(src + 16));
      src += ldb;
      dst += 32;
    }
  }
}

// Rows [i0, i1) of C[M,N] += A[M,K] · B[K,N] (A's rows are ldA floats apart, so A and B may be a K-slice of larger
// operands), with B already packed by pack_b into P. Each block of 6 rows of A is
// packed k-major at Q (8·K floats, private to the caller's thread), so the 6×8 register block (12 accumulators +
// 2 B vectors + 1 broadcast, within x86-64's 16 vector registers) reads both operands sequentially. Columns past
// the last full panel and rows past the last full block take simpler paths. Threads split the rows.
export function gemm_rows(
  N: i32,
  K: i32,
  ldA: i32,
  A: usize,
  B: usize,
  C: usize,
  P: usize,
  Q: usize,
  i0: i32,
  i1: i32,
): void {
  const ldb = <usize>N << 2;
  const lda = <usize>ldA << 2;
  const kBytes = <usize>K << 2;
  const n8 = N & ~7;
  const panel = <usize>K << 5; // bytes per packed panel
  let i = i0;
  for (; i + 6 <= i1; i += 6) {
    const a0 = A + <usize>i * lda;
    for (let k = 0; k < K; k++) {
      const q = Q + (<usize>k << 5);
      const ak = a0 + (<usize>k << 2);
      store<f32>(q, load<f32>(ak));
      store<f32>(q + 4, load<f32>(ak + lda));
      store<f32>(q + 8, load<f32>(ak + 2 * lda));
      store<f32>(q + 12, load<f32>(ak + 3 * lda));
      store<f32>(q + 16, load<f32>(ak + 4 * lda));
      store<f32>(q + 20, load<f32>(ak + 5 * lda));
    }
    const c0 = C + <usize>i * ldb;
    const c1 = c0 + ldb;
    const c2 = c1 + ldb;
    const c3 = c2 + ldb;
    const c4 = c3 + ldb;
    const c5 = c4 + ldb;
    const qEnd = Q + panel;
    for (let j = 0; j < n8; j += 8) {
      const jo = <usize>j << 2;
      let x00 = ld(c0 + jo), x01 = ld(c0 + jo + 16);
      let x10 = ld(c1 + jo), x11 = ld(c1 + jo + 16);
      let x20 = ld(c2 + jo), x21 = ld(c2 + jo + 16);
      let x30 = ld(c3 + jo), x31 = ld(c3 + jo + 16);
      let x40 = ld(c4 + jo), x41 = ld(c4 + jo + 16);
      let x50 = ld(c5 + jo), x51 = ld(c5 + jo + 16);
      let b = P + <usize>(j >> 3) * panel;
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
      v128.store(c0 + jo, x00);
      v128.store(c0 + jo + 16, x01);
      v128.store(c1 + jo, x10);
      v128.store(c1 + jo + 16, x11);
      v128.store(c2 + jo, x20);
      v128.store(c2 + jo + 16, x21);
      v128.store(c3 + jo, x30);
      v128.store(c3 + jo + 16, x31);
      v128.store(c4 + jo, x40);
      v128.store(c4 + jo + 16, x41);
      v128.store(c5 + jo, x50);
      v128.store(c5 + jo + 16, x51);
    }
    if (n8 < N) rowsTail(6, N, n8, lda, kBytes, ldb, a0, B, c0);
  }
  // remaining rows, one at a time, on the packed panels
  for (; i < i1; i++) {
    const a0 = A + <usize>i * lda;
    const c0 = C + <usize>i * ldb;
    for (let j = 0; j < n8; j += 8) {
      const jo = <usize>j << 2;
      let x0 = ld(c0 + jo), x1 = ld(c0 + jo + 16);
      let b = P + <usize>(j >> 3) * panel;
      for (let k: usize = 0; k < kBytes; k += 4) {
        const a = v128.load32_splat(a0 + k);
        x0 = fma(a, ld(b), x0);
        x1 = fma(a, ld(b + 16), x1);
        b += 32;
      }
      v128.store(c0 + jo, x0);
      v128.store(c0 + jo + 16, x1);
    }
    if (n8 < N) rowsTail(1, N, n8, lda, kBytes, ldb, a0, B, c0);
  }
}

// Columns [j0, N) of `rows` consecutive rows, scalar.
function rowsTail(rows: i32, N: i32, j0: i32, lda: usize, kBytes: usize, ldb: usize, a: usize, B: usize, c: usize): void {
  for (let r = 0; r < rows; r++) {
    const ar = a + <usize>r * lda;
    const cr = c + <usize>r * ldb;
    for (let j = j0; j < N; j++) {
      const jo = <usize>j << 2;
      let s = load<f32>(cr + jo);
      let b = B + jo;
      for (let k: usize = 0; k < kBytes; k += 4) {
        s += load<f32>(ar + k) * load<f32>(b);
        b += ldb;
      }
      store<f32>(cr + jo, s);
    }
  }
}

// dst[cols, rows] = src[rows, cols]ᵀ, in 4×4 tiles where possible.
export function transpose(rows: i32, cols: i32, src: usize, dst: usize): void {
  const r4 = rows & ~3;
  const c4 = cols & ~3;
  const ls = <usize>cols << 2;
  const ldd = <usize>rows << 2;
  for (let r = 0; r < r4; r += 4) {
    for (let c = 0; c < c4; c += 4) {
      const s = src + <usize>r * ls + (<usize>c << 2);
      const v0 = ld(s), v1 = ld(s + ls), v2 = ld(s + 2 * ls), v3 = ld(s + 3 * ls);
      const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
      const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
      const d = dst + <usize>c * ldd + (<usize>r << 2);
      v128.store(d, i64x2.shuffle(t0, t1, 0, 2));
      v128.store(d + ldd, i64x2.shuffle(t0, t1, 1, 3));
      v128.store(d + 2 * ldd, i64x2.shuffle(t2, t3, 0, 2));
      v128.store(d + 3 * ldd, i64x2.shuffle(t2, t3, 1, 3));
    }
    for (let c = c4; c < cols; c++) {
      for (let q = 0; q < 4; q++) {
        store<f32>(dst + <usize>c * ldd + (<usize>(r + q) << 2), load<f32>(src + <usize>(r + q) * ls + (<usize>c << 2)));
      }
    }
  }
  for (let r = r4; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      store<f32>(dst + <usize>c * ldd + (<usize>r << 2), load<f32>(src + <usize>r * ls + (<usize>c << 2)));
    }
  }
}
