/**
 * The layer order of the rooms under `lib/`, written down once, and the tests that hold the code to it.
 *
 * A room is a folder under `lib/` (`lib/random.ts` is the room `random`; `lib/experiment/cli/` is the room
 * `cli`, the edge above everything). A room may import from rooms on lower layers only: never from its own
 * layer's other rooms (siblings know nothing of each other) and never upward. Every import is checked: value
 * and type imports, `export … from`, dynamic `import()` and `import("…")` types.
 *
 * Why this order (docs/architecture.md, "Rooms and arrows"):
 * - `kernels`, `random` and `io` import nothing from the library: typed-array compute, the seeded generator,
 *   atomic file writes.
 * - `tensor` is the autograd engine on the kernels; `nn`, `optim` and `data` build on it (data on nothing but
 *   `random` and `io`).
 * - `train`, `generate`, `eval` and `analysis` use models, optimizers and data.
 * - `report` is a pure function of run and sweep folders (it reads them with `rundir.ts` and `sweepdir.ts`
 *   and draws views that `analysis` computes); it knows no config, no runner.
 * - `experiment` wires a run from a config and writes its report at the end, so it sits above `report`.
 * - `cli` is the command-line edge: argument parsing, exit codes, progress output.
 *
 * A second test keeps `Deno.*` at the edge: only `cli`, the sweep executor (which starts, watches and cancels
 * trial processes) and the run lock (Deno's `flock`) name the `Deno` global.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { assertEquals } from "../_helpers/assert.ts";

/** Layers from the bottom up; each lists its rooms. */
const LAYERS: readonly (readonly string[])[] = [
  ["kernels", "random", "io"],
  ["tensor"],
  ["nn", "optim", "data"],
  ["train", "generate", "eval", "analysis"],
  ["report"],
  ["experiment"],
  ["cli"],
];

/** Files under `lib/` that may name the `Deno` global (besides the `cli` room). */
const DENO_OUTSIDE_CLI: ReadonlySet<string> = new Set([
  "lib/experiment/sweep_exec.ts",
  // the run lock's `flock` (Deno.FsFile.tryLock; Node has none, so under Node it falls back to pids)
  "lib/io/lock.ts",
]);

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const LIB = join(ROOT, "lib");

/** The room of a path relative to the repository root, e.g. `lib/nn/models/gpt.ts` → `nn`. */
function roomOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "lib") return `outside lib/ (${path})`;
  if (parts.length === 2) return parts[1].replace(/\.ts$/, "");
  if (parts[1] === "experiment" && parts[2] === "cli") return "cli";
  return parts[1];
}

function layerOf(room: string): number {
  return LAYERS.findIndex((rooms) => rooms.includes(room));
}

/** Every `.ts` file under `lib/`, relative to the repository root with `/` separators. */
async function libFiles(): Promise<string[]> {
  const entries = await readdir(LIB, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split("\\").join("/"))
    .sort();
}

/** Every module specifier of a file: imports (type imports too), re-exports, `import()` calls and types. */
function specifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The violations of the layer order in one file (empty when it keeps to it). */
export function layerViolations(file: string, source: string): string[] {
  const from = roomOf(file);
  const fromLayer = layerOf(from);
  if (fromLayer < 0) return [`${file}: room "${from}" is not in LAYERS (tests/architecture/layers_test.ts)`];
  const out: string[] = [];
  for (const spec of specifiers(source)) {
    if (!spec.startsWith(".")) continue; // npm:, node: and bare (deno.json) packages are not rooms
    const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).split("\\").join("/");
    const to = roomOf(target);
    if (to === from) continue;
    const toLayer = layerOf(to);
    if (toLayer < 0) {
      out.push(`${file} imports "${spec}": room "${from}" may not import ${to} (not a room in LAYERS)`);
    } else if (toLayer > fromLayer) {
      out.push(
        `${file} imports "${spec}": room "${from}" (layer ${fromLayer}) may not import room "${to}" ` +
          `(layer ${toLayer}, above it)`,
      );
    } else if (toLayer === fromLayer) {
      out.push(
        `${file} imports "${spec}": room "${from}" may not import its sibling "${to}" (both layer ${fromLayer})`,
      );
    }
  }
  return out;
}

/** Whether a file's code (not its comments or strings) names the `Deno` global, e.g. `Deno.pid`. */
function namesDeno(file: string, source: string): boolean {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const visit = (node: ts.Node): boolean => {
    const head = ts.isPropertyAccessExpression(node)
      ? node.expression
      : ts.isQualifiedName(node)
      ? node.left
      : undefined;
    if (head !== undefined && ts.isIdentifier(head) && head.text === "Deno") return true;
    return ts.forEachChild(node, visit) ?? false;
  };
  return visit(sf);
}

Deno.test("layers: every room under lib/ imports only rooms on lower layers", async () => {
  const violations: string[] = [];
  for (const file of await libFiles()) {
    violations.push(...layerViolations(file, await readFile(join(ROOT, file), "utf8")));
  }
  assertEquals(violations, [], `imports against the layer order:\n${violations.join("\n")}`);
});

Deno.test("layers: the checker names the file, the import and both rooms of an upward import", () => {
  const source = 'import type { Config } from "../experiment/config.ts";\nexport type X = Config;\n';
  assertEquals(layerViolations("lib/report/x.ts", source), [
    'lib/report/x.ts imports "../experiment/config.ts": room "report" (layer 4) may not import room ' +
    '"experiment" (layer 5, above it)',
  ]);
  assertEquals(layerViolations("lib/experiment/x.ts", 'export { x } from "./cli/y.ts";\n').length, 1);
  assertEquals(layerViolations("lib/nn/x.ts", 'const m = await import("../optim/adamw.ts");\n').length, 1);
  assertEquals(layerViolations("lib/tensor/x.ts", 'import { Rng } from "../random.ts";\n'), []);
});

Deno.test("layers: Deno.* appears only at the edge (lib/experiment/cli/, the sweep executor, the run lock)", async () => {
  const found: string[] = [];
  for (const file of await libFiles()) {
    if (roomOf(file) === "cli" || DENO_OUTSIDE_CLI.has(file)) continue;
    if (namesDeno(file, await readFile(join(ROOT, file), "utf8"))) found.push(file);
  }
  assertEquals(found, [], `files outside the CLI edge that use Deno.*: ${found.join(", ")}`);
});
