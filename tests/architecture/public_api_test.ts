/**
 * The public API stays readable: `mod.ts` re-exports a curated list of names (at most {@link MAX_ROOT_NAMES}, no
 * `export *`), and every other entry point in deno.json's `exports` is a room's `lib/<room>/mod.ts` with a
 * `@module` doc.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

/** The most names `mod.ts` may export; the rest belongs in a room's entry point. */
const MAX_ROOT_NAMES = 200;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The names a module exports through `export { … } from` lines, and its `export *` lines. */
function reExports(source: string): { names: string[]; stars: string[] } {
  const sf = ts.createSourceFile("mod.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const names: string[] = [], stars: string[] = [];
  for (const st of sf.statements) {
    if (!ts.isExportDeclaration(st)) continue;
    const from = st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : "";
    if (st.exportClause === undefined) stars.push(`export * from "${from}"`);
    else if (ts.isNamedExports(st.exportClause)) {
      names.push(...st.exportClause.elements.map((e) => e.name.text));
    } else stars.push(`export * as ${st.exportClause.name.text} from "${from}"`);
  }
  return { names, stars };
}

Deno.test(`public API: mod.ts re-exports at most ${MAX_ROOT_NAMES} names, each once, none by export *`, async () => {
  const { names, stars } = reExports(await readFile(join(ROOT, "mod.ts"), "utf8"));
  assertEquals(stars, [], "mod.ts lists its names (a room's whole surface is its own entry point)");
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  assertEquals(twice, [], "names exported twice");
  assertTrue(
    names.length <= MAX_ROOT_NAMES,
    `mod.ts exports ${names.length} names (at most ${MAX_ROOT_NAMES}): move the rest to a room's lib/<room>/mod.ts`,
  );
});

Deno.test("public API: deno.json's sub-paths are the rooms' documented lib/<room>/mod.ts", async () => {
  const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  assertEquals(deno.exports["."], "./mod.ts");
  for (const [sub, module] of Object.entries(deno.exports)) {
    if (sub === ".") continue;
    assertEquals(module, `./lib/${sub.slice(2)}/mod.ts`, `deno.json exports["${sub}"]`);
    const source = await readFile(join(ROOT, module), "utf8");
    assertTrue(/^\/\*\*[\s\S]*?@module[\s\S]*?\*\//.test(source), `${module} starts with a @module doc`);
  }
});
