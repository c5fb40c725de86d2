import { downsampleMinMax } from "../../lib/report/downsample.ts";
import { logTicks, yExtent } from "../../lib/report/logticks.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

Deno.test("downsampleMinMax: short series are kept whole", () => {
  assertEquals(downsampleMinMax([5, 4, 3], 10), [0, 1, 2]);
});

Deno.test("downsampleMinMax: respects the budget, keeps ends and spikes, stays ordered", () => {
  const ys = Array.from({ length: 5000 }, (_, i) => Math.sin(i / 50));
  ys[1234] = 40; // spike
  ys[4321] = -40; // dip
  const idx = downsampleMinMax(ys, 1000);
  assertTrue(idx.length <= 1000, `kept ${idx.length}`);
  assertTrue(idx.length >= 900, `kept only ${idx.length}`);
  assertEquals(idx[0], 0);
  assertEquals(idx[idx.length - 1], 4999);
  assertTrue(idx.includes(1234) && idx.includes(4321), "spike and dip survive");
  for (let i = 1; i < idx.length; i++) assertTrue(idx[i] > idx[i - 1], "strictly increasing");
});

Deno.test("downsampleMinMax: rejects a tiny budget", () => {
  assertThrows(() => downsampleMinMax([1, 2, 3, 4, 5], 3), "maxPoints");
});

Deno.test("logTicks: 1-2-5 per decade, then 1-2-3-5, then 1…9; none for tiny ranges", () => {
  assertEquals(logTicks(3, 98), [5, 10, 20, 50]);
  assertEquals(logTicks(0.3, 2.3), [0.5, 1, 2]);
  assertEquals(logTicks(17, 95), [20, 30, 50]);
  assertEquals(logTicks(2.5, 9), [3, 4, 5, 6, 7, 8, 9]);
  assertEquals(logTicks(4.1, 4.9), undefined);
  assertEquals(logTicks(0, 10), undefined);
  assertEquals(yExtent([[{ y: 2 }, { y: -1 }], [], [{ y: 7 }]]), [-1, 7]);
  assertEquals(yExtent([[]]), undefined);
});
