import { join } from "node:path";
import { lossSpikes } from "../../lib/report/figures.ts";
import { renderReport } from "../../lib/report/report.ts";
import type { TrainPoint } from "../../lib/report/metrics.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

Deno.test("lossSpikes: a jump far above the last 10 points is flagged; noise is not", () => {
  const train: TrainPoint[] = Array.from(
    { length: 30 },
    (_, i) => ({ step: i + 1, loss: 3 - i * 0.01 + (i % 2) * 0.005 }),
  );
  assertEquals(lossSpikes(train), []);
  train[20] = { step: 21, loss: 4.5 };
  assertEquals(lossSpikes(train).map((p) => p.step), [21]);
});

Deno.test("the report marks clipped steps (grad norm above train.grad_clip) and loss spikes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = Array.from(
      { length: 20 },
      (_, i) =>
        JSON.stringify({
          step: i + 1,
          split: "train",
          loss: i === 15 ? 9 : 3 - i * 0.01,
          grad_norm: i < 3 ? 2.5 : 0.5,
        }),
    );
    await Deno.writeTextFile(join(dir, "metrics.jsonl"), lines.join("\n") + "\n");
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ train: { grad_clip: 1 } }));
    const html = await renderReport([dir]);
    assertTrue(
      html.includes("step 1: norm 2.500 &gt; clip 1 (clipped)") || html.includes("(clipped)"),
      "clip marks",
    );
    assertEquals((html.match(/\(clipped\)/g) ?? []).length, 3);
    assertTrue(html.includes("loss spike at step 16"), "spike mark");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
