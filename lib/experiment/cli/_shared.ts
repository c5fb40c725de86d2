/**
 * What the CLIs share: one-line errors with the command's name, and number flags checked with a message naming
 * the flag.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** A `fail(message)` for command `name`: prints `<name>: <message>` to stderr and exits with `code` (default 2). */
export function failer(name: string): (msg: string, code?: number) => never {
  return (msg, code = 2) => {
    console.error(`${name}: ${msg}`);
    Deno.exit(code);
  };
}

/**
 * A flag's value as a number (undefined when the flag is absent); `fail`s unless it is finite, an integer when
 * `int`, and at least `min`.
 */
export function numberFlag(
  fail: (msg: string) => never,
  name: string,
  v: string | undefined,
  o: { int?: boolean; min?: number } = {},
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  const kind = o.int ? "an integer" : "a number";
  if (
    v.trim() === "" || !Number.isFinite(n) || (o.int && !Number.isInteger(n)) ||
    (o.min !== undefined && n < o.min)
  ) {
    fail(`--${name}: expected ${kind}${o.min !== undefined ? ` >= ${o.min}` : ""}, got "${v}"`);
  }
  return n;
}

/**
 * `parseArgs` with positionals allowed; a bad flag `fail`s with the parser's message and `usage` (exit 2).
 */
export function parseCommandLine<const O extends ParseArgsOptionsConfig>(
  fail: (msg: string) => never,
  usage: string,
  args: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>> {
  try {
    return parseArgs({ args, allowPositionals: true, options });
  } catch (e) {
    fail(`${(e as Error).message}\n${usage}`);
  }
}
