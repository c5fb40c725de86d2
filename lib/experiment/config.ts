/**
 * Loading experiment configs: JSONC files with `"extends"`, `--set a.b=value` overrides, schema validation, and
 * one-line errors that name the file (or override), the key path and what was expected.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { JsoncSyntaxError, type JsonValue, parseJsonc } from "./jsonc.ts";
import {
  type Config,
  type ConfigInput,
  configZod,
  expectedAt,
  isStringAt,
  keysAt,
  schemaAt,
} from "./schema.ts";
import { closest } from "./suggest.ts";

export type { Config, ConfigInput, DataConfig, ModelConfig, RunConfig, TrainConfig } from "./schema.ts";
export { DEFAULT_CONFIG } from "./schema.ts";

/** The source name used for the embedded default config. */
export const DEFAULT_SOURCE = "<default>";
/** The source name of a config given as an object (`loadConfig({ config })`, {@link parseConfig}). */
export const OBJECT_SOURCE = "<config object>";

/** A config problem. The message is one line: `<source>: <key.path>: expected <what>, got <value>`. */
export class ConfigError extends Error {
  /** Where the problem comes from: a file path, `--set a.b=v`, `<default>`, or `file:line:col`. */
  readonly source: string;

  /** Builds `<source>: <detail>`, with any line breaks folded into spaces. */
  constructor(source: string, detail: string) {
    super(`${source}: ${detail}`.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "ConfigError";
    this.source = source;
  }
}

/** One parsed `--set` override. */
export interface SetOverride {
  /** Key path, e.g. `["model", "n_layer"]`. */
  path: string[];
  /** The value, parsed as JSON when it parses, else the raw text. */
  value: JsonValue;
  /** The raw text after `=`. */
  raw: string;
  /** The whole override as given, e.g. `model.n_layer=2` (used as `--set <source>` in errors). */
  source: string;
}

/** Parses `a.b.c=value`; the value is JSON when it parses (numbers, booleans, null, arrays, "strings"), else raw. */
export function parseSetOverride(s: string): SetOverride {
  const eq = s.indexOf("=");
  const key = eq < 0 ? "" : s.slice(0, eq).trim();
  const path = key.split(".");
  if (eq < 0 || path.some((p) => !/^[A-Za-z0-9_]+$/.test(p))) {
    throw new ConfigError(
      `--set ${s}`,
      `expected key.path=value (e.g. model.n_layer=2), got ${formatValue(s)}`,
    );
  }
  const raw = s.slice(eq + 1);
  let value: JsonValue;
  try {
    value = JSON.parse(raw) as JsonValue;
  } catch {
    value = raw;
  }
  return { path, value, raw, source: s };
}

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** A JSONC config file; absent = the embedded default (`DEFAULT_CONFIG`). */
  path?: string;
  /**
   * A config object, partial like a file (`{ model: { n_layer: 2 } }`): deep-merged over the file (or the
   * defaults), before `sets`.
   */
  config?: ConfigInput;
  /** `key.path=value` overrides, applied in order after the file and the object. */
  sets?: string[];
}

/** A resolved config and where it came from. */
export interface LoadedConfig {
  /** The validated config. */
  config: Config;
  /** Contributing sources in the order applied: base files first, then `--set …` entries. */
  sources: string[];
}

type Obj = { [key: string]: JsonValue };
/** Who provided each key path (dotted); later providers overwrite earlier ones. */
type Provenance = Map<string, string>;

const isObj = (v: JsonValue | undefined): v is Obj =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function setKey(o: Obj, key: string, value: JsonValue): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function forget(prov: Provenance, path: string): void {
  for (const k of [...prov.keys()]) if (k.startsWith(path + ".")) prov.delete(k);
}

/** Deep-merges `src` into `target`: objects merge, arrays and scalars replace. Records provenance. */
function mergeInto(target: Obj, src: Obj, prefix: string, source: string, prov: Provenance): void {
  for (const key of Object.keys(src)) {
    const p = prefix ? `${prefix}.${key}` : key;
    const v = src[key];
    prov.set(p, source);
    if (isObj(v)) {
      if (!isObj(target[key])) {
        forget(prov, p);
        setKey(target, key, {});
      }
      mergeInto(target[key] as Obj, v, p, source, prov);
    } else {
      forget(prov, p);
      setKey(target, key, v);
    }
  }
}

function readJsonc(file: string, extendedBy?: string): Obj {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
      ? "is a directory"
      : `cannot read (${code})`;
    throw new ConfigError(file, extendedBy ? `${why} (extended by ${extendedBy})` : why);
  }
  let data: JsonValue;
  try {
    data = parseJsonc(text);
  } catch (e) {
    if (e instanceof JsoncSyntaxError) {
      throw new ConfigError(`${file}:${e.line}:${e.column}`, `invalid JSONC: ${e.reason}`);
    }
    throw e;
  }
  if (!isObj(data)) {
    throw new ConfigError(file, `expected an object at the top level, got ${formatValue(data)}`);
  }
  return data;
}

/** Loads `file` and its `extends` chain into `target` (bases first); returns the files in merge order. */
function loadChain(
  file: string,
  target: Obj,
  prov: Provenance,
  chain: string[],
  extendedBy?: string,
): string[] {
  const abs = resolve(file);
  const seen = chain.findIndex((f) => resolve(f) === abs);
  if (seen >= 0) {
    throw new ConfigError(extendedBy ?? file, `extends: cycle ${[...chain.slice(seen), file].join(" -> ")}`);
  }
  const data = readJsonc(file, extendedBy);
  let files: string[] = [];
  if (Object.hasOwn(data, "extends")) {
    const base = data.extends;
    if (typeof base !== "string" || base === "") {
      throw new ConfigError(file, `extends: expected a path to a base config, got ${formatValue(base)}`);
    }
    delete data.extends;
    const basePath = isAbsolute(base) ? base : join(dirname(file), base);
    files = loadChain(basePath, target, prov, [...chain, file], file);
  }
  mergeInto(target, data, "", file, prov);
  return [...files, file];
}

function applySet(target: Obj, set: SetOverride, prov: Provenance): void {
  const source = `--set ${set.source}`;
  for (let i = 1; i <= set.path.length; i++) {
    if (!schemaAt(set.path.slice(0, i))) {
      throw new ConfigError(source, unknownKey(set.path.slice(0, i)));
    }
  }
  let o = target;
  for (const key of set.path.slice(0, -1)) {
    if (!isObj(o[key])) setKey(o, key, {});
    o = o[key] as Obj;
  }
  const value = isStringAt(set.path) && typeof set.value !== "string" ? set.raw : set.value;
  setKey(o, set.path[set.path.length - 1], value);
  const p = set.path.join(".");
  forget(prov, p);
  prov.set(p, source);
}

/**
 * Resolves a config: reads `opts.path` (JSONC, following `"extends"` relative to each file; bases are deep-merged
 * under their children), merges `opts.config` over it, applies `opts.sets` in order, and validates. Throws
 * {@link ConfigError} on any problem, one line naming the source (file, `<config object>`, `--set …`), the key
 * path and what was expected.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const data: Obj = {};
  const prov: Provenance = new Map();
  const sources = opts.path === undefined ? [] : loadChain(opts.path, data, prov, []);
  if (opts.config !== undefined) {
    const obj = opts.config as JsonValue;
    if (!isObj(obj)) throw new ConfigError(OBJECT_SOURCE, `expected an object, got ${formatValue(obj)}`);
    mergeInto(data, obj, "", OBJECT_SOURCE, prov);
    sources.push(OBJECT_SOURCE);
  }
  const top = sources.at(-1) ?? DEFAULT_SOURCE;
  if (sources.length === 0) sources.push(DEFAULT_SOURCE);
  for (const s of opts.sets ?? []) {
    const set = parseSetOverride(s);
    applySet(data, set, prov);
    sources.push(`--set ${set.source}`);
  }
  const result = configZod.safeParse(data, { reportInput: true });
  if (result.success) return { config: result.data, sources };
  // An unknown key is the likeliest root cause (a typo), so report it before the errors it may explain.
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
  const at = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    const path = [...at, issue.keys[0]];
    const source = sourceOf(prov, path, [], top);
    throw new ConfigError(source, unknownKey(path, !source.startsWith("--set ")));
  }
  const related = issue.code === "custom" ? ((issue.params?.related ?? []) as string[]) : [];
  const expected = issue.code === "custom" ? issue.message : expectedAt(at);
  const where = at.length ? `${formatPath(at)}: ` : "";
  const got = formatValue((issue.input ?? valueAt(data, at)) as JsonValue | undefined);
  const what = expected === undefined ? issue.message : `expected ${expected}`;
  throw new ConfigError(sourceOf(prov, at, related, top), `${where}${what}, got ${got}`);
}

/**
 * Validates a config object (partial: missing keys take their defaults) and returns the resolved config; throws
 * a {@link ConfigError} with the CLI's one-line message (`<config object>: model.n_layr: unknown key (did you
 * mean model.n_layer?)`). `loadConfig({ config })` does the same and can add a file under it and overrides.
 */
export function parseConfig(input: unknown): Config {
  return loadConfig({ config: input as ConfigInput }).config;
}

/**
 * The experiment config's schema. `parse` is {@link parseConfig} (the one-line {@link ConfigError}s the CLI
 * prints); `safeParse` returns the schema's own outcome, each problem with its key path, for tools.
 */
export const ConfigSchema: {
  /** Validates `input` and fills in the defaults; throws a {@link ConfigError} naming the first problem. */
  parse(input: unknown): Config;
  /** Validates without throwing: the config, or every problem with its key path. */
  safeParse(input: unknown):
    | { success: true; data: Config }
    | { success: false; error: Error & { issues: readonly { path: PropertyKey[]; message: string }[] } };
} = { parse: parseConfig, safeParse: (input) => configZod.safeParse(input) };

/** `["data", "paths", "1"]` → `data.paths[1]`. */
function formatPath(path: readonly string[]): string {
  return path.map((k, i) => /^[0-9]+$/.test(k) ? `[${k}]` : i === 0 ? k : `.${k}`).join("");
}

/** The source that provided `path` (or a related key, or the nearest enclosing object), else `fallback`. */
function sourceOf(prov: Provenance, path: string[], related: string[], fallback: string): string {
  for (const p of [path.join("."), ...related]) {
    const s = prov.get(p);
    if (s !== undefined) return s;
  }
  for (let i = path.length - 1; i > 0; i--) {
    const s = prov.get(path.slice(0, i).join("."));
    if (s !== undefined) return s;
  }
  return fallback;
}

function valueAt(data: JsonValue, path: string[]): JsonValue | undefined {
  let v: JsonValue | undefined = data;
  for (const key of path) {
    v = isObj(v) && Object.hasOwn(v, key) ? v[key] : Array.isArray(v) ? v[Number(key)] : undefined;
  }
  return v;
}

/** `a.b.c: unknown key (did you mean a.b.d?)` for a path whose last key does not exist. */
function unknownKey(path: string[], inFile = false): string {
  const key = path[path.length - 1];
  const parent = path.slice(0, -1);
  const candidates = [...(keysAt(parent) ?? []), ...(inFile && parent.length === 0 ? ["extends"] : [])];
  const best = closest(key, candidates);
  const hint = best === undefined ? "" : ` (did you mean ${[...parent, best].join(".")}?)`;
  return `${formatPath(path)}: unknown key${hint}`;
}

function formatValue(v: JsonValue | undefined): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Canonical JSON: keys sorted recursively, 2-space indent, no trailing newline (what `config.json` holds). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

function sortKeys(v: unknown): unknown {
  if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    Object.defineProperty(out, k, {
      value: sortKeys((v as Record<string, unknown>)[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** SHA-256 (hex) of {@link canonicalJson} of the config: equal configs hash equal whatever their key order. */
export function configHash(config: Config): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
