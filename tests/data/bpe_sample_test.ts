import { bpeTrainingText } from "../../lib/data/bpe_sample.ts";
import { loadCorpus, scanCorpus } from "../../lib/data/corpus.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("bpeTrainingText: the training text up to the budget, every k-th file (cut to the budget) above", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (let i = 0; i < 7; i++) await Deno.writeTextFile(`${dir}/f${i}.txt`, `file ${i} `.repeat(10)); // 70 B each
    const opts = { corpus: "code" as const, paths: [dir], valFraction: 0.1 };
    const scanned = await scanCorpus(opts), loaded = await loadCorpus(opts);
    assertEquals(scanned.trainFiles.length, 6);
    assertEquals(await bpeTrainingText(scanned), loaded.train);
    assertEquals(await bpeTrainingText(scanned, 10_000), loaded.train);
    // 6 · 70 + 5 separators = 425 bytes, budget 200: k = 3, files 0 and 3
    const text = (i: number) => `file ${i} `.repeat(10);
    assertEquals(await bpeTrainingText(scanned, 200), [text(0), text(3)].join("\n"));
    assertEquals(await bpeTrainingText(scanned, 50), text(0).slice(0, 50)); // k = 9: file 0 only
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
