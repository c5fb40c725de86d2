import { onOneAndTwoThreads, withBackend } from "../_helpers/backend.ts";
import { flashAttentionForward } from "../../lib/kernels/flash.ts";
import { Rng } from "../../lib/random.ts";
import {
  type AttentionMask,
  causalMask,
  flashSelfAttention,
  fullMask,
  selfAttention,
} from "../../lib/tensor/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_helpers/assert.ts";

function randn(shape: number[], rng: Rng): Tensor {
  const t = Tensor.zeros(shape, "float32", true);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

// A random mask (60% visible) whose first row sees nothing.
function randomMask(T: number, rng: Rng): AttentionMask {
  const data = new Uint8Array(T * T);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.6 ? 1 : 0;
  data.fill(0, 0, T);
  return { Tq: T, Tk: T, data };
}

// A sliding causal window of w + 1 keys.
function windowMask(T: number, w: number): AttentionMask {
  const data = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) for (let j = Math.max(0, i - w); j <= i; j++) data[i * T + j] = 1;
  return { Tq: T, Tk: T, data };
}

// Output and input gradient of f(qkv) against a fixed dy.
function run(f: (x: Tensor) => Tensor, qkv: Tensor) {
  qkv.zeroGrad();
  const y = f(qkv);
  const r = new Rng(9), dy = new Float32Array(y.size).map(() => r.normal());
  y.backward(dy);
  return { y: y.data.slice(), g: qkv.grad!.slice() };
}

Deno.test("wasm flash attention equals the js kernels (flash loops and standard): tiles, ragged ends, masks", () => {
  const rng = new Rng(1);
  for (
    const [B, T, H, D, tile] of [
      [1, 1, 1, 2, 4],
      [2, 37, 2, 8, 16],
      [1, 64, 4, 16, 32],
      [2, 50, 3, 5, 7],
      [1, 70, 2, 33, 64],
    ]
  ) {
    const qkv = randn([B, T, 3 * H * D], rng);
    const masks: Array<[string, AttentionMask]> = [
      ["causal", causalMask(T)],
      ["full", fullMask(T)],
      ["window", windowMask(T, 5)],
      ["random", randomMask(T, rng)],
    ];
    for (const [name, mask] of masks) {
      const what = `B=${B} T=${T} H=${H} D=${D} tile=${tile} ${name}`;
      const std = withBackend("js", () => run((x) => selfAttention(x, H, mask), qkv));
      const loops = withBackend("js", () => run((x) => flashSelfAttention(x, H, mask, tile), qkv));
      const wasm = withBackend("wasm", () => run((x) => flashSelfAttention(x, H, mask, tile), qkv));
      for (const [ref, label] of [[std, "standard"], [loops, "flash loops"]] as const) {
        assertAllClose(wasm.y, ref.y, 1e-5, 1e-4, `y ${what} vs js ${label}`);
        assertAllClose(wasm.g, ref.g, 1e-5, 1e-4, `dqkv ${what} vs js ${label}`);
      }
    }
  }
});

Deno.test("wasm flash attention: the log-sum-exp of each row equals the loops' (−∞ for a row that sees nothing)", () => {
  const rng = new Rng(2);
  const B = 2, T = 19, H = 2, D = 8;
  const x = new Float32Array(B * T * 3 * H * D).map(() => rng.normal());
  const mask = randomMask(T, rng).data;
  const lse = (backend: "js" | "wasm") =>
    withBackend(backend, () => {
      const l = new Float64Array(B * H * T);
      flashAttentionForward(x, mask, new Float32Array(B * T * H * D), l, B, T, H, D, 8);
      return l;
    });
  const js = lse("js"), wasm = lse("wasm");
  for (let i = 0; i < js.length; i++) {
    if (js[i] === -Infinity) {
      if (wasm[i] !== -Infinity) throw new Error(`row ${i}: expected −∞, got ${wasm[i]}`);
    } else assertAllClose([wasm[i]], [js[i]], 1e-5, 1e-5, `lse row ${i}`);
  }
});

Deno.test("wasm flash attention split over 2 threads equals one thread", async () => {
  const rng = new Rng(3);
  const qkv = randn([4, 64, 3 * 4 * 32], rng);
  const mask = causalMask(64);
  const f = () => withBackend("wasm", () => run((x) => flashSelfAttention(x, 4, mask), qkv));
  const { one, two } = await onOneAndTwoThreads(f);
  assertAllClose(two.y, one.y, 0, 0, "y");
  assertAllClose(two.g, one.g, 0, 0, "dqkv");
});
