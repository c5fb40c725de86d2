import { join } from "node:path";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { tokenizeCached } from "../../lib/data/token_cache.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("token cache: encoded once, read back identical; a changed tokenizer or a damaged file re-encodes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const corpus = { train: "hello world", val: "low", hash: "h1" };
    const tok = CharTokenizer.fromText(corpus.train + corpus.val);
    const first = await tokenizeCached(dir, corpus, tok);
    assertEquals(first.cached, false);
    const second = await tokenizeCached(dir, corpus, tok);
    assertEquals(second.cached, true);
    assertEquals([...second.train], [...tok.encode(corpus.train)]);
    assertEquals([...second.val], [...tok.encode(corpus.val)]);
    // another tokenizer (one more character) gets its own entry
    const other = await tokenizeCached(dir, corpus, CharTokenizer.fromText(corpus.train + corpus.val + "!"));
    assertEquals(other.cached, false);
    // truncate the cached files: they are not trusted
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.endsWith(".train.i32")) await Deno.writeFile(join(dir, e.name), new Uint8Array(3));
    }
    const again = await tokenizeCached(dir, corpus, tok);
    assertEquals(again.cached, false);
    assertEquals([...again.train], [...tok.encode(corpus.train)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("token cache: the same files split differently are another entry", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = CharTokenizer.fromText("abcdef");
    const a = await tokenizeCached(dir, { train: "abcd", val: "ef", hash: "same-files" }, tok);
    const b = await tokenizeCached(dir, { train: "ab", val: "cdef", hash: "same-files" }, tok);
    assertEquals([a.cached, b.cached], [false, false]);
    assertEquals([...b.train], [...tok.encode("ab")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
