import { fileURLToPath } from "node:url";
import { loadCorpus } from "../../lib/data/corpus.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/corpus", import.meta.url));
const A = `${FIXTURE}/a.txt`;
const B = `${FIXTURE}/b.ts`;
const C = `${FIXTURE}/sub/c.md`;
const textOf = (p: string) => Deno.readTextFileSync(p);

Deno.test("loadCorpus: folder walk sorts files, skips binary, splits by whole files", async () => {
  const c = await loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.2 });
  assertEquals(c.files, [A, B, C]); // zz.bin (NUL byte) is skipped
  // ceil(0.2 · 3) = 1 validation file: the last one.
  assertEquals(c.trainFiles, [A, B]);
  assertEquals(c.valFiles, [C]);
  assertEquals(c.train, textOf(A) + "\n" + textOf(B));
  assertEquals(c.val, textOf(C));
  assertEquals(c.bytes, [A, B, C].reduce((s, p) => s + Deno.statSync(p).size, 0));
  assertTrue(/^[0-9a-f]{64}$/.test(c.hash));
});

Deno.test("loadCorpus: at least one file each side", async () => {
  const big = await loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.9 });
  assertEquals(big.trainFiles, [A]); // ceil(2.7) = 3 is capped to leave one training file
  assertEquals(big.valFiles, [B, C]);
  const small = await loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.01 });
  assertEquals(small.valFiles, [C]);
});

Deno.test("loadCorpus: hash depends on relative paths and content, not on the folder's location", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const rel of ["a.txt", "b.ts", "sub/c.md", "zz.bin"]) {
      await Deno.mkdir(`${dir}/sub`, { recursive: true });
      await Deno.copyFile(`${FIXTURE}/${rel}`, `${dir}/${rel}`);
    }
    const orig = await loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.2 });
    const copy = await loadCorpus({ corpus: "code", paths: [dir], valFraction: 0.2 });
    assertEquals(copy.hash, orig.hash);
    await Deno.writeTextFile(`${dir}/b.ts`, "export const b = 2;\n");
    const changed = await loadCorpus({ corpus: "code", paths: [dir], valFraction: 0.2 });
    assertTrue(changed.hash !== orig.hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCorpus: skips hidden folders and node_modules; a file listed twice counts once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/.git`);
    await Deno.mkdir(`${dir}/node_modules/pkg`, { recursive: true });
    await Deno.writeTextFile(`${dir}/.git/config`, "hidden");
    await Deno.writeTextFile(`${dir}/node_modules/pkg/index.js`, "dep");
    await Deno.writeTextFile(`${dir}/main.ts`, "main");
    await Deno.writeTextFile(`${dir}/util.ts`, "util");
    const c = await loadCorpus({ corpus: "code", paths: [dir, `${dir}/main.ts`], valFraction: 0.5 });
    assertEquals(c.files, [`${dir}/main.ts`, `${dir}/util.ts`]);
    assertEquals([c.train, c.val], ["main", "util"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCorpus: a single file is split by text length", async () => {
  const c = await loadCorpus({ corpus: "code", paths: [A], valFraction: 0.25 });
  const text = textOf(A); // 20 characters → cut at 15
  assertEquals(c.files, [A]);
  assertEquals(c.trainFiles, [A]);
  assertEquals(c.valFiles, [A]);
  assertEquals(c.train, text.slice(0, 15));
  assertEquals(c.val, text.slice(15));
});

Deno.test("loadCorpus: the single-file split never cuts a surrogate pair", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/e.txt`, "a😀b"); // 4 UTF-16 units; 0.5 would cut inside 😀
    const c = await loadCorpus({ corpus: "code", paths: [`${dir}/e.txt`], valFraction: 0.5 });
    assertEquals([c.train, c.val], ["a😀", "b"]);
    await Deno.writeTextFile(`${dir}/e.txt`, "x");
    await assertRejects(
      () => loadCorpus({ corpus: "code", paths: [`${dir}/e.txt`], valFraction: 0.5 }),
      "too short to split",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCorpus: errors name the config key", async () => {
  await assertRejects(
    () => loadCorpus({ corpus: "code", paths: [A, "./foo"], valFraction: 0.1 }),
    "data.paths[1]: no such file or directory: ./foo",
  );
  await assertRejects(
    () => loadCorpus({ corpus: "code", paths: [`${FIXTURE}/zz.bin`], valFraction: 0.1 }),
    "data.paths: no text files found under",
    "zz.bin",
  );
  await assertRejects(
    () => loadCorpus({ corpus: "code", paths: [A], valFraction: 0 }),
    "data.valFraction",
    "(0, 1)",
  );
  await assertRejects(() => loadCorpus({ corpus: "code", paths: [A], valFraction: 1 }), "data.valFraction");
  await assertRejects(
    () => loadCorpus({ corpus: "prose" as "code", paths: [], valFraction: 0.1 }),
    `data.corpus: unknown corpus "prose"`,
  );
});

Deno.test("loadCorpus: the built-in code corpus is typescript's lib/*.d.ts", async () => {
  const c = await loadCorpus({ corpus: "code", paths: [], valFraction: 0.1 });
  assertTrue(c.files.length > 50, `only ${c.files.length} files`);
  assertTrue(c.files.every((f) => /[\\/]typescript[\\/]lib[\\/][^\\/]+\.d\.ts$/.test(f)));
  assertEquals([...c.files].sort(), c.files);
  const nVal = Math.ceil(0.1 * c.files.length);
  assertEquals(c.valFiles, c.files.slice(-nVal));
  assertEquals(c.trainFiles, c.files.slice(0, -nVal));
  assertTrue(c.train.length > c.val.length && c.val.length > 0);
});

Deno.test("loadCorpus: a test fraction takes the very last files (or the end of a single file)", async () => {
  const c = await loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.2, testFraction: 0.2 });
  assertEquals([c.trainFiles, c.valFiles, c.testFiles], [[A], [B], [C]]);
  assertEquals([c.train, c.val, c.test], [textOf(A), textOf(B), textOf(C)]);
  const none = await loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.2 });
  assertEquals([none.testFiles, none.test], [[], ""]);
  const one = await loadCorpus({ corpus: "code", paths: [A], valFraction: 0.25, testFraction: 0.25 });
  assertEquals(one.train + one.val + one.test, textOf(A));
  assertTrue(one.test.length > 0 && one.val.length > 0 && one.train.length > one.val.length);
  await assertRejects(
    () => loadCorpus({ corpus: "code", paths: [FIXTURE], valFraction: 0.5, testFraction: 0.5 }),
    "data.test_fraction",
  );
});

Deno.test("loadCorpus: a test fraction needs at least three files", async () => {
  await assertRejects(
    () => loadCorpus({ corpus: "code", paths: [A, B], valFraction: 0.3, testFraction: 0.3 }),
    "data.test_fraction: 2 files are too few for three splits",
  );
});
