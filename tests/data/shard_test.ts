import { join } from "node:path";
import { openShard, SHARD_HEADER_BYTES, type ShardKey, ShardWriter } from "../../lib/data/shard.ts";
import { readTokens } from "../../lib/data/token_source.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function keyOf(vocabSize: number): ShardKey {
  return { tokenizerHash: "t", corpusHash: "c", split: "train", vocabSize };
}

async function write(path: string, key: ShardKey, chunks: Int32Array[]): Promise<void> {
  const w = await ShardWriter.create(path, key);
  for (const c of chunks) await w.push(c);
  await w.finish();
}

Deno.test("shard: uint16 and uint32 round trips, read by position", async () => {
  await withDir(async (dir) => {
    for (const [vocab, dtype, width] of [[65536, "uint16", 2], [70000, "uint32", 4]] as const) {
      const ids = Int32Array.from({ length: 1000 }, (_, i) => (i * 7919) % vocab);
      ids[3] = vocab - 1;
      const path = join(dir, `${dtype}.tok`);
      await write(path, keyOf(vocab), [ids.subarray(0, 300), new Int32Array(0), ids.subarray(300)]);
      assertEquals((await Deno.stat(path)).size, SHARD_HEADER_BYTES + ids.length * width);
      const shard = openShard(path, keyOf(vocab));
      if (typeof shard === "string") throw new Error(shard);
      try {
        assertEquals(shard.header.dtype, dtype);
        assertEquals(shard.length, ids.length);
        assertEquals([...readTokens(shard, 0, ids.length)], [...ids]);
        assertEquals([...readTokens(shard, 997, 3)], [...ids.subarray(997)]);
        assertThrows(() => readTokens(shard, 998, 3), "outside [0, 1000)");
      } finally {
        shard.close();
      }
    }
  });
});

Deno.test("shard: a missing, truncated, extended, damaged or foreign shard is told apart", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "a.tok"), key = keyOf(50);
    assertEquals(openShard(path, key), "missing");
    await write(path, key, [Int32Array.from({ length: 100 }, (_, i) => i % 50)]);
    const good = await Deno.readFile(path);
    const check = async (bytes: Uint8Array, k: ShardKey, want: string) => {
      await Deno.writeFile(path, bytes);
      const r = openShard(path, k);
      assertTrue(
        typeof r === "string" && r.includes(want),
        `${want}: ${typeof r === "string" ? r : "opened"}`,
      );
    };
    await check(good.subarray(0, good.length - 2), key, "truncated");
    await check(good.subarray(0, 100), key, "shorter than its header");
    await check(new Uint8Array([...good, 0, 0]), key, "extended");
    const flipped = good.slice();
    flipped[SHARD_HEADER_BYTES + 5] ^= 1;
    await check(flipped, key, "sha256");
    const header = good.slice();
    header[0] = 0x20;
    await check(header, key, "not JSON");
    await check(good, { ...key, tokenizerHash: "other" }, "another tokenizer");
    await check(good, { ...key, split: "val" }, "another corpus or split");
    await check(good, { ...key, vocabSize: 70000 }, "another vocabulary");
  });
});

Deno.test("shard: an id outside the vocabulary is refused, and a failed write leaves no file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "b.tok");
    const w = await ShardWriter.create(path, keyOf(10));
    let message = "";
    await w.push(Int32Array.of(1, 10)).catch((e) => (message = e.message));
    await w.abort();
    assertEquals(message, "token shard: id 10 is outside [0, 10)");
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  });
});
