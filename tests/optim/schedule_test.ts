import { constantLr, cosineWithWarmup } from "../../lib/optim/schedule.ts";
import { assertClose, assertThrows } from "../_helpers/assert.ts";

Deno.test("cosineWithWarmup: nanoGPT get_lr values", () => {
  const lr = 1e-3, minLr = 1e-4;
  const f = cosineWithWarmup({ lr, minLr, warmupSteps: 10, decaySteps: 110 });
  assertClose(f(0), lr / 11, 1e-15, "first step");
  assertClose(f(9), lr * 10 / 11, 1e-15, "last warmup step");
  assertClose(f(10), lr, 1e-15, "end of warmup");
  assertClose(f(60), (lr + minLr) / 2, 1e-15, "midpoint");
  assertClose(f(35), minLr + 0.5 * (1 + Math.SQRT1_2) * (lr - minLr), 1e-15, "quarter");
  assertClose(f(110), minLr, 1e-15, "end");
  assertClose(f(500), minLr, 0, "after end");
  // Monotone decreasing after warmup.
  for (let it = 10; it < 120; it++) if (f(it + 1) > f(it)) throw new Error(`not decreasing at ${it}`);
});

Deno.test("cosineWithWarmup: no warmup, empty cosine, and invalid options", () => {
  const f = cosineWithWarmup({ lr: 1, minLr: 0, warmupSteps: 0, decaySteps: 4 });
  assertClose(f(0), 1, 0);
  assertClose(f(2), 0.5, 1e-15);
  const g = cosineWithWarmup({ lr: 1, minLr: 0.1, warmupSteps: 3, decaySteps: 3 });
  assertClose(g(2), 0.75, 1e-15);
  assertClose(g(3), 0.1, 0);
  assertThrows(() => cosineWithWarmup({ lr: 1, minLr: 0, warmupSteps: 5, decaySteps: 4 }), "decaySteps");
  assertThrows(() => cosineWithWarmup({ lr: 1, minLr: 0, warmupSteps: -1, decaySteps: 4 }), "warmupSteps");
  assertThrows(() => cosineWithWarmup({ lr: NaN, minLr: 0, warmupSteps: 0, decaySteps: 4 }), "finite");
});

Deno.test("constantLr", () => {
  const f = constantLr(3e-4);
  assertClose(f(0), 3e-4, 0);
  assertClose(f(1e6), 3e-4, 0);
});
