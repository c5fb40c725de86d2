import { setBackend } from "../../lib/kernels/backend.ts";
import { erf64, geluBackward, geluForward } from "../../lib/kernels/gelu.ts";
import { Rng } from "../../lib/random.ts";
import { assertAllClose } from "../_helpers/assert.ts";

function withBackend<T>(name: "js" | "wasm", f: () => T): T {
  setBackend(name);
  try {
    return f();
  } finally {
    setBackend("auto");
  }
}

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
