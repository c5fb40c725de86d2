import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { docAt, keysAt } from "../../lib/experiment/schema.ts";
import { GENERATED, renderConfigDocs, renderConfigTypes } from "../../scripts/config_docs.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("config docs: docs/config.md and config_types.ts are what scripts/config_docs.ts renders now", () => {
  const hint = "out of date: run deno run -A scripts/config_docs.ts";
  assertEquals(readFileSync(ROOT + GENERATED.docs, "utf8"), renderConfigDocs(), `${GENERATED.docs} ${hint}`);
  assertEquals(
    readFileSync(ROOT + GENERATED.types, "utf8"),
    renderConfigTypes(),
    `${GENERATED.types} ${hint}`,
  );
});

Deno.test("config docs: every group and key is documented, and docs/config.md names each one", () => {
  const md = readFileSync(ROOT + GENERATED.docs, "utf8");
  for (const group of keysAt([])!) {
    assertTrue(docAt([group]) !== undefined, `${group} has no .describe()`);
    for (const key of keysAt([group])!) {
      assertTrue((docAt([group, key]) ?? "").length > 10, `${group}.${key} has no documentation`);
      assertTrue(md.includes(`### \`${group}.${key}\``), `docs/config.md lacks ${group}.${key}`);
    }
  }
});
