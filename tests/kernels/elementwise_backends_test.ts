import { withBackend } from "../_helpers/backend.ts";
import { addBias, sumRows } from "../../lib/kernels/bias.ts";
import { softmaxBackward, softmaxForward } from "../../lib/kernels/softmax.ts";
import { rmsNormBackward, rmsNormForward } from "../../lib/kernels/rmsnorm.ts";
import { ropeRotate } from "../../lib/kernels/rope.ts";
import { swigluBackward, swigluForward } from "../../lib/kernels/swiglu.ts";
import { RopeTable } from "../../lib/tensor/mod.ts";
import { erf64, geluBackward, geluForward } from "../../lib/kernels/gelu.ts";
import { residentFloat32 } from "../../lib/kernels/wasm/runtime.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose } from "../_helpers/assert.ts";

Deno.test("wasm GELU forward/backward equal the js kernels and the float64 truth (odd lengths, wide range)", () => {
  const rng = new Rng(5);
  for (const n of [64, 67, 1000, 4099]) {
    const x = new Float32Array(n), dy = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = i % 97 === 0 ? (i % 2 ? 12 : -12) : rng.normal() * 3;
      dy[i] = rng.normal();
    }
    const run = (b: "js" | "wasm") =>
      withBackend(b, () => {
        const y = new Float32Array(n), dx = new Float32Array(n);
        geluForward(x, y, n);
        geluBackward(x, dy, dx, n);
        return { y, dx };
      });
    const js = run("js"), wasm = run("wasm");
    assertAllClose(wasm.y, js.y, 5e-7, 2e-6, `gelu forward n=${n}`);
    assertAllClose(wasm.dx, js.dx, 5e-7, 2e-6, `gelu backward n=${n}`);
    const truth = Array.from(x, (v) => 0.5 * v * (1 + erf64(v / Math.SQRT2)));
    assertAllClose(wasm.y, truth, 1e-6, 2e-6, `gelu forward vs float64 n=${n}`);
  }
});

Deno.test("bias add and row sums: wasm in place equals the plain loops (odd widths)", () => {
  const rng = new Rng(10);
  for (const [rows, n] of [[1, 1], [7, 3], [33, 13], [64, 130], [5, 1024]]) {
    const y = residentFloat32(rows * n)!, b = residentFloat32(n)!, out = residentFloat32(n)!;
    for (let i = 0; i < y.length; i++) y[i] = rng.normal();
    for (let j = 0; j < n; j++) b[j] = out[j] = rng.normal();
    const yJs = y.slice(), outJs = out.slice();
    withBackend("js", () => {
      addBias(yJs, b.slice(), rows, n);
      sumRows(y.slice(), rows, n, outJs);
    });
    withBackend("wasm", () => {
      sumRows(y, rows, n, out); // before the add, like the js side
      addBias(y, b, rows, n);
    });
    assertAllClose(y, yJs, 0, 0, `add_bias ${rows}×${n}`);
    assertAllClose(out, outJs, 0, 0, `sum_rows ${rows}×${n}`);
  }
});

Deno.test("row softmax forward/backward: wasm in place equals the plain loops (odd widths, large logits)", () => {
  const rng = new Rng(11);
  for (const [rows, cols] of [[1, 1], [3, 5], [17, 13], [40, 130], [2, 1031]]) {
    const n = rows * cols;
    const x = residentFloat32(n)!, dy = residentFloat32(n)!;
    for (let i = 0; i < n; i++) {
      x[i] = rng.normal() * (i % 11 === 0 ? 40 : 3);
      dy[i] = rng.normal();
    }
    const want = withBackend("js", () => {
      const p = new Float32Array(n), dx = new Float32Array(n);
      softmaxForward(x.slice(), p, rows, cols);
      softmaxBackward(p, dy.slice(), dx, rows, cols);
      return { p, dx };
    });
    const p = residentFloat32(n)!, dx = residentFloat32(n)!;
    withBackend("wasm", () => {
      softmaxForward(x, p, rows, cols);
      softmaxBackward(p, dy, dx, rows, cols);
    });
    assertAllClose(p, want.p, 1e-7, 2e-6, `softmax ${rows}×${cols}`);
    assertAllClose(dx, want.dx, 1e-6, 2e-5, `softmax backward ${rows}×${cols}`);
  }
});

Deno.test("SwiGLU and RMSNorm: wasm in place equals the plain loops (odd sizes, null outputs)", () => {
  const rng = new Rng(13);
  const fill = (n: number, s = 1) => {
    const a = residentFloat32(n)!;
    for (let i = 0; i < n; i++) a[i] = rng.normal() * s;
    return a;
  };
  for (const n of [1, 3, 64, 1001]) {
    const g = fill(n, 4), u = fill(n), dy = fill(n);
    const js = withBackend("js", () => {
      const out = new Float32Array(n), dg = new Float32Array(n), du = new Float32Array(n);
      swigluForward(g.slice(), u.slice(), out, n);
      swigluBackward(g.slice(), u.slice(), dy.slice(), dg, du, n);
      return { out, dg, du };
    });
    const out = residentFloat32(n)!, dg = residentFloat32(n)!, du = residentFloat32(n)!;
    withBackend("wasm", () => {
      swigluForward(g, u, out, n);
      swigluBackward(g, u, dy, dg, du, n);
      swigluBackward(g, u, dy, null, residentFloat32(n)!, n); // one output skipped
    });
    assertAllClose(out, js.out, 1e-6, 1e-5, `swiglu ${n}`);
    assertAllClose(dg, js.dg, 1e-6, 1e-5, `swiglu dg ${n}`);
    assertAllClose(du, js.du, 1e-6, 1e-5, `swiglu du ${n}`);
  }
  for (const [rows, C] of [[1, 1], [7, 5], [33, 64], [5, 130]]) {
    const x = fill(rows * C), w = fill(C), dy = fill(rows * C);
    const js = withBackend("js", () => {
      const out = new Float32Array(rows * C), rstd = new Float32Array(rows);
      const dx = new Float32Array(rows * C), dw = new Float32Array(C);
      rmsNormForward(x.slice(), w.slice(), out, rstd, rows, C, 1e-5);
      rmsNormBackward(x.slice(), w.slice(), rstd, dy.slice(), dx, dw, rows, C);
      return { out, rstd, dx, dw };
    });
    const out = residentFloat32(rows * C)!, rstd = residentFloat32(rows)!;
    const dx = residentFloat32(rows * C)!, dw = residentFloat32(C)!;
    withBackend("wasm", () => {
      rmsNormForward(x, w, out, rstd, rows, C, 1e-5);
      rmsNormBackward(x, w, rstd, dy, dx, dw, rows, C);
    });
    const what = `rmsnorm ${rows}×${C}`;
    assertAllClose(out, js.out, 1e-6, 1e-5, what);
    assertAllClose(rstd, js.rstd, 1e-6, 1e-5, `${what} rstd`);
    assertAllClose(dx, js.dx, 1e-5, 1e-4, `${what} dx`);
    assertAllClose(dw, js.dw, 1e-5, 1e-4, `${what} dw`);
  }
});

Deno.test("RoPE: the wasm rotation in place equals the plain loop (head sizes with and without a SIMD tail)", () => {
  const rng = new Rng(14);
  for (const [B, T, H, D, pos0] of [[2, 5, 2, 8, 0], [1, 7, 3, 6, 4], [1, 3, 1, 2, 9]]) {
    const table = new RopeTable(16, D);
    const n = B * T * 3 * H * D;
    const src = residentFloat32(n)!;
    for (let i = 0; i < n; i++) src[i] = rng.normal();
    const want = src.slice();
    withBackend("js", () => ropeRotate(src.slice(), want, B, T, H, D, pos0, table, 1));
    for (const sign of [1, -1] as const) {
      const out = residentFloat32(n)!;
      out.set(src);
      withBackend("wasm", () => ropeRotate(src, out, B, T, H, D, pos0, table, sign));
      if (sign === 1) assertAllClose(out, want, 1e-6, 1e-6, `rope B=${B} T=${T} H=${H} D=${D} pos0=${pos0}`);
      else {
        // rotating back what was rotated forward gives the input
        const back = residentFloat32(n)!;
        back.set(out);
        const fwd = residentFloat32(n)!;
        fwd.set(src);
        withBackend("wasm", () => ropeRotate(src, fwd, B, T, H, D, pos0, table, 1));
        back.set(fwd);
        withBackend("wasm", () => ropeRotate(fwd, back, B, T, H, D, pos0, table, -1));
        assertAllClose(back, src, 1e-5, 1e-5, `rope back D=${D}`);
      }
    }
  }
});
