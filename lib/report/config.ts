/**
 * Flattening nested configs into key paths (`model.n_layer`) and finding the paths whose values differ between
 * runs.
 *
 * @module
 */

/** A config leaf: its dotted key path and its value shown as text. */
export interface ConfigEntry {
  /** Dotted path, e.g. `train.learning_rate`. */
  path: string;
  /** The value as text: strings as-is, everything else as JSON. */
  value: string;
}

/** A row of a config diff: one key path, its value in each run (`undefined` where the run lacks the path). */
export interface ConfigDiffRow {
  /** Dotted key path. */
  path: string;
  /** One value per config, in input order. */
  values: (string | undefined)[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (typeof v === "string") return v;
  return JSON.stringify(v) ?? String(v);
}

function leaves(config: unknown, prefix: string, out: Array<[string, unknown]>): void {
  if (!isPlainObject(config) || (Object.keys(config).length === 0 && prefix !== "")) {
    out.push([prefix, config]);
    return;
  }
  for (const [k, v] of Object.entries(config)) leaves(v, prefix === "" ? k : `${prefix}.${k}`, out);
}

/**
 * Flattens a config into leaves in document order. Objects are walked; arrays, primitives, `null` and empty
 * objects are leaves.
 */
export function flattenConfig(config: unknown): ConfigEntry[] {
  const out: Array<[string, unknown]> = [];
  leaves(config, "", out);
  return out.map(([path, v]) => ({ path, value: show(v) }));
}

/**
 * The key paths whose values are not identical in every config (a path missing from some config counts as a
 * difference), in order of first appearance. Values compare as JSON, so the string `"1"` differs from `1`.
 */
export function configDiff(configs: unknown[]): ConfigDiffRow[] {
  const maps = configs.map((c) => {
    const out: Array<[string, unknown]> = [];
    leaves(c, "", out);
    return new Map(out);
  });
  const paths = [...new Set(maps.flatMap((m) => [...m.keys()]))];
  const rows: ConfigDiffRow[] = [];
  for (const path of paths) {
    const json = maps.map((m) => (m.has(path) ? JSON.stringify(m.get(path)) ?? "undefined" : undefined));
    if (json.some((j) => j !== json[0])) {
      rows.push({ path, values: maps.map((m) => (m.has(path) ? show(m.get(path)) : undefined)) });
    }
  }
  return rows;
}
