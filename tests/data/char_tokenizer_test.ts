import { splitPieces } from "../_helpers/corpus.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { loadCorpus, scanCorpus } from "../../lib/data/corpus.ts";
import { loadTokenizer, saveTokenizer } from "../../lib/data/tokenizer.ts";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";

Deno.test("CharTokenizer: vocab is the sorted unique code points", () => {
  const tok = CharTokenizer.fromText("ba!\n a");
  assertEquals([...tok.vocab], ["\n", " ", "!", "a", "b"]);
  assertEquals(tok.vocabSize, 5);
  assertEquals([...tok.encode("ab\n")], [3, 4, 0]);
});

Deno.test("CharTokenizer: round-trips emoji and CJK by code point", () => {
  const text = "let 猫 = '😀🎉';\n// 日本語 ok 😀";
  const tok = CharTokenizer.fromText(text);
  // Astral characters are one token each, not two UTF-16 units.
  assertEquals(tok.vocab.includes("😀"), true);
  assertEquals(tok.vocab.every((ch) => [...ch].length === 1), true);
  const ids = tok.encode(text);
  assertEquals(ids.length, [...text].length);
  assertEquals(tok.decode(ids), text);
  // Sorted by code point: the emoji (U+1F389, U+1F600) come after CJK (U+65E5 …).
  assertEquals(tok.vocab.slice(-2), ["🎉", "😀"]);
});

Deno.test("CharTokenizer: unknown character names it and its code point", () => {
  const tok = CharTokenizer.fromText("abc");
  assertThrows(() => tok.encode("cabé"), `character "é" (U+00E9) is not in the tokenizer's vocabulary`);
  assertThrows(() => tok.encode("a😀"), "(U+1F600)");
  assertThrows(() => tok.decode([0, 7]), "token id 7", "position 1");
});

Deno.test("CharTokenizer: toJSON / fromJSON round-trip and validation", () => {
  const tok = CharTokenizer.fromText("hello 世界");
  const json = JSON.parse(JSON.stringify(tok));
  assertEquals(json, { type: "char", vocab: [...tok.vocab] });
  assertEquals([...CharTokenizer.fromJSON(json).vocab], [...tok.vocab]);

  assertThrows(() => CharTokenizer.fromJSON(null), "must be an object");
  assertThrows(() => CharTokenizer.fromJSON({ type: "bpe", vocab: [] }), `type must be "char"`, `"bpe"`);
  assertThrows(() => CharTokenizer.fromJSON({ type: "char" }), "vocab must be an array");
  assertThrows(
    () => CharTokenizer.fromJSON({ type: "char", vocab: ["a", "b", "a"] }),
    "vocab[2] duplicates vocab[0]",
  );
  assertThrows(
    () => CharTokenizer.fromJSON({ type: "char", vocab: ["ab"] }),
    "vocab[0] must be a single character",
  );
  assertThrows(() => CharTokenizer.fromJSON({ type: "char", vocab: [1] }), "vocab[0]");
});

Deno.test("saveTokenizer / loadTokenizer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = CharTokenizer.fromText("round trip ✓");
    const path = `${dir}/tokenizer.json`;
    await saveTokenizer(path, tok);
    const back = await loadTokenizer(path);
    assertTrue(back instanceof CharTokenizer);
    assertEquals([...back.vocab], [...tok.vocab]);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["tokenizer.json"]);
    await Deno.writeTextFile(path, "{not json");
    await assertRejects(() => loadTokenizer(path), path, "not valid JSON");
    await Deno.writeTextFile(path, `{"type":"char","vocab":["x","x"]}`);
    await assertRejects(() => loadTokenizer(path), path, "duplicates");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keepKnown leaves out (and counts) characters the tokenizer never saw", () => {
  const tok = CharTokenizer.fromText("abc ");
  assertEquals(tok.keepKnown("a b😀c!"), { text: "a bc", dropped: 2 });
  assertEquals(tok.keepKnown("cab"), { text: "cab", dropped: 0 });
});

Deno.test("CharTokenizer.fromPieces: a corpus streamed file by file gives fromText's vocabulary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "héllo \ud83d\ude00");
    await Deno.writeTextFile(`${dir}/b.txt`, "wörld\t");
    await Deno.writeTextFile(`${dir}/c.txt`, "zebra\u00a0");
    const opts = { corpus: "code" as const, paths: [dir], valFraction: 0.3 };
    const loaded = await loadCorpus(opts), scanned = await scanCorpus(opts);
    const streamed = await CharTokenizer.fromPieces(splitPieces(scanned));
    assertEquals(streamed.vocab, CharTokenizer.fromText(loaded.train + loaded.val).vocab);
    assertEquals(
      await CharTokenizer.fromPieces(["ab", "\ud83d\ude00", "a"]),
      CharTokenizer.fromText("ab\ud83d\ude00a"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
