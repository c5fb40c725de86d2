import { Rng } from "../../lib/random.ts";
import {
  add,
  attention,
  causalMask,
  crossEntropy,
  dropout,
  embedding,
  fullMask,
  gelu,
  layerNorm,
  linear,
  matmul,
  mean,
  mul,
  narrow,
  noGrad,
  permute,
  reshape,
  scale,
  softmax,
  sum,
  Tensor,
  transpose,
} from "../../lib/tensor/mod.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows } from "../_helpers/assert.ts";
import { checkGrad, randn64 } from "../_helpers/gradcheck.ts";

const rng = () => new Rng(42);

Deno.test("gradcheck: add and mul, same shape and suffix broadcasting", () => {
  const r = rng();
  const a = randn64([2, 3, 4], r), b = randn64([2, 3, 4], r), c = randn64([3, 4], r), d = randn64([4], r);
  checkGrad(add, [a, b]);
  checkGrad(add, [a, c]);
  checkGrad(add, [d, a]);
  checkGrad(mul, [a, b]);
  checkGrad(mul, [a, c]);
  checkGrad(mul, [d, a]);
});

Deno.test("gradcheck: scale, sum, mean", () => {
  const r = rng();
  const a = randn64([3, 5], r);
  checkGrad((x) => scale(x, -2.5), [a]);
  checkGrad(sum, [a]);
  checkGrad(mean, [a]);
});

Deno.test("gradcheck: matmul batched, shared right operand, and linear", () => {
  const r = rng();
  checkGrad(matmul, [randn64([2, 3, 4], r), randn64([2, 4, 5], r)]);
  checkGrad(matmul, [randn64([2, 3, 4], r), randn64([4, 5], r)]);
  checkGrad(matmul, [randn64([5, 7], r), randn64([7, 6], r)]);
  checkGrad((x, w, b) => linear(x, w, b), [randn64([2, 3, 6], r), randn64([5, 6], r), randn64([5], r)]);
  checkGrad((x, w) => linear(x, w, null), [randn64([4, 6], r), randn64([5, 6], r)]);
});

Deno.test("matmul and linear forward against hand values", () => {
  const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = Tensor.from([7, 8, 9, 10, 11, 12], [3, 2]);
  assertEquals(Array.from(matmul(a, b).data), [58, 64, 139, 154]);
  const w = Tensor.from([1, 0, 1, 0, 1, 0], [2, 3]); // rows: out features
  const bias = Tensor.from([0.5, -1], [2]);
  assertEquals(Array.from(linear(a, w, bias).data), [4.5, 1, 10.5, 4]);
});

Deno.test("gradcheck: reshape, permute, transpose, narrow", () => {
  const r = rng();
  const a = randn64([2, 3, 4], r);
  checkGrad((x) => reshape(x, [6, -1]), [a]);
  checkGrad((x) => permute(x, [2, 0, 1]), [a]);
  checkGrad((x) => transpose(x, 0, 2), [a]);
  checkGrad((x) => narrow(x, 2, 1, 2), [a]);
  checkGrad((x) => narrow(x, 1, 0, 1), [a]);
});

Deno.test("permute moves elements to the right places", () => {
  const a = Tensor.from([...Array(24).keys()], [2, 3, 4]);
  const p = permute(a, [1, 2, 0]); // (3, 4, 2): p[i,j,k] = a[k,i,j]
  assertEquals(p.shape, [3, 4, 2]);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      for (let k = 0; k < 2; k++) assertEquals(p.data[(i * 4 + j) * 2 + k], k * 12 + i * 4 + j);
    }
  }
});

Deno.test("gradcheck: embedding gather with repeated ids", () => {
  const r = rng();
  const ids = new Int32Array([0, 2, 2, 1, 0, 3]);
  checkGrad((w) => embedding(ids, [2, 3], w), [randn64([4, 5], r)]);
  assertThrows(() => embedding(new Int32Array([4]), [1], randn64([4, 5], r)), "outside the table of 4 rows");
});

Deno.test("gradcheck: layerNorm with and without bias", () => {
  const r = rng();
  const x = randn64([2, 3, 8], r, 2), w = randn64([8], r), b = randn64([8], r);
  checkGrad((x, w, b) => layerNorm(x, w, b), [x, w, b]);
  checkGrad((x, w) => layerNorm(x, w, null), [x, w]);
});

Deno.test("layerNorm forward: zero mean, unit variance (eps 1e-5)", () => {
  const x = Tensor.from([1, 2, 3, 4], [1, 4], "float64");
  const y = layerNorm(x, Tensor.full([4], 1, "float64"), Tensor.zeros([4], "float64"));
  const sd = Math.sqrt(1.25 + 1e-5);
  assertAllClose(y.data, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], 1e-12);
});

Deno.test("gradcheck: gelu; forward matches the erf form", () => {
  const r = rng();
  checkGrad(gelu, [randn64([50], r, 3)]);
  // gelu(1) = 0.5 · (1 + erf(1/√2)) = 0.8413447460685429
  assertClose(gelu(Tensor.from([1], [1], "float64")).data[0], 0.8413447460685429, 1e-14);
  assertClose(gelu(Tensor.from([1], [1])).data[0], 0.8413447460685429, 2e-7);
});

Deno.test("gradcheck: softmax; rows sum to one", () => {
  const r = rng();
  const x = randn64([3, 7], r, 3);
  checkGrad(softmax, [x]);
  const y = softmax(x);
  for (let i = 0; i < 3; i++) {
    assertClose(Array.from(y.data.slice(i * 7, i * 7 + 7)).reduce((a, b) => a + b), 1, 1e-12);
  }
});

Deno.test("gradcheck: dropout (fixed mask through a re-seeded rng); identity when p = 0 or eval", () => {
  const r = rng();
  const x = randn64([40], r);
  checkGrad((x) => dropout(x, 0.3, new Rng(5)), [x]);
  const y = noGrad(() => dropout(x, 0.5, new Rng(5)));
  const zeros = Array.from(y.data).filter((v) => v === 0).length;
  assertEquals(zeros > 5 && zeros < 35, true);
  assertEquals(dropout(x, 0.5, new Rng(5), false), x);
  assertEquals(dropout(x, 0, new Rng(5)), x);
});

Deno.test("causal mask: explicit lower triangle, offset for cached queries", () => {
  assertEquals(Array.from(causalMask(3).data), [1, 0, 0, 1, 1, 0, 1, 1, 1]);
  assertEquals(Array.from(causalMask(1, 4).data), [1, 1, 1, 1]);
  assertEquals(Array.from(causalMask(2, 3).data), [1, 1, 0, 1, 1, 1]);
  // more queries than keys: query i sees key j iff j ≤ i + (Tk − Tq), so the first rows see none
  assertEquals(Array.from(causalMask(4, 2).data), [0, 0, 0, 0, 1, 0, 1, 1]);
});

Deno.test("gradcheck: attention with causal and full masks, and with dropout", () => {
  const r = rng();
  const q = randn64([2, 2, 5, 4], r), k = randn64([2, 2, 5, 4], r), v = randn64([2, 2, 5, 4], r);
  checkGrad((q, k, v) => attention(q, k, v, causalMask(5)), [q, k, v]);
  checkGrad((q, k, v) => attention(q, k, v, fullMask(5)), [q, k, v]);
  checkGrad((q, k, v) => attention(q, k, v, causalMask(5), { dropout: 0.2, rng: new Rng(3) }), [q, k, v]);
  const q2 = randn64([2, 2, 2, 4], r);
  checkGrad((q, k, v) => attention(q, k, v, causalMask(2, 5)), [q2, k.detach(), v.detach()]);
});

Deno.test("attention equals softmax(q kᵀ/√d + mask) v computed from primitive ops", () => {
  const r = rng();
  const q = randn64([1, 1, 4, 3], r), k = randn64([1, 1, 4, 3], r), v = randn64([1, 1, 4, 3], r);
  const y = attention(q, k, v, causalMask(4));
  const s = scale(matmul(reshape(q, [4, 3]), transpose(reshape(k, [4, 3]), 0, 1)), 1 / Math.sqrt(3));
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) s.data[i * 4 + j] = -Infinity;
  const ref = matmul(softmax(s), reshape(v, [4, 3]));
  assertAllClose(y.data, ref.data, 1e-12);
  // the mask really blocks the future: changing the last key/value leaves earlier outputs alone
  const k2 = k.detach(), v2 = v.detach();
  for (let j = 0; j < 3; j++) {
    k2.data[9 + j] += 5;
    v2.data[9 + j] -= 3;
  }
  const y2 = attention(q, k2, v2, causalMask(4));
  assertAllClose(y2.data.slice(0, 9), y.data.slice(0, 9), 1e-12);
});

Deno.test("gradcheck: fused cross-entropy with an ignored row; known value", () => {
  const r = rng();
  const logits = randn64([6, 5], r, 2);
  const t = new Int32Array([0, 4, -1, 2, 2, 1]);
  checkGrad((x) => crossEntropy(x, t), [logits]);
  // uniform logits: loss = ln V
  assertClose(
    crossEntropy(Tensor.zeros([3, 7], "float64"), new Int32Array([1, 2, 3])).item(),
    Math.log(7),
    1e-12,
  );
});

Deno.test("shape errors are clear", () => {
  assertThrows(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 2])), "do not match");
  assertThrows(() => add(Tensor.zeros([2, 3]), Tensor.zeros([2])), "do not broadcast");
  assertThrows(() => reshape(Tensor.zeros([2, 3]), [4]), "cannot view");
  assertThrows(
    () =>
      attention(
        Tensor.zeros([1, 1, 2, 2]),
        Tensor.zeros([1, 1, 2, 2]),
        Tensor.zeros([1, 1, 2, 2]),
        causalMask(3),
      ),
    "mask",
  );
});
