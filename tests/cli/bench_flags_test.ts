/** The benches parse flags like every command: `--help` is a page, a bad value one line naming the flag as typed. */
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { canSpawn, runTask } from "./_task.ts";

const BENCHES = [
  "ab",
  "analysis_time",
  "attention_memory",
  "compare",
  "corpus_memory",
  "generate_throughput",
  "simd_peak",
];

Deno.test({
  name: "bench/*.ts --help prints the page; the old snake_case flags still work and are named as typed",
  ignore: !canSpawn,
  async fn() {
    const outs = await Promise.all(
      [...BENCHES, "train_throughput"].map((b) => runTask(["run", "-A", `bench/${b}.ts`], ["--help"])),
    );
    for (const o of outs) {
      assertEquals([o.code, o.stderr], [0, ""]);
      assertTrue(o.stdout.startsWith("usage: deno run") && o.stdout.includes("\n\nexamples:\n"), o.stdout);
    }
    const bad = await runTask(["run", "-A", "bench/train_throughput.ts"], [
      "--n_embd",
      "30",
      "--n_head",
      "4",
    ]);
    assertEquals([bad.code, bad.stderr], [
      2,
      "train_throughput: --n_embd (30) must be a multiple of --n_head (4)\n",
    ]);
  },
});
