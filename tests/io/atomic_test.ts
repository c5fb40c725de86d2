import { appendJsonLine, writeFileAtomic } from "../../lib/io/atomic.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";

Deno.test("writeFileAtomic: writes strings and bytes, replaces, leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/state.json`;
    await writeFileAtomic(path, "first");
    await writeFileAtomic(path, "second ✓");
    assertEquals(await Deno.readTextFile(path), "second ✓");
    await writeFileAtomic(`${dir}/b.bin`, new Uint8Array([0, 255, 7]));
    assertEquals(await Deno.readFile(`${dir}/b.bin`), new Uint8Array([0, 255, 7]));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["b.bin", "state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic: failure removes the temp file and keeps the old content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The target is a non-empty directory, so the rename fails after the temp file was written.
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeTextFile(`${dir}/target/keep`, "old");
    await assertRejects(() => writeFileAtomic(`${dir}/target`, "new"));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["target"]);
    await assertRejects(() => writeFileAtomic(`${dir}/missing/x.json`, "x"), "missing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendJsonLine: one line per call", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/metrics.jsonl`;
    await appendJsonLine(path, { step: 1, split: "train", loss: 2.5 });
    await appendJsonLine(path, { step: 2, note: "multi\nline" });
    const lines = (await Deno.readTextFile(path)).split("\n");
    assertEquals(lines.length, 3);
    assertEquals(lines[2], "");
    assertEquals(JSON.parse(lines[0]), { step: 1, split: "train", loss: 2.5 });
    assertEquals(JSON.parse(lines[1]), { step: 2, note: "multi\nline" });
    await assertRejects(() => appendJsonLine(path, undefined), "not JSON-serialisable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
