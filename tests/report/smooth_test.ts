import { emaDebiased, trailingMean } from "../../lib/report/smooth.ts";
import { assertAllClose, assertClose, assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("emaDebiased: known answers for beta 0.5", () => {
  // ema: 0.5, 1.25, 2.125; debias by 1 - 0.5^t = 0.5, 0.75, 0.875
  assertAllClose(emaDebiased([1, 2, 3], 0.5), [1, 1.25 / 0.75, 2.125 / 0.875], 1e-12);
});

Deno.test("emaDebiased: known answers for beta 0.9", () => {
  // ema_1 = 0.4, ema_2 = 0.36 + 0.2 = 0.56 → /(1 - 0.81) = 2.947368…
  const out = emaDebiased([4, 2], 0.9);
  assertClose(out[0], 4, 1e-12);
  assertClose(out[1], 0.56 / 0.19, 1e-12);
});

Deno.test("emaDebiased: first point equals x1, constants stay constant, beta 0 is the identity", () => {
  assertClose(emaDebiased([7.25, 1, 1], 0.99)[0], 7.25, 1e-12);
  assertAllClose(emaDebiased([3, 3, 3, 3, 3], 0.95), [3, 3, 3, 3, 3], 1e-12);
  assertEquals(emaDebiased([1, 5, 2], 0), [1, 5, 2]);
  assertEquals(emaDebiased([], 0.9), []);
});

Deno.test("emaDebiased: rejects beta outside [0, 1)", () => {
  assertThrows(() => emaDebiased([1], 1), "beta");
  assertThrows(() => emaDebiased([1], -0.1), "beta");
  assertThrows(() => emaDebiased([1], NaN), "beta");
});

Deno.test("trailingMean: known answers", () => {
  assertAllClose(trailingMean([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5], 1e-12);
  assertAllClose(trailingMean([2, 4, 6, 8], 3), [2, 3, 4, 6], 1e-12);
  assertAllClose(trailingMean([1, 2, 3], 10), [1, 1.5, 2], 1e-12);
  assertEquals(trailingMean([4, 5], 1), [4, 5]);
});

Deno.test("trailingMean and emaDebiased never look at the future", () => {
  const a = [3, 1, 4, 1, 5, 9, 2, 6];
  const b = [...a.slice(0, 5), 100, -100, 1e6];
  assertEquals(trailingMean(a, 3).slice(0, 5), trailingMean(b, 3).slice(0, 5));
  assertEquals(emaDebiased(a, 0.8).slice(0, 5), emaDebiased(b, 0.8).slice(0, 5));
});

Deno.test("trailingMean: rejects a bad window", () => {
  assertThrows(() => trailingMean([1], 0), "window");
  assertThrows(() => trailingMean([1], 1.5), "window");
});
