/**
 * The async decoders of a T5 (`greedyDecodeAsync`, `beamSearchAsync`) give the sync decoders' tokens and
 * hypotheses on the CPU (they share the bookkeeping; on the GPU they run once the T5's ops are there), and
 * leave the training flag as they found it.
 */
import { beamSearch, beamSearchAsync, greedyDecode, greedyDecodeAsync } from "../../lib/generate/seq2seq.ts";
import { sharpT5 } from "../_helpers/t5.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";

for (const nKvHead of [undefined, 1]) {
  Deno.test(`async greedy decoding and beam search equal the sync ones${nKvHead ? " (multi-query)" : ""}`, async () => {
    const model = sharpT5(nKvHead);
    const src = Int32Array.from([1, 2, 3, 10, 4, 4, 10, 0]); // two rows of 4, the second padded
    const lengths = Int32Array.from([4, 3]);
    for (const useCache of [true, false]) {
      const opts = { maxLen: 9, bosId: 8, eosId: 10, srcLengths: lengths, useCache };
      const sync = greedyDecode(model, src, 2, 4, opts).map((t) => [...t]);
      assertEquals(
        (await greedyDecodeAsync(model, src, 2, 4, opts)).map((t) => [...t]),
        sync,
        `cache ${useCache}`,
      );
    }
    model.train();
    for (const beamSize of [1, 3]) {
      const one = Int32Array.from([7, 6, 5, 4, 3, 10]);
      const opts = { beamSize, maxLen: 9, bosId: 8, eosId: 10, lengthPenalty: 0.6 };
      const sync = beamSearch(model, one, opts);
      const got = await beamSearchAsync(model, one, opts);
      assertEquals(
        got.map((h) => [[...h.tokens], h.logProb, h.score, h.finished]),
        sync.map((h) => [
          [...h.tokens],
          h.logProb,
          h.score,
          h.finished,
        ]),
      );
    }
    assertTrue(model.training, "the training flag was not restored");
    await assertRejects(
      () => beamSearchAsync(model, Int32Array.from([1, 10]), { beamSize: 0, maxLen: 9, bosId: 8, eosId: 10 }),
      "beamSize",
    );
  });
}
