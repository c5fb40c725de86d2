import { onOneAndTwoThreads, withBackend } from "../_helpers/backend.ts";
import { Rng } from "../../lib/random.ts";
import {
  attention,
  type AttentionMask,
  causalMask,
  fullMask,
  narrow,
  permute,
  reshape,
  selfAttention,
} from "../../lib/tensor/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";

function randn(shape: number[], rng: Rng, dtype: "float32" | "float64" = "float32"): Tensor {
  const t = Tensor.zeros(shape, dtype, true);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

function randomMask(Tq: number, Tk: number, rng: Rng): AttentionMask {
  const data = new Uint8Array(Tq * Tk);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.6 ? 1 : 0;
  data.fill(0, 0, Tk); // one row with nothing to attend to: all-zero probabilities
  return { Tq, Tk, data };
}

// A sliding window: query i sees keys (i + Tk − Tq) − w … (i + Tk − Tq), so both ends of each row are blocked.
function windowMask(Tq: number, Tk: number, w: number): AttentionMask {
  const data = new Uint8Array(Tq * Tk), off = Tk - Tq;
  for (let i = 0; i < Tq; i++) for (let j = Math.max(0, i + off - w); j <= i + off; j++) data[i * Tk + j] = 1;
  return { Tq, Tk, data };
}

// Output, probabilities and input gradients of attention(q, k, v) on one backend, weighted by a fixed dy.
function runAttention(
  backend: "js" | "wasm",
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttentionMask,
  dropout: number,
) {
  return withBackend(backend, () => {
    for (const t of [q, k, v]) t.zeroGrad();
    let probs: Float32Array | Float64Array = new Float32Array(0);
    const y = attention(q, k, v, mask, { dropout, rng: new Rng(11), onProbs: (p) => (probs = p.slice()) });
    const dy = new Float32Array(y.size);
    const r = new Rng(12);
    for (let i = 0; i < dy.length; i++) dy[i] = r.normal();
    y.backward(dy);
    return { y: y.data.slice(), probs, dq: q.grad!.slice(), dk: k.grad!.slice(), dv: v.grad!.slice() };
  });
}

Deno.test("wasm attention equals the js kernels: odd sizes, causal / full / random masks, KV-cache shapes, dropout", () => {
  const rng = new Rng(3);
  const cases: Array<[number, number, number, number, number]> = [
    // B, H, Tq, Tk, D
    [1, 1, 1, 1, 1],
    [2, 3, 5, 5, 7],
    [1, 2, 13, 13, 16],
    [2, 1, 9, 9, 33],
    [1, 2, 3, 11, 8], // queries at the end of a longer key sequence (KV cache)
    [1, 4, 32, 32, 64],
  ];
  for (const [B, H, Tq, Tk, D] of cases) {
    const q = randn([B, H, Tq, D], rng), k = randn([B, H, Tk, D], rng), v = randn([B, H, Tk, D], rng);
    const masks: Array<[string, AttentionMask]> = [["causal", causalMask(Tq, Tk)], [
      "random",
      randomMask(Tq, Tk, rng),
    ]];
    masks.push(["window", windowMask(Tq, Tk, 3)]);
    if (Tq === Tk) masks.push(["full", fullMask(Tq)]);
    for (const [name, mask] of masks) {
      for (const p of [0, 0.3]) {
        const what = `B=${B} H=${H} Tq=${Tq} Tk=${Tk} D=${D} ${name} mask dropout=${p}`;
        const js = runAttention("js", q, k, v, mask, p), wasm = runAttention("wasm", q, k, v, mask, p);
        assertAllClose(wasm.probs, js.probs, 1e-6, 1e-5, `probs ${what}`);
        assertAllClose(wasm.y, js.y, 1e-5, 1e-4, `y ${what}`);
        assertAllClose(wasm.dq, js.dq, 1e-5, 1e-4, `dq ${what}`);
        assertAllClose(wasm.dk, js.dk, 1e-5, 1e-4, `dk ${what}`);
        assertAllClose(wasm.dv, js.dv, 1e-5, 1e-4, `dv ${what}`);
      }
    }
  }
});

// selfAttention(qkv) against the composition it replaces: split, heads, attention, merge.
function composed(qkv: Tensor, H: number, mask: AttentionMask, dropout: number): Tensor {
  const [B, T, C3] = qkv.shape, C = C3 / 3, D = C / H;
  const heads = (t: Tensor) => permute(reshape(t, [B, T, H, D]), [0, 2, 1, 3]);
  const y = attention(
    heads(narrow(qkv, 2, 0, C)),
    heads(narrow(qkv, 2, C, C)),
    heads(narrow(qkv, 2, 2 * C, C)),
    mask,
    {
      dropout,
      rng: new Rng(21),
    },
  );
  return reshape(permute(y, [0, 2, 1, 3]), [B, T, C]);
}

function gradOf(
  qkv: Tensor,
  f: (x: Tensor) => Tensor,
): { y: Float32Array | Float64Array; g: Float32Array | Float64Array } {
  qkv.zeroGrad();
  const y = f(qkv);
  const dy = new Float32Array(y.size);
  const r = new Rng(22);
  for (let i = 0; i < dy.length; i++) dy[i] = r.normal();
  y.backward(qkv.dtype === "float64" ? Float64Array.from(dy) : dy);
  return { y: y.data.slice(), g: qkv.grad!.slice() };
}

Deno.test("selfAttention on the packed qkv equals split + permute + attention + merge, on both backends", () => {
  const rng = new Rng(4);
  for (const [B, T, H, D] of [[1, 1, 1, 1], [2, 7, 3, 5], [3, 16, 2, 8], [2, 33, 4, 16]]) {
    const qkv = randn([B, T, 3 * H * D], rng);
    for (const backend of ["js", "wasm"] as const) {
      for (
        const [name, mask] of [["causal", causalMask(T)], ["random", randomMask(T, T, rng)], [
          "window",
          windowMask(T, T, 4),
        ]] as const
      ) {
        for (const p of [0, 0.25]) {
          const what = `${backend} B=${B} T=${T} H=${H} D=${D} ${name} dropout=${p}`;
          const a = withBackend(
            backend,
            () => gradOf(qkv, (x) => selfAttention(x, H, mask, { dropout: p, rng: new Rng(21) })),
          );
          const b = withBackend(backend, () => gradOf(qkv, (x) => composed(x, H, mask, p)));
          assertAllClose(a.y, b.y, 1e-6, 1e-5, `y ${what}`);
          assertAllClose(a.g, b.g, 1e-6, 1e-5, `dqkv ${what}`);
        }
      }
    }
  }
});

Deno.test("gradcheck: selfAttention (float64) with causal, random and dropout masks", () => {
  const rng = new Rng(5);
  const qkv = randn64([2, 5, 3 * 2 * 3], rng);
  checkGrad((x) => selfAttention(x, 2, causalMask(5)), [qkv]);
  checkGrad((x) => selfAttention(x, 2, randomMask(5, 5, new Rng(6))), [qkv]);
  checkGrad((x) => selfAttention(x, 2, causalMask(5), { dropout: 0.2, rng: new Rng(7) }), [qkv]);
});

Deno.test("wasm attention split over 2 threads equals one thread", async () => {
  const rng = new Rng(8);
  const qkv = randn([4, 64, 3 * 4 * 32], rng);
  const mask = causalMask(64);
  const run = () =>
    withBackend(
      "wasm",
      () => gradOf(qkv, (x) => selfAttention(x, 4, mask, { dropout: 0.1, rng: new Rng(9) })),
    );
  const { one, two } = await onOneAndTwoThreads(run);
  assertAllClose(two.y, one.y, 0, 0, "y");
  assertAllClose(two.g, one.g, 0, 0, "dqkv");
});

Deno.test("selfAttention: shape errors are clear", () => {
  const x = Tensor.zeros([2, 3, 10]);
  let msg = "";
  try {
    selfAttention(x, 2, causalMask(3));
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes("(B, T, 3C)")) throw new Error(`unexpected message: ${msg}`);
  try {
    selfAttention(Tensor.zeros([2, 3, 12]), 2, causalMask(4));
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes("mask is (4, 4)")) throw new Error(`unexpected message: ${msg}`);
});
