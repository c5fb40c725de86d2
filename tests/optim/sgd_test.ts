import { type DType, Tensor } from "../../lib/tensor/tensor.ts";
import type { NamedParam } from "../../lib/optim/param.ts";
import { type Optimizer, SGD } from "../../lib/optim/sgd.ts";
import { assertAllClose, assertEquals, assertThrows } from "../_helpers/assert.ts";

function param(name: string, values: number[], dtype: DType = "float64"): NamedParam {
  const tensor = Tensor.from(values, [values.length], dtype);
  tensor.requiresGrad = true;
  return { name, tensor };
}

const grads = [[1, -2], [0.5, 0.25], [-3, 1]];

/** PyTorch's SGD loop (dampening 0), written out in float64. */
function reference(p0: number[], lr: number, mu: number, wd: number, nesterov: boolean): number[] {
  const p = [...p0];
  let buf: number[] | null = null;
  for (const g of grads) {
    const d = g.map((gi, i) => gi + wd * p[i]);
    let step = d;
    if (mu > 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => mu * b + d[i]);
      step = nesterov ? d.map((di, i) => di + mu * buf![i]) : buf;
    }
    for (let i = 0; i < p.length; i++) p[i] -= lr * step[i];
  }
  return p;
}

for (
  const [mu, wd, nesterov] of [[0, 0, false], [0, 0.1, false], [0.9, 0, false], [0.9, 0.1, false], [
    0.9,
    0.1,
    true,
  ]] as const
) {
  Deno.test(`SGD: 3 steps match PyTorch's loop (momentum ${mu}, wd ${wd}, nesterov ${nesterov})`, () => {
    const p = param("w", [1, 2]);
    const opt: Optimizer = new SGD([p], { lr: 0.1, momentum: mu, weightDecay: wd, nesterov });
    for (const g of grads) {
      p.tensor.grad = new Float64Array(g);
      opt.step();
    }
    assertAllClose(p.tensor.data, reference([1, 2], 0.1, mu, wd, nesterov), 1e-15, 1e-14);
  });
}

Deno.test("SGD: hand-computed momentum steps; lr override; zeroGrad", () => {
  const p = param("w", [0]);
  const opt = new SGD([p], { lr: 1, momentum: 0.5 });
  p.tensor.grad = new Float64Array([1]);
  opt.step(); // buf = 1, p = -1
  opt.step(0.5); // buf = 1.5, p = -1.75
  assertAllClose(p.tensor.data, [-1.75], 0, 0);
  assertEquals(opt.stateDict().tensors["momentum_buffer.w"], new Float32Array([1.5]));
  opt.zeroGrad();
  assertEquals(p.tensor.grad, null);
  opt.step(); // no grad: nothing moves
  assertAllClose(p.tensor.data, [-1.75], 0, 0);
  assertEquals(opt.stepCount, 3);
});

Deno.test("SGD: stateDict round-trip gives identical steps; load errors name the buffer", () => {
  // float32 params: the state dict holds float32 copies, so the round trip is exact.
  const a = param("a", [1, 2, 3], "float32");
  const tied = { name: "a_tied", tensor: a.tensor };
  const opt = new SGD([a, tied], { lr: 0.1, momentum: 0.9, nesterov: true });
  a.tensor.grad = new Float32Array([0.3, -0.2, 0.1]);
  opt.step();
  const sd = opt.stateDict();
  assertEquals(Object.keys(sd.tensors), ["momentum_buffer.a"]);
  const b = param("a", [...a.tensor.data], "float32");
  const opt2 = new SGD([b], { lr: 0.1, momentum: 0.9, nesterov: true });
  opt2.loadStateDict(sd);
  b.tensor.grad = new Float32Array([0.5, 0.5, -1]);
  a.tensor.grad = new Float32Array([0.5, 0.5, -1]);
  opt.step();
  opt2.step();
  assertEquals(b.tensor.data, a.tensor.data);
  assertThrows(
    () => opt2.loadStateDict({ step: 1, tensors: {} }),
    "SGD.loadStateDict",
    `missing "momentum_buffer.a"`,
  );
  const plain = new SGD([b], { lr: 0.1 });
  assertEquals(plain.stateDict(), { step: 0, tensors: {} });
  assertThrows(() => plain.loadStateDict(sd), `unknown entry "momentum_buffer.a"`);
});

Deno.test("SGD: rejects bad options", () => {
  const p = param("w", [1]);
  assertThrows(() => new SGD([p], { lr: 0.1, nesterov: true }), "nesterov");
  assertThrows(() => new SGD([p], { lr: 0.1, momentum: -1 }), "momentum");
  assertThrows(() => new SGD([p], { lr: Infinity }), "lr");
});
