import { splitPieces } from "../_helpers/corpus.ts";
import { scanCorpus, type SplitName, splitText, textCorpus } from "../../lib/data/corpus.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

const SPLITS: SplitName[] = ["train", "val", "test"];

/** About `chars` characters of text with 2-, 3- and 4-byte UTF-8 characters (surrogate pairs) mixed in. */
function mixedText(chars: number): string {
  const parts = ["abc ", "d\u00e9f ", "\u4e2d\u6587 ", "\ud83d\ude00", "\n", "x\ud834\udd1e "];
  let s = "";
  for (let i = 0; s.length < chars; i++) s += parts[(i * 7) % parts.length] + parts[i % parts.length];
  return s;
}

Deno.test("scanCorpus: a single file larger than a read chunk splits as its whole text does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = mixedText(1_500_000); // about 3.5 MB of UTF-8: several chunks, cuts between them
    await Deno.writeTextFile(`${dir}/one.txt`, text);
    for (const [vf, tf] of [[0.1, 0], [0.3, 0.2], [0.011, 0.013]]) {
      const scanned = await scanCorpus({
        corpus: "code",
        paths: [`${dir}/one.txt`],
        valFraction: vf,
        testFraction: tf,
      });
      const want = textCorpus(text, vf, tf);
      for (const s of SPLITS) assertEquals(await splitText(scanned, s), want[s], `${s} at ${vf}, ${tf}`);
      let pieces = 0, ends = 0;
      for await (const p of scanned.pieces("train")) (pieces++, ends += p.files);
      assertTrue(pieces > 2 && ends === 1, `${pieces} pieces, ${ends} file ends`);
      assertEquals(
        scanned.splitBytes.train + scanned.splitBytes.val + scanned.splitBytes.test,
        scanned.bytes,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scanCorpus: files larger than a read chunk are joined as whole files are; the char vocabulary streams", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const texts = [mixedText(700_000), "small \u00e9", mixedText(600_000).slice(3), "last"];
    for (let i = 0; i < texts.length; i++) await Deno.writeTextFile(`${dir}/f${i}.txt`, texts[i]);
    const c = await scanCorpus({ corpus: "code", paths: [dir], valFraction: 0.25 });
    assertEquals(await splitText(c, "train"), texts.slice(0, 3).join("\n"));
    assertEquals(await splitText(c, "val"), texts[3]);
    assertEquals(
      (await CharTokenizer.fromPieces(splitPieces(c))).vocab,
      CharTokenizer.fromText(texts.join("\n")).vocab,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scanCorpus: a single file's cuts that fall inside a surrogate pair move as they do in memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = "ab\ud83d\ude00c\ud83d\ude00\ud83d\ude00de\ud83d\ude00f\ud83d\ude00\ud83d\ude00";
    await Deno.writeTextFile(`${dir}/one.txt`, text);
    for (let v = 1; v < 10; v++) {
      for (const t of [0, 0.05, 0.1, 0.15, 0.2, 0.3]) {
        const vf = v / 20;
        const scanned = await scanCorpus({
          corpus: "code",
          paths: [`${dir}/one.txt`],
          valFraction: vf,
          testFraction: t,
        });
        const want = textCorpus(text, vf, t);
        for (const s of SPLITS) assertEquals(await splitText(scanned, s), want[s], `${s} at ${vf}, ${t}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
