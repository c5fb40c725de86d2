import { JsoncSyntaxError, parseJsonc } from "../../lib/experiment/jsonc.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

/** Parses `text` expecting a syntax error; returns it. */
function syntaxError(text: string, ...includes: string[]): JsoncSyntaxError {
  const e = assertThrows(() => parseJsonc(text), ...includes);
  assertTrue(e instanceof JsoncSyntaxError, `expected JsoncSyntaxError, got ${e.name}`);
  return e;
}

Deno.test("jsonc: plain JSON parses like JSON.parse", () => {
  const samples = [
    '{"a": 1, "b": [true, false, null], "c": {"d": "e"}}',
    "[]",
    "{}",
    "  42  ",
    "-0.5e+3",
    '"just a string"',
    "[1e-8, 3E2, -0, 0.25, 1337]",
    '{"nested": [[[]], [{}], {"x": [1, {"y": null}]}]}',
  ];
  for (const s of samples) assertEquals(parseJsonc(s), JSON.parse(s), s);
});

Deno.test("jsonc: line and block comments are skipped", () => {
  const text = `// leading comment
  {
    /* block
       over lines */ "a": 1, // trailing
    "b": /* inline */ 2
  } // done
  /* final */`;
  assertEquals(parseJsonc(text), { a: 1, b: 2 });
});

Deno.test("jsonc: trailing commas in objects and arrays", () => {
  assertEquals(parseJsonc('{"a": [1, 2, 3,], "b": {"c": 1,},}'), { a: [1, 2, 3], b: { c: 1 } });
});

Deno.test("jsonc: comment markers inside strings are text", () => {
  assertEquals(parseJsonc('{"url": "http://x.org/*not*/", "c": "// nor this"}'), {
    url: "http://x.org/*not*/",
    c: "// nor this",
  });
});

Deno.test("jsonc: string escapes", () => {
  assertEquals(parseJsonc(String.raw`"q\" b\\ s\/ \b\f\n\r\t \u00e9\u2603"`), 'q" b\\ s/ \b\f\n\r\t é☃');
  syntaxError(String.raw`"\q"`, "invalid escape \\q");
  syntaxError(String.raw`"\u12G4"`, "invalid \\u escape");
});

Deno.test("jsonc: byte-order mark is ignored", () => {
  assertEquals(parseJsonc('\uFEFF{"a": 1}'), { a: 1 });
});

Deno.test("jsonc: __proto__ stays an own key", () => {
  const v = parseJsonc('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  assertTrue(Object.hasOwn(v, "__proto__"));
  assertEquals(Object.getPrototypeOf(v), Object.prototype);
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("jsonc: errors name line and column", () => {
  const e = syntaxError('{\n  "a": 1,\n  "b": }', "unexpected token }", "line 3, column 8");
  assertEquals([e.line, e.column, e.reason], [3, 8, "unexpected token }"]);
});

Deno.test("jsonc: malformed input is rejected", () => {
  syntaxError("", "unexpected end of input", "line 1, column 1");
  syntaxError("{", "expected a string key or }");
  syntaxError('{"a" 1}', "expected : after key");
  syntaxError('{"a": 1 "b": 2}', "expected , or }");
  syntaxError("[1 2]", "expected , or ]");
  syntaxError("[1,,2]", "unexpected token ,");
  syntaxError("[,]", "unexpected token ,");
  syntaxError("{a: 1}", "expected a string key");
  syntaxError("{'a': 1}", "expected a string key");
  syntaxError('{"a": 1} x', "unexpected token x");
  syntaxError('"abc', "unterminated string", "line 1, column 1");
  syntaxError('{\n "a": "x\n"}', "unterminated string", "line 2, column 7");
  syntaxError('"tab\there"', "control character");
  syntaxError("{ /* never closed", "unterminated comment");
  syntaxError("truex", "unexpected token truex");
  syntaxError("undefined", "unexpected token undefined");
  syntaxError("NaN", "unexpected token NaN");
});

Deno.test("jsonc: numbers follow JSON's grammar", () => {
  for (const bad of ["01", "1.", ".5", "+1", "1e", "--1", "0x10", "1.2.3"]) syntaxError(bad);
});

Deno.test("jsonc: duplicate keys are an error at the second key", () => {
  const e = syntaxError('{"a": 1,\n "a": 2}', 'duplicate key "a"');
  assertEquals([e.line, e.column], [2, 2]);
});
