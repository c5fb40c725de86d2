// Bias add and its gradient (AssemblyScript; compiled by `deno task build:wasm`): y[r, :] += b and
// out += Σ_r g[r, :] on row-major (rows, n) f32 matrices, four columns at a time.

// y[r, j] += b[j] for r < rows, j < n.
export function add_bias(rows: i32, n: i32, y: usize, b: usize): void {
  const n4 = n & ~3;
  const row = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const yr = y + <usize>r * row;
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.add(v128.load(yr + o), v128.load(b + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, load<f32>(yr + o) + load<f32>(b + o));
    }
  }
}

// out[j] += Σ_r g[r, j] (rows added one at a time in order, as the TypeScript loop does).
export function sum_rows(rows: i32, n: i32, g: usize, out: usize): void {
  const n4 = n & ~3;
  const row = <usize>n << 2;
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
