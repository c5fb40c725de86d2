import { join } from "node:path";
import { Batcher, evalWindows } from "../../lib/data/batcher.ts";
import { BpeTokenizer } from "../../lib/data/bpe.ts";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { type CorpusFiles, loadCorpus, scanCorpus, textCorpus } from "../../lib/data/corpus.ts";
import { tokenizeCached, type TokenizedCorpus } from "../../lib/data/token_cache.ts";
import { readTokens } from "../../lib/data/token_source.ts";
import type { Tokenizer } from "../../lib/data/tokenizer.ts";
import { Rng } from "../../lib/random.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

const all = (t: TokenizedCorpus, split: "train" | "val") => [...readTokens(t[split], 0, t[split].length)];

async function withDirs(f: (cache: string, corpusDir: string) => Promise<void>): Promise<void> {
  const cache = await Deno.makeTempDir(), corpusDir = await makeCodeCorpus(5, 2000);
  try {
    await f(cache, corpusDir);
  } finally {
    await Deno.remove(cache, { recursive: true });
    await Deno.remove(corpusDir, { recursive: true });
  }
}

async function cached(dir: string, corpus: CorpusFiles, tok: Tokenizer, warnings: string[] = []) {
  const t = await tokenizeCached(dir, corpus, tok, { warn: (l) => warnings.push(l) });
  try {
    return { cached: t.cached, train: all(t, "train"), val: all(t, "val") };
  } finally {
    t.close();
  }
}

Deno.test("token cache: streamed shards hold the ids of the joined split texts; a rerun reads them back", async () => {
  await withDirs(async (cache, corpusDir) => {
    const opts = { corpus: "code" as const, paths: [corpusDir], valFraction: 0.3 };
    const loaded = await loadCorpus(opts), scanned = await scanCorpus(opts);
    const tok = CharTokenizer.fromText(loaded.train + loaded.val);
    const first = await cached(cache, scanned, tok);
    assertEquals(first.cached, false);
    assertEquals(first.train, [...tok.encode(loaded.train)]);
    assertEquals(first.val, [...tok.encode(loaded.val)]);
    const second = await cached(cache, scanned, tok);
    assertEquals(second, { ...first, cached: true });
    // another tokenizer (one more character) gets its own shards
    const other = await cached(cache, scanned, CharTokenizer.fromText(loaded.train + loaded.val + "!"));
    assertEquals(other.cached, false);
  });
});

Deno.test("token cache: a truncated or damaged shard is named in one line and rebuilt", async () => {
  await withDirs(async (cache, corpusDir) => {
    const corpus = await scanCorpus({ corpus: "code", paths: [corpusDir], valFraction: 0.3 });
    const loaded = await loadCorpus({ corpus: "code", paths: [corpusDir], valFraction: 0.3 });
    const tok = CharTokenizer.fromText(loaded.train + loaded.val);
    const good = await cached(cache, corpus, tok);
    const name = [...Deno.readDirSync(cache)].map((e) => e.name).find((n) => n.endsWith(".train.tok"))!;
    const path = join(cache, name), bytes = await Deno.readFile(path);
    for (
      const [damaged, why] of [
        [bytes.subarray(0, bytes.length - 1), "truncated or extended"],
        [bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 1 : b)), "damaged"],
      ] as const
    ) {
      await Deno.writeFile(path, damaged);
      const warnings: string[] = [];
      const again = await cached(cache, corpus, tok, warnings);
      assertEquals(again, { ...good, cached: false });
      assertEquals(warnings.length, 1);
      assertTrue(warnings[0].startsWith(`warning: token cache: ${path}: ${why}`), warnings[0]);
      assertTrue(warnings[0].endsWith("; rebuilding it"), warnings[0]);
      assertEquals(await Deno.readFile(path), bytes);
    }
  });
});

Deno.test("token cache: the same text split differently is another entry", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = CharTokenizer.fromText("abcdef");
    const a = await cached(dir, textCorpus({ train: "abcd", val: "ef" }, 0.1), tok);
    const b = await cached(dir, textCorpus("abcdef", 0.5), tok);
    assertEquals([a.cached, b.cached], [false, false]);
    assertEquals(b.train, [...tok.encode("abc")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("token cache: BPE shards equal encoding the joined text (pre-tokens across file joins)", async () => {
  await withDirs(async (cache, corpusDir) => {
    // files that end and start with whitespace and contractions: the joins fall inside pre-tokens
    await Deno.writeTextFile(join(corpusDir, "file01.ts"), "it's  \n \t");
    await Deno.writeTextFile(join(corpusDir, "file02.ts"), "  're here'");
    await Deno.writeTextFile(join(corpusDir, "file03.ts"), "ve 12 \u00e9t\u00e9\ud83d\ude00 ");
    const opts = { corpus: "code" as const, paths: [corpusDir], valFraction: 0.2 };
    const loaded = await loadCorpus(opts);
    const tok = BpeTokenizer.train(loaded.train, { vocabSize: 300 });
    const shards = await cached(cache, await scanCorpus(opts), tok);
    assertEquals(shards.train, [...tok.encode(loaded.train)]);
    assertEquals(shards.val, [...tok.encode(loaded.val)]);
  });
});

Deno.test("token cache: batches and evaluation windows read from shards are today's ids for a seed", async () => {
  await withDirs(async (cache, corpusDir) => {
    const opts = { corpus: "code" as const, paths: [corpusDir], valFraction: 0.3 };
    const loaded = await loadCorpus(opts);
    const tok = CharTokenizer.fromText(loaded.train + loaded.val);
    const t = await tokenizeCached(cache, await scanCorpus(opts), tok);
    try {
      const old = new Batcher(tok.encode(loaded.train), 16, 4, new Rng(7));
      const fromShard = new Batcher(t.train, 16, 4, new Rng(7));
      for (let i = 0; i < 20; i++) assertEquals(fromShard.next(), old.next());
      assertEquals(evalWindows(t.val, 16, 4, 3), evalWindows(tok.encode(loaded.val), 16, 4, 3));
    } finally {
      t.close();
    }
  });
});
