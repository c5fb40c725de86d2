/**
 * Every shipped config, 20 steps on js and wasm at 1 and 2 threads, gives the numbers recorded in golden.json
 * (metrics without time and memory fields, samples, final weights). See golden.ts.
 *
 * @module
 */
import { setBackend } from "../../lib/kernels/backend.ts";
import { setThreads } from "../../lib/kernels/wasm/pool.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { caseKey, goldenCases, readGolden, runCase } from "./golden.ts";

Deno.test("golden: every shipped config gives the recorded numbers on every backend and thread count", async (t) => {
  const golden = await readGolden();
  const cases = await goldenCases();
  assertEquals(Object.keys(golden).sort(), cases.map(caseKey).sort(), "golden.json lists every case");
  const out = await Deno.makeTempDir({ prefix: "lcm-golden-" });
  try {
    for (const c of cases) {
      await t.step(caseKey(c), async () => {
        assertEquals(await runCase(c, out), golden[caseKey(c)]);
      });
    }
  } finally {
    setBackend("auto");
    setThreads(1);
    await Deno.remove(out, { recursive: true });
  }
});
