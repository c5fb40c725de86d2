/**
 * scripts/size.ts: what counts as a line of code, the grouping into rooms and folders, and the report on this
 * repository (every room of lib/ listed, the totals add up, the generated wasm module left out).
 */
import { fileURLToPath } from "node:url";
import {
  codeLines,
  folderOf,
  formatSize,
  readSources,
  roomOf,
  sizeRows,
  totalRow,
} from "../../scripts/size.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

Deno.test("codeLines skips blank and comment-only lines, and # lines only where asked", () => {
  const ts = [
    "/**",
    " * doc",
    " */",
    "const a = 1; // trailing comment counts",
    "",
    "  // comment",
    "/* one-line block */",
    "/* block */ const b = 2;",
    "#x = 3;",
  ].join("\n");
  assertEquals(codeLines(ts), 3);
  assertEquals(codeLines("# comment\nx = 1\n", true), 1);
  assertEquals(codeLines(""), 0);
});

Deno.test("rooms are the folders under lib/; folders are the top-level ones; rows sum per group", () => {
  assertEquals(roomOf("lib/kernels/wasm/gemm.ts"), "lib/kernels");
  assertEquals(roomOf("lib/random.ts"), "lib/*.ts");
  assertEquals(roomOf("tests/kernels/blas_test.ts"), null);
  assertEquals(folderOf("tests/kernels/blas_test.ts"), "tests");
  assertEquals(folderOf("mod.ts"), "(top-level files)");
  const files = [
    { path: "lib/a/x.ts", text: "a;\n// c\n" },
    { path: "lib/a/y.ts", text: "a;\nb;" },
    { path: "lib/b/z.ts", text: "a;\nb;\nc;\nd;\n" },
    { path: "tests/t.ts", text: "" },
  ];
  const rooms = sizeRows(files, roomOf);
  assertEquals(rooms, [
    { name: "lib/b", files: 1, lines: 4, code: 4 },
    { name: "lib/a", files: 2, lines: 4, code: 3 },
  ]);
  assertEquals(totalRow("lib", rooms), { name: "lib", files: 3, lines: 8, code: 7 });
});

Deno.test("the report on this repository lists every room of lib/ and the totals add up", async () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const sources = await readSources(root);
  assertTrue(sources.generated.includes("lib/kernels/wasm/kernels_wasm.ts"), "the wasm module is generated");
  assertTrue(sources.files.every((f) => !f.path.startsWith("node_modules/")), "node_modules is left out");
  const report = formatSize(sources);
  for (const room of ["lib/kernels", "lib/tensor", "lib/nn", "lib/train", "lib/experiment"]) {
    assertTrue(new RegExp(`^${room} +\\d+ +\\d+ +\\d+$`, "m").test(report), `${room} in the report`);
  }
  const total = totalRow("total", sizeRows(sources.files, folderOf));
  assertEquals(total.files, sources.files.length);
  const totalLine = new RegExp(`^total +${total.files} +${total.lines} +${total.code}$`, "m");
  assertTrue(totalLine.test(report), "the total line");
});
