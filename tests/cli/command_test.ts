import { type Command, helpPage, parseCommand } from "../../lib/experiment/cli/_command.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

const CMD = {
  name: "demo",
  run: "deno task demo",
  description:
    "A command for the tests of the shared command-line layer: one positional, flags of each type.",
  positionals: [{ name: "RUN_DIR", description: "a run" }],
  flags: {
    "max-tokens": { type: "integer", min: 1, default: 100, description: "tokens at most" },
    temperature: { type: "number", defaultText: "1", description: "sampling temperature" },
    split: { type: "string", choices: ["val", "test"], default: "val", description: "which split" },
    greedy: { type: "boolean", description: "argmax" },
    set: { type: "string", multiple: true, value: "K=V", description: "an override" },
    prompt: { type: "string", short: "p", defaultText: "none", description: "the prompt" },
  },
  examples: ["deno task demo runs/a --max-tokens 5"],
} as const satisfies Command;

Deno.test("parseCommand: typed values, defaults, both spellings, --flag=value, -p, repeatable, --", () => {
  const p = parseCommand(CMD, [
    "--max_tokens=7",
    "--temperature",
    "-0.5",
    "--greedy",
    "--set",
    "a=1",
    "--set=b=2",
    "-p",
    "-h",
    "--",
    "-runs-a",
  ]);
  assertEquals(p.help, false);
  assertEquals(p.values, {
    "max-tokens": 7,
    temperature: -0.5,
    split: "val",
    greedy: true,
    set: ["a=1", "b=2"],
    prompt: "-h",
  });
  assertEquals(p.positionals, ["-runs-a"]);
  assertEquals([p.typed("max-tokens"), p.typed("split")], ["--max_tokens", "--split"]);
});

Deno.test("parseCommand: --help anywhere among the flags wins over every problem", () => {
  assertEquals(parseCommand(CMD, ["--bogus", "--max-tokens", "x", "--help"]).help, true);
  assertEquals(parseCommand(CMD, ["-h"]).help, true);
});

Deno.test("parseCommand: one-line problems that name the flag as typed", () => {
  const msg = (args: string[]) => {
    try {
      parseCommand(CMD, args);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assertEquals(msg(["r", "--max_tokens", "0"]), `--max_tokens: expected an integer >= 1, got "0"`);
  assertEquals(msg(["r", "--temperature", "warm"]), `--temperature: expected a number, got "warm"`);
  assertEquals(msg(["r", "--split", "train"]), `--split: expected val or test, got "train"`);
  assertEquals(msg(["r", "--greedy=yes"]), `--greedy takes no value, got "yes"`);
  assertEquals(
    msg(["r", "--max-token", "5"]),
    "unknown flag --max-token (did you mean --max-tokens?); see deno task demo --help",
  );
  assertEquals(msg(["r", "--zzz"]), "unknown flag --zzz; see deno task demo --help");
  assertEquals(msg(["r", "--split"]), "--split: expected a value (TEXT); see deno task demo --help");
  assertEquals(msg([]), "missing RUN_DIR; see deno task demo --help");
  assertEquals(msg(["a", "b"]), `unexpected argument "b"; see deno task demo --help`);
  assertThrows(() => parseCommand(CMD, ["r", "--split", "x"]));
});

Deno.test("helpPage: usage, description, every flag with its default, examples", () => {
  const page = helpPage(CMD);
  assertTrue(page.startsWith("usage: deno task demo RUN_DIR [flags]\n\nA command for the tests"), page);
  for (
    const line of ["--max-tokens N", "[default: 100]", "[default: 1]", '[default: "val"]', "(val or test)"]
  ) {
    assertTrue(page.includes(line), line);
  }
  assertTrue(page.includes("-p, --prompt TEXT") && page.includes("-h, --help"), page);
  assertTrue(page.endsWith("examples:\n  deno task demo runs/a --max-tokens 5"), page);
});
