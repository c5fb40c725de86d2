/**
 * Every shipped config, 20 steps on js and wasm at 1 and 2 threads (and the quickstart on blas where the machine
 * matches the recording), gives the numbers recorded in golden.json (metrics without time and memory fields,
 * samples, final weights). See golden.ts.
 *
 * @module
 */
import { setBackend } from "../../lib/kernels/backend.ts";
import { setThreads } from "../../lib/kernels/wasm/pool.ts";
import { assertEquals } from "../_helpers/assert.ts";
import { blasMachine, caseKey, goldenCases, readGolden, runCase } from "./golden.ts";

Deno.test("golden: every shipped config gives the recorded numbers on every backend and thread count", async (t) => {
  const golden = await readGolden();
  const cases = await goldenCases();
  assertEquals(Object.keys(golden).sort(), cases.map(caseKey).sort(), "golden.json lists every case");
  const out = await Deno.makeTempDir({ prefix: "lcm-golden-" });
  try {
    for (const c of cases) {
      // blas digits belong to one OpenBLAS build on one CPU: compared only where both match
      const ignore = c.backend === "blas" && golden[caseKey(c)].machine !== blasMachine();
      await t.step({
        name: caseKey(c),
        ignore,
        fn: async () => assertEquals(await runCase(c, out), golden[caseKey(c)]),
      });
    }
  } finally {
    setBackend("auto");
    setThreads(1);
    await Deno.remove(out, { recursive: true });
  }
});
