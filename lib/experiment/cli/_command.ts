/**
 * The command-line layer every command shares. A command is declared once, as a {@link Command}: its name, what
 * it does, its positional arguments, each flag (type, default, allowed values, one line of help) and examples.
 * From that declaration come parsing ({@link parseCommand}), the `--help` page ({@link helpPage}), the error
 * messages, and the reference in docs/cli.md (scripts/cli_docs.ts).
 *
 * Flag style: kebab-case long flags (`--max-tokens`), each also accepted in its snake_case spelling
 * (`--max_tokens`); a value follows as `--flag value` or `--flag=value`; `--` ends the flags. Messages name a
 * flag as the user typed it.
 *
 * @module
 */
import { closest } from "../suggest.ts";

/** What a flag's value is: text, a switch (no value), an integer or any finite number. */
export type FlagType = "string" | "boolean" | "integer" | "number";

/** One flag of a command. */
export interface Flag {
  /** Its value's type: checked while parsing. */
  readonly type: FlagType;
  /** One line of help. */
  readonly description: string;
  /** The value when the flag is absent (booleans default to false, repeatable flags to none). */
  readonly default?: string | number;
  /** What `--help` shows as the default when there is no literal one ("the config's run.threads"). */
  readonly defaultText?: string;
  /** The values allowed (string flags). */
  readonly choices?: readonly string[];
  /** The smallest value allowed (number flags). */
  readonly min?: number;
  /** Repeatable: every value is kept, in order. */
  readonly multiple?: boolean;
  /** The value's name in help (`N`, `DIR`); by default from the type. */
  readonly value?: string;
  /** A one-letter alias (`-o`). */
  readonly short?: string;
}

/** One positional argument of a command. */
export interface Positional {
  /** Its name in help (`RUN_DIR`). */
  readonly name: string;
  /** One line of help. */
  readonly description: string;
  /** May be left out. */
  readonly optional?: boolean;
  /** Takes every remaining argument (at least one unless optional). */
  readonly variadic?: boolean;
  /** The values allowed. */
  readonly choices?: readonly string[];
}

/** A command, declared once. */
export interface Command {
  /** The name messages start with (`eval`). */
  readonly name: string;
  /** How it is run (`deno task eval`). */
  readonly run: string;
  /** What it does: one paragraph. */
  readonly description: string;
  /** Positional arguments, in order. */
  readonly positionals: readonly Positional[];
  /** Flags by their kebab-case name (without `--`). */
  readonly flags: { readonly [name: string]: Flag };
  /** One or two example command lines. */
  readonly examples: readonly string[];
}

/** The value type of one flag: boolean, number, one of its choices, or string. */
export type FlagScalar<F extends Flag> = F["type"] extends "boolean" ? boolean
  : F["type"] extends "integer" | "number" ? number
  : F extends { readonly choices: readonly (infer U)[] } ? U
  : string;

/** The parsed flag values of a command: typed, defaults filled in. */
export type FlagValues<Fs extends Command["flags"]> = {
  -readonly [K in keyof Fs]: Fs[K]["multiple"] extends true ? FlagScalar<Fs[K]>[]
    : Fs[K]["type"] extends "boolean" ? boolean
    : Fs[K] extends { readonly default: string | number } ? FlagScalar<Fs[K]>
    : FlagScalar<Fs[K]> | undefined;
};

/** A parsed command line. */
export interface Parsed<C extends Command> {
  /** `--help` or `-h` was given: nothing else was checked. */
  help: boolean;
  /** The flag values. */
  values: FlagValues<C["flags"]>;
  /** The positional arguments, checked against the declaration's count and choices. */
  positionals: string[];
  /** A flag as the user typed it (`--top_k`), or its kebab-case spelling when it was not given. */
  typed(flag: keyof C["flags"] & string): string;
}

/** A command line that does not fit the declaration; the message names the flag as typed. */
export class UsageError extends Error {
  /** Always "UsageError". */
  override name = "UsageError";
}

const PLACEHOLDER: Record<FlagType, string> = { string: "TEXT", boolean: "", integer: "N", number: "X" };

/** `a, b or c`. */
export function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

/** The value of `flag` (typed as `name`) from its text; throws a {@link UsageError} naming `name`. */
function convert(flag: Flag, name: string, text: string): string | number {
  if (flag.type === "integer" || flag.type === "number") {
    const n = Number(text);
    const ok = text.trim() !== "" && Number.isFinite(n) && (flag.type === "number" || Number.isInteger(n)) &&
      (flag.min === undefined || n >= flag.min);
    if (!ok) {
      const kind = flag.type === "integer" ? "an integer" : "a number";
      throw new UsageError(
        `${name}: expected ${kind}${flag.min !== undefined ? ` >= ${flag.min}` : ""}, got "${text}"`,
      );
    }
    return n;
  }
  if (flag.choices !== undefined && !flag.choices.includes(text)) {
    throw new UsageError(`${name}: expected ${orList(flag.choices)}, got "${text}"`);
  }
  return text;
}

/** `; see deno task eval --help`. */
function seeHelp(cmd: Command): string {
  return `; see ${cmd.run} --help`;
}

/** Parses `args` (without the program name) by `cmd`'s declaration; throws a {@link UsageError}. */
export function parseCommand<const C extends Command>(cmd: C, args: readonly string[]): Parsed<C> {
  const values: Record<string, unknown> = {};
  const typedNames = new Map<string, string>();
  const positionals: string[] = [];
  for (const [k, f] of Object.entries(cmd.flags)) {
    values[k] = f.multiple ? [] : f.type === "boolean" ? false : f.default;
  }
  const typed = (k: string) => typedNames.get(k) ?? `--${k}`;
  const result = { help: false, values, positionals, typed } as unknown as Parsed<C>;
  // the first problem is reported, unless --help comes anywhere among the flags
  let problem: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a === "--help" || a === "-h") {
      result.help = true;
      continue;
    }
    if (!a.startsWith("-") || a === "-" || /^-\.?\d/.test(a)) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const key = name.startsWith("--")
      ? name.slice(2).replaceAll("_", "-")
      : Object.keys(cmd.flags).find((k) => cmd.flags[k].short === name.slice(1));
    const flag = key === undefined ? undefined : cmd.flags[key];
    if (key === undefined || flag === undefined) {
      const near = closest(name.replace(/^-+/, "").replaceAll("_", "-"), Object.keys(cmd.flags));
      problem ??= `unknown flag ${name}${near === undefined ? "" : ` (did you mean --${near}?)`}${
        seeHelp(cmd)
      }`;
      continue;
    }
    typedNames.set(key, name);
    if (flag.type === "boolean") {
      if (inline !== undefined) problem ??= `${name} takes no value, got "${inline}"`;
      else values[key] = true;
      continue;
    }
    const text = inline ?? args[++i];
    if (text === undefined) {
      problem ??= `${name}: expected a value (${flag.value ?? PLACEHOLDER[flag.type]})${seeHelp(cmd)}`;
      continue;
    }
    try {
      const v = convert(flag, name, text);
      if (flag.multiple) (values[key] as unknown[]).push(v);
      else values[key] = v;
    } catch (e) {
      problem ??= (e as UsageError).message;
    }
  }
  if (result.help) return result;
  if (problem !== undefined) throw new UsageError(problem);
  checkPositionals(cmd, positionals);
  return result;
}

function checkPositionals(cmd: Command, got: readonly string[]): void {
  const decl = cmd.positionals;
  const last = decl.at(-1);
  const required = decl.filter((p) => !p.optional).length;
  if (got.length < required) {
    throw new UsageError(
      `missing ${decl.slice(got.length).filter((p) => !p.optional)[0].name}${seeHelp(cmd)}`,
    );
  }
  if (!last?.variadic && got.length > decl.length) {
    throw new UsageError(`unexpected argument "${got[decl.length]}"${seeHelp(cmd)}`);
  }
  got.forEach((v, i) => {
    const p = decl[Math.min(i, decl.length - 1)];
    if (p.choices !== undefined && !p.choices.includes(v)) {
      throw new UsageError(`${p.name}: expected ${orList(p.choices)}, got "${v}"${seeHelp(cmd)}`);
    }
  });
}

/** `deno task eval RUN_DIR [flags]`: the usage line. */
export function usageLine(cmd: Command): string {
  const pos = cmd.positionals.map((p) => {
    const name = p.variadic ? `${p.name}...` : p.name;
    return p.optional ? `[${name}]` : name;
  });
  return [cmd.run, ...pos, "[flags]"].join(" ");
}

/** `--max-tokens N` (or `-o, --out FILE`): how a flag is written in help. */
export function flagSyntax(name: string, f: Flag): string {
  const value = f.type === "boolean" ? "" : ` ${f.value ?? PLACEHOLDER[f.type]}`;
  return `${f.short ? `-${f.short}, ` : ""}--${name}${value}`;
}

/** A flag's default as help shows it. */
export function flagDefault(f: Flag): string {
  if (f.defaultText !== undefined) return f.defaultText;
  if (f.default !== undefined) return JSON.stringify(f.default);
  return f.type === "boolean" ? "off" : "none";
}

/** A flag's description with its allowed values. */
export function flagHelp(f: Flag): string {
  return f.description + (f.choices ? ` (${orList(f.choices)})` : "") + (f.multiple ? "; repeatable" : "");
}

/** `text` as lines of at most `width` columns (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

const HELP_FLAG: Flag = { type: "boolean", description: "show this page and exit", short: "h" };

/** The `--help` page: what the command does, usage, arguments, every flag with its default, examples. */
export function helpPage(cmd: Command): string {
  const W = 100;
  const rows = (items: [string, string][]) => {
    const col = Math.min(28, Math.max(...items.map(([a]) => a.length)) + 4);
    return items.map(([a, b]) => {
      const head = `  ${a}`.padEnd(col);
      const first = head.length > col ? [`  ${a}`, ...wrap(b, W - col)] : wrap(b, W - col);
      return first.map((l, i) => i === 0 && head.length <= col ? head + l : " ".repeat(col) + l).join("\n");
    }).join("\n");
  };
  const parts = [`usage: ${usageLine(cmd)}`, wrap(cmd.description, W).join("\n")];
  if (cmd.positionals.length > 0) {
    parts.push("arguments:\n" + rows(cmd.positionals.map((p) => [p.name, p.description])));
  }
  const flags: [string, string][] = Object.entries(cmd.flags).map(([k, f]) => [
    flagSyntax(k, f),
    `${flagHelp(f)} [default: ${flagDefault(f)}]`,
  ]);
  flags.push([flagSyntax("help", HELP_FLAG), HELP_FLAG.description]);
  parts.push("flags:\n" + rows(flags));
  parts.push("examples:\n" + cmd.examples.map((e) => `  ${e}`).join("\n"));
  return parts.join("\n\n");
}

/**
 * {@link parseCommand} for a command's entry point: `--help` prints the page to stdout and exits 0; a usage
 * error prints `<name>: <message>` to stderr and exits 2.
 */
export function parseOrExit<const C extends Command>(cmd: C, args: readonly string[]): Parsed<C> {
  try {
    const parsed = parseCommand(cmd, args);
    if (parsed.help) {
      console.log(helpPage(cmd));
      Deno.exit(0);
    }
    return parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${cmd.name}: ${e.message}`);
    Deno.exit(2);
  }
}

/**
 * A script's entry point: parses `Deno.args` by `cmd` ({@link parseOrExit}) and runs `main`; an error it throws
 * ends the script with one line, `<name>: <message>`, and exit code 1 (2 for a {@link UsageError}); never a stack
 * trace.
 */
export async function runMain<const C extends Command>(
  cmd: C,
  main: (parsed: Parsed<C>) => Promise<void> | void,
): Promise<void> {
  const parsed = parseOrExit(cmd, Deno.args);
  try {
    await main(parsed);
  } catch (e) {
    console.error(`${cmd.name}: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(e instanceof UsageError ? 2 : 1);
  }
}
