import { onOneAndTwoThreads, withBackend } from "../_helpers/backend.ts";
import { relativePositionBuckets } from "../../lib/kernels/relpos.ts";
import { Rng } from "../../lib/random.ts";
import {
  type AttentionMask,
  attentionWithBias,
  causalMask,
  relativePositionBias,
} from "../../lib/tensor/mod.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertAllClose } from "../_helpers/assert.ts";

function randn(shape: number[], rng: Rng): Tensor {
  const t = Tensor.zeros(shape, "float32", true);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

// A random mask (60% visible) whose first row sees nothing.
function randomMask(Tq: number, Tk: number, rng: Rng): AttentionMask {
  const data = new Uint8Array(Tq * Tk);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.6 ? 1 : 0;
  data.fill(0, 0, Tk);
  return { Tq, Tk, data };
}

interface Case {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
}

// Output, probabilities and gradients (q, k, v, the bucket table) of T5's biased attention on one backend.
function run(
  backend: "js" | "wasm",
  c: Case,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  table: Tensor,
  mask: AttentionMask | null,
  lengths: Int32Array | null,
  dropout: number,
) {
  return withBackend(backend, () => {
    for (const t of [q, k, v, table]) t.zeroGrad();
    const buckets = relativePositionBuckets(c.Tq, c.Tk, {
      bidirectional: true,
      numBuckets: 8,
      maxDistance: 16,
    });
    const bias = relativePositionBias(table, buckets, c.Tq, c.Tk);
    const y = attentionWithBias(q, k, v, bias, mask, { keyLengths: lengths, dropout, rng: new Rng(5) });
    const r = new Rng(6), dy = new Float32Array(y.size).map(() => r.normal());
    y.backward(dy);
    return {
      y: y.data.slice(),
      dq: q.grad!.slice(),
      dk: k.grad!.slice(),
      dv: v.grad!.slice(),
      dtable: table.grad!.slice(),
    };
  });
}

const CASES: Case[] = [
  { B: 1, H: 1, Tq: 1, Tk: 1, D: 1 },
  { B: 2, H: 3, Tq: 5, Tk: 5, D: 7 },
  { B: 3, H: 2, Tq: 13, Tk: 17, D: 16 }, // cross-attention: more keys than queries
  { B: 2, H: 4, Tq: 32, Tk: 32, D: 33 },
];

Deno.test("wasm biased attention (T5) equals the js loops: bias and its table gradient, masks, key lengths, dropout", () => {
  const rng = new Rng(1);
  for (const c of CASES) {
    const { B, H, Tq, Tk, D } = c;
    const q = randn([B, H, Tq, D], rng), k = randn([B, H, Tk, D], rng), v = randn([B, H, Tk, D], rng);
    const table = randn([8, H], rng);
    const lengths = Int32Array.from({ length: B }, (_, b) => Math.max(1, Tk - 2 * b));
    const masks: Array<[string, AttentionMask | null]> = [["none", null], [
      "random",
      randomMask(Tq, Tk, rng),
    ]];
    if (Tq === Tk) masks.push(["causal", causalMask(Tq)]);
    for (const [name, mask] of masks) {
      for (const lens of [null, lengths]) {
        for (const p of [0, 0.3]) {
          const what = `B=${B} H=${H} Tq=${Tq} Tk=${Tk} D=${D} mask=${name} lengths=${
            lens !== null
          } dropout=${p}`;
          const js = run("js", c, q, k, v, table, mask, lens, p);
          const wasm = run("wasm", c, q, k, v, table, mask, lens, p);
          for (const key of ["y", "dq", "dk", "dv", "dtable"] as const) {
            assertAllClose(wasm[key], js[key], 1e-5, 1e-4, `${key} ${what}`);
          }
        }
      }
    }
  }
});

Deno.test("wasm biased attention split over 2 threads equals one thread, bias gradient included", async () => {
  const rng = new Rng(2);
  const c = { B: 4, H: 4, Tq: 64, Tk: 64, D: 32 };
  const q = randn([4, 4, 64, 32], rng), k = randn([4, 4, 64, 32], rng), v = randn([4, 4, 64, 32], rng);
  const table = randn([8, 4], rng);
  const lengths = Int32Array.of(64, 50, 33, 64);
  const f = () => run("wasm", c, q, k, v, table, causalMask(64), lengths, 0.1);
  const { one, two } = await onOneAndTwoThreads(f);
  for (const key of ["y", "dq", "dk", "dv", "dtable"] as const) assertAllClose(two[key], one[key], 0, 0, key);
});
