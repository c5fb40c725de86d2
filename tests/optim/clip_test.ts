import { Tensor } from "../../lib/tensor/tensor.ts";
import type { NamedParam } from "../../lib/optim/param.ts";
import { clipGradNorm, firstNonFinite, gradNorm } from "../../lib/optim/clip.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows } from "../_helpers/assert.ts";

function withGrad(name: string, grad: number[] | null): NamedParam {
  const tensor = Tensor.zeros([grad?.length ?? 1], "float32", true);
  tensor.grad = grad === null ? null : new Float32Array(grad);
  return { name, tensor };
}

Deno.test("gradNorm: global L2 norm, null grads skipped, tied tensors once", () => {
  const a = withGrad("a", [3, 4]);
  const ps = [a, withGrad("b", [12]), withGrad("c", null), { name: "a_tied", tensor: a.tensor }];
  assertClose(gradNorm(ps), 13, 0);
  assertEquals(gradNorm([]), 0);
});

Deno.test("clipGradNorm: scales to exactly the max norm, returns the norm before", () => {
  const ps = [withGrad("a", [3, 4]), withGrad("b", [12])];
  assertClose(clipGradNorm(ps, 1), 13, 0);
  assertClose(gradNorm(ps), 1, 1e-6);
  const s = 1 / (13 + 1e-6);
  assertAllClose(ps[0].tensor.grad!, [3 * s, 4 * s], 0, 1e-7);
  assertAllClose(ps[1].tensor.grad!, [12 * s], 0, 1e-7);
});

Deno.test("clipGradNorm: leaves small or non-finite gradients alone; tied tensor scaled once", () => {
  const a = withGrad("a", [0.375, 0.5]);
  assertClose(clipGradNorm([a], 1), 0.625, 0);
  assertAllClose(a.tensor.grad!, [0.375, 0.5], 0, 0);
  const t = withGrad("t", [6, 8]);
  clipGradNorm([t, { name: "t2", tensor: t.tensor }], 5);
  assertClose(gradNorm([t]), 5, 1e-6);
  const n = withGrad("n", [1, NaN]);
  assertEquals(clipGradNorm([n], 1), NaN);
  assertEquals(n.tensor.grad![0], 1);
  assertThrows(() => clipGradNorm([a], 0), "maxNorm");
});

Deno.test("firstNonFinite: names the first parameter and index with NaN/Inf", () => {
  const ps = [
    withGrad("ok", [1, 2]),
    withGrad("none", null),
    withGrad("bad", [0, 1, NaN]),
    withGrad("inf", [Infinity]),
  ];
  assertEquals(firstNonFinite(ps), { name: "bad", index: 2, value: NaN });
  assertEquals(firstNonFinite(ps.slice(3)), { name: "inf", index: 0, value: Infinity });
  assertEquals(firstNonFinite([withGrad("neg", [-Infinity])]), { name: "neg", index: 0, value: -Infinity });
  assertEquals(firstNonFinite(ps.slice(0, 2)), null);
});
