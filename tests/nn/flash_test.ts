import { tinyConfig } from "../_helpers/models.ts";
import { withBackend } from "../_helpers/backend.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import {
  type AttentionMask,
  causalMask,
  flashSelfAttention,
  fullMask,
  selfAttention,
} from "../../lib/tensor/mod.ts";
import { type DType, Tensor } from "../../lib/tensor/tensor.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { assertAllClose, assertThrows } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";

function randn(shape: number[], rng: Rng, dtype: DType): Tensor {
  const t = Tensor.zeros(shape, dtype, true);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

function windowMask(T: number, w: number): AttentionMask {
  const data = new Uint8Array(T * T);
  for (let i = 0; i < T; i++) for (let j = Math.max(0, i - w); j <= i; j++) data[i * T + j] = 1;
  data.fill(0, 0, T); // a row with nothing to see
  return { Tq: T, Tk: T, data };
}

// Output and input gradient of f(qkv) against a fixed dy.
function run(f: (x: Tensor) => Tensor, qkv: Tensor) {
  qkv.zeroGrad();
  const y = f(qkv);
  const r = new Rng(9), dy = new Float64Array(y.size).map(() => r.normal());
  y.backward(qkv.dtype === "float64" ? dy : Float32Array.from(dy));
  return { y: y.data.slice(), g: qkv.grad!.slice() };
}

Deno.test("flash attention equals the standard kernel on outputs and gradients (tiles, ragged ends, masks)", () => {
  const rng = new Rng(1);
  for (const dtype of ["float64", "float32"] as const) {
    const tol = dtype === "float64" ? 1e-12 : 1e-5;
    for (
      const [B, T, H, D, tile] of [[1, 1, 1, 2, 4], [2, 37, 2, 8, 16], [1, 64, 4, 16, 32], [2, 50, 3, 5, 7]]
    ) {
      const qkv = randn([B, T, 3 * H * D], rng, dtype);
      for (
        const [name, mask] of [["causal", causalMask(T)], ["full", fullMask(T)], ["window", windowMask(T, 5)]]
      ) {
        const what = `${dtype} B=${B} T=${T} H=${H} D=${D} tile=${tile} ${name}`;
        const std = withBackend("js", () => run((x) => selfAttention(x, H, mask as AttentionMask), qkv));
        const fl = run((x) => flashSelfAttention(x, H, mask as AttentionMask, tile), qkv);
        assertAllClose(fl.y, std.y, tol, tol, `y ${what}`);
        assertAllClose(fl.g, std.g, tol, tol, `dqkv ${what}`);
      }
    }
  }
});

Deno.test("gradcheck: flash attention (float64)", () => {
  const rng = new Rng(2);
  checkGrad((x) => flashSelfAttention(x, 2, causalMask(6), 4), [randn64([2, 6, 3 * 2 * 3], rng)]);
  checkGrad((x) => flashSelfAttention(x, 2, windowMask(6, 2), 4), [randn64([1, 6, 3 * 2 * 3], rng)]);
});

Deno.test("a GPT with flash attention gives the standard model's loss and gradients; dropout is refused", () => {
  const cfg = tinyConfig({ vocabSize: 11, blockSize: 12 });
  const x = Int32Array.from({ length: 24 }, (_, i) => (i * 3 + 2) % 11), y = x.map((v) => (v + 1) % 11);
  const grads = (attention: "standard" | "flash") => {
    const model = new GPT({ ...cfg, attention }, new Rng(4), "float64");
    const { loss } = model.forward(x, 2, 12, { targets: y });
    loss!.backward();
    return [loss!.item(), ...model.namedParameters(undefined, true).flatMap((p) => [...p.tensor.grad!])];
  };
  assertAllClose(grads("flash"), grads("standard"), 1e-12, 1e-10);
  assertThrows(() => new GPT({ ...cfg, dropout: 0.1, attention: "flash" }, new Rng(4)), "flash", "dropout");
  assertThrows(
    () => loadConfig({ path: "configs/variants/flash.jsonc", sets: ["model.dropout=0.1"] }),
    "model.attention",
    "flash attention has no attention dropout",
  );
});
