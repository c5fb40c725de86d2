// Row-broadcast add, element-wise add and column sums (AssemblyScript; compiled by `deno task build:wasm`) on
// row-major f32 matrices, four columns at a time: the bias add and its gradient, and the residual add.

// out[r, j] = x[r, j] + b[j] for r < rows, j < n (out may be x: the bias add in place).
export function add_rows(rows: i32, n: i32, x: usize, b: usize, out: usize): void {
  const n4 = n & ~3;
  const row = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * row, yr = out + <usize>r * row;
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.add(v128.load(xr + o), v128.load(b + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(xr + o) + load<f32>(b + o));
    }
  }
}

// out[i] = a[i] + b[i] for i < n.
export function add_vec(n: i32, a: usize, b: usize, out: usize): void {
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

// out[j] += Σ_r g[r·ld + j] for j < n (rows added one at a time in order, as the TypeScript loop does); ld is
// the row length, so a thread can take a range of columns.
export function sum_rows(rows: i32, n: i32, ld: i32, g: usize, out: usize): void {
  const n4 = n & ~3;
  const row = <usize>ld << 2;
  for (let r = 0; r < rows; r++) {
    const gr = g + <usize>r * row;
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(out + o, f32x4.add(v128.load(out + o), v128.load(gr + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(out + o, load<f32>(out + o) + load<f32>(gr + o));
    }
  }
}
