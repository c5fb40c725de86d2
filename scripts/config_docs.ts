/**
 * Generates the config reference from the schema (lib/experiment/schema.ts): docs/config.md (every key with its
 * type, default and documentation) and lib/experiment/config_types.ts (the Config types with the same
 * documentation as JSDoc; schema.ts proves at compile time that they are the schema's types).
 *
 *   deno run --allow-read --allow-write scripts/config_docs.ts           # rewrite both files
 *   deno run --allow-read scripts/config_docs.ts --check                 # exit 1 when either is out of date
 *
 * tests/experiment/config_docs_test.ts fails when a committed file differs from what this renders.
 *
 * @module
 */
import { z } from "zod";
import { runMain } from "../lib/experiment/cli/_command.ts";
import { DEFAULT_CONFIG, docAt, expectedAt, keysAt, schemaAt } from "../lib/experiment/schema.ts";
import { CONFIG_DOCS } from "./_commands.ts";

/** The generated files, relative to the repository root. */
export const GENERATED = { docs: "docs/config.md", types: "lib/experiment/config_types.ts" } as const;

const GROUPS = [
  { key: "model", type: "ModelConfig" },
  { key: "train", type: "TrainConfig" },
  { key: "data", type: "DataConfig" },
  { key: "run", type: "RunConfig" },
] as const;

/** The TypeScript type of a leaf schema (enums as unions of their literals). */
function typeOf(schema: z.ZodType): string {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return typeOf(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodNullable) return `${typeOf(schema.unwrap() as z.ZodType)} | null`;
  if (schema instanceof z.ZodEnum) return schema.options.map((o) => JSON.stringify(o)).join(" | ");
  if (schema instanceof z.ZodNumber) return "number";
  if (schema instanceof z.ZodBoolean) return "boolean";
  if (schema instanceof z.ZodString) return "string";
  if (schema instanceof z.ZodArray) return `${typeOf(schema.element as z.ZodType)}[]`;
  throw new Error(`config_docs: no TypeScript type for a ${schema.constructor.name}`);
}

/** Words of `text` wrapped to lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

function jsdoc(text: string, indent: string): string {
  const lines = wrap(text, 110 - indent.length - 3);
  if (lines.length === 1 && indent.length + lines[0].length + 7 <= 110) {
    return `${indent}/** ${lines[0]} */\n`;
  }
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}\n`).join("")}${indent} */\n`;
}

/** A markdown paragraph wrapped as `deno fmt` wraps prose. */
function paragraph(text: string): string {
  return wrap(text, 110).join("\n");
}

function doc(path: string[]): string {
  const d = docAt(path);
  if (d === undefined) throw new Error(`config_docs: ${path.join(".")} has no .describe()`);
  return d;
}

/** The content of lib/experiment/config_types.ts. */
export function renderConfigTypes(): string {
  let out =
    "// Generated from lib/experiment/schema.ts by `deno run -A scripts/config_docs.ts`: do not edit.\n" +
    "/**\n * The config types, generated from the zod schema (the documentation of each key is its `.describe()`).\n" +
    " *\n * @module\n */\n";
  for (const g of GROUPS) {
    out += `\n${jsdoc(doc([g.key]), "")}export interface ${g.type} {\n`;
    for (const key of keysAt([g.key])!) {
      out += `${jsdoc(doc([g.key, key]), "  ")}  ${key}: ${typeOf(schemaAt([g.key, key])!)};\n`;
    }
    out += "}\n";
  }
  out += "\n/** A fully resolved, validated config (every key present). */\nexport interface Config {\n";
  for (const g of GROUPS) out += `${jsdoc(doc([g.key]), "  ")}  ${g.key}: ${g.type};\n`;
  out +=
    "}\n\n/** What a config file may contain: any subset of {@link Config}'s keys (before validation). */\n" +
    "export interface ConfigInput {\n";
  for (const g of GROUPS) out += `  /** See {@link ${g.type}}. */\n  ${g.key}?: Partial<${g.type}>;\n`;
  return `${out}}\n`;
}

/** The content of docs/config.md. */
export function renderConfigDocs(): string {
  let out = "# Config reference\n\n" +
    "<!-- Generated from lib/experiment/schema.ts by `deno run -A scripts/config_docs.ts`: do not edit. -->\n\n" +
    paragraph(
      "Every key of an experiment config, with its type and default. An empty config `{}` resolves to the defaults " +
        '(configs/quickstart.jsonc writes them all out); a config may start with `"extends": "base.jsonc"` and ' +
        "override only what differs, and `--set group.key=value` overrides on the command line. Unknown keys are " +
        "errors.",
    ) + "\n";
  for (const g of GROUPS) {
    out += `\n## ${g.key}\n\n${paragraph(doc([g.key]))}\n`;
    const defaults: Record<string, unknown> = { ...DEFAULT_CONFIG[g.key] };
    for (const key of keysAt([g.key])!) {
      const type = typeOf(schemaAt([g.key, key])!);
      // enums list their values in the type; other leaves add what they expect ("a positive integer")
      const what = type.startsWith('"') ? `\`${type}\`` : `\`${type}\` (${expectedAt([g.key, key])})`;
      out += `\n### \`${g.key}.${key}\`\n\n${what}, default \`${JSON.stringify(defaults[key])}\`.\n\n` +
        `${paragraph(doc([g.key, key]))}\n`;
    }
  }
  return out;
}

if (import.meta.main) {
  await runMain(CONFIG_DOCS, ({ values: { check } }) => {
    const root = new URL("../", import.meta.url);
    let stale = 0;
    const files = [[GENERATED.docs, renderConfigDocs()], [GENERATED.types, renderConfigTypes()]];
    for (const [file, text] of files) {
      const url = new URL(file, root);
      if (!check) Deno.writeTextFileSync(url, text);
      else if (Deno.readTextFileSync(url) !== text) {
        console.error(`${file} is out of date: run deno run -A scripts/config_docs.ts`);
        stale++;
      }
    }
    if (stale > 0) Deno.exit(1);
  });
}
