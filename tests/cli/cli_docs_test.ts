import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS, GENERATED, renderCliDocs } from "../../scripts/cli_docs.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { ROOT } from "./_task.ts";

Deno.test("cli docs: docs/cli.md is what scripts/cli_docs.ts renders from the declarations now", () => {
  assertEquals(
    readFileSync(join(ROOT, GENERATED), "utf8"),
    renderCliDocs(),
    `${GENERATED} is out of date: run deno run --allow-read --allow-write=docs scripts/cli_docs.ts`,
  );
});

Deno.test("cli docs: every command says what it does, gives an example, and every flag its default", () => {
  for (const cmd of COMMANDS.flatMap((s) => s.commands)) {
    assertTrue(cmd.description.length >= 60, `${cmd.name}: no description`);
    assertTrue(cmd.examples.length >= 1 && cmd.examples.every((e) => e.startsWith(cmd.run)), cmd.name);
    for (const [name, f] of Object.entries(cmd.flags)) {
      assertTrue(f.description.length > 5, `${cmd.name} --${name}: no description`);
      assertTrue(/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name), `${cmd.name} --${name}: not kebab-case`);
      const hasDefault = f.default !== undefined || f.defaultText !== undefined || f.type === "boolean" ||
        f.multiple === true;
      assertTrue(hasDefault, `${cmd.name} --${name}: no default`);
    }
  }
});

Deno.test("cli docs: every deno task that runs a command of lib/experiment/cli/ is in docs/cli.md", () => {
  const tasks =
    (JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { tasks: Record<string, string> })
      .tasks;
  const documented = new Set(COMMANDS.flatMap((s) => s.commands).map((c) => c.run));
  for (const [task, line] of Object.entries(tasks)) {
    if (line.includes("lib/experiment/cli/")) assertTrue(documented.has(`deno task ${task}`), task);
  }
});
