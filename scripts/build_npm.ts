/**
 * Builds the npm package in `dist/`: TypeScript compiles the entry points of deno.json's `exports` (`mod.ts` and
 * each room's `lib/<room>/mod.ts`), everything they import and the worker module the thread pool loads by URL
 * into ES modules (`.js`, relative `.ts` imports rewritten to `.js`) with `.d.ts` declarations beside them, and
 * the script writes `dist/package.json` (name and version from deno.json, the same sub-path `exports`, the npm
 * packages the library imports as dependencies, pinned as in deno.json's import map) and copies README.md and
 * LICENSE.
 *
 * Types are checked by `deno check` (which knows Deno's and Node's built-in types); this build only emits, so a
 * syntax or declaration-emit error fails it but a type error does not.
 *
 * ```sh
 * deno run --allow-read --allow-write=dist --allow-env scripts/build_npm.ts [--out DIR]
 * ```
 *
 * @module
 */
import { copyFile, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { runMain } from "../lib/experiment/cli/_command.ts";
import { BUILD_NPM } from "./_commands.ts";

/** The repository root (the folder above `scripts/`). */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The kernel worker, compiled beside the entry points: no module imports it (the pool starts it from a URL). */
export const WORKER_ENTRY = "lib/kernels/wasm/worker.ts";

/** Options of {@link buildNpm}. */
export interface BuildNpmOptions {
  /** Output folder, emptied first (default `dist` under the root). */
  outDir?: string;
  /** Repository root holding deno.json, mod.ts, README.md and LICENSE (default {@link REPO_ROOT}). */
  root?: string;
}

/** The parts of the written `package.json` that the build computes. */
export interface NpmPackageJson {
  /** Package name (deno.json `name`). */
  name: string;
  /** Package version (deno.json `version`). */
  version: string;
  /** Always `"module"`: every emitted file is an ES module. */
  type: "module";
  /** Entry points: deno.json's sub-paths (`"."`, `"./nn"`, …; types and code) and `"./package.json"`. */
  exports: Record<string, string | Record<string, string>>;
  /** Packages imported statically, with exact versions. */
  dependencies: Record<string, string>;
  /** Packages only reached through a dynamic `import()` (e.g. a native addon needed for one feature). */
  optionalDependencies: Record<string, string>;
  /** `{ node: ">=20" }`. */
  engines: Record<string, string>;
}

/** What {@link buildNpm} produced. */
export interface BuildNpmResult {
  /** Absolute output folder. */
  outDir: string;
  /** Every written file, relative to `outDir`, sorted. */
  files: string[];
  /** The written package.json. */
  packageJson: NpmPackageJson;
}

/** The compiler options of the npm build (module syntax for Node 20, declarations, `.ts` → `.js` imports). */
export function npmCompilerOptions(root: string, outDir: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
    types: [],
    rootDir: root,
    outDir,
    declaration: true,
    rewriteRelativeImportExtensions: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    noCheck: true,
    skipLibCheck: true,
    newLine: ts.NewLineKind.LineFeed,
  };
}

/** Builds the package; throws with the compiler's messages on an emit error. */
export async function buildNpm(opts: BuildNpmOptions = {}): Promise<BuildNpmResult> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const outDir = resolve(root, opts.outDir ?? "dist");
  if (isAncestor(outDir, root)) {
    throw new Error(`refusing to empty ${outDir} (it holds the sources)`);
  }
  const deno = JSON.parse(await readFile(join(root, "deno.json"), "utf8")) as DenoJson;
  await rm(outDir, { recursive: true, force: true });

  const entries = denoExports(deno.exports);
  const options = npmCompilerOptions(root, outDir);
  const program = ts.createProgram(
    [...Object.values(entries), WORKER_ENTRY].map((f) => join(root, f)),
    options,
  );
  // TypeScript rewrites `.ts` imports to `.js` in the code it emits but keeps them in declarations: do the same
  // there, so any consumer's module resolution finds `x.d.ts` beside `x.js`.
  const emit = program.emit(undefined, (file, text, bom) => {
    ts.sys.writeFile(file, file.endsWith(".d.ts") ? jsSpecifiers(text) : text, bom);
  });
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...emit.diagnostics,
  ];
  if (diagnostics.length > 0 || emit.emitSkipped) {
    throw new Error(`TypeScript could not emit:\n${formatDiagnostics(diagnostics, root)}`);
  }

  const { dependencies, optionalDependencies } = npmDependencies(program, root, deno.imports ?? {});
  const packageJson: NpmPackageJson & Record<string, unknown> = {
    name: requireString(deno.name, "name"),
    version: requireString(deno.version, "version"),
    description: "Small transformer language models you train, study and compare on your own CPU.",
    license: deno.license ?? "MIT",
    type: "module",
    main: "./mod.js",
    types: "./mod.d.ts",
    exports: { ...npmExports(entries), "./package.json": "./package.json" },
    files: ["**/*.js", "**/*.d.ts"],
    engines: { node: ">=20" },
    dependencies,
    optionalDependencies,
  };
  await writeFile(join(outDir, "package.json"), JSON.stringify(packageJson, null, 2) + "\n");
  for (const f of ["README.md", "LICENSE"]) await copyFile(join(root, f), join(outDir, f));

  const files = await listFiles(outDir);
  const leftovers = await tsReferences(outDir, files);
  if (leftovers.length > 0) {
    throw new Error(
      `emitted code still names .ts modules (they are not shipped):\n${leftovers.join("\n")}`,
    );
  }
  return { outDir, files, packageJson };
}

/** Rewrites relative `.ts` module specifiers (`from "./x.ts"`, `import("./x.ts")`) in declaration text to `.js`. */
export function jsSpecifiers(text: string): string {
  return text.replace(/(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g, "$1$2$3.js$2");
}

/** The slice of deno.json the build reads. */
interface DenoJson {
  name?: string;
  version?: string;
  exports?: string | Record<string, string>;
  license?: string;
  imports?: Record<string, string>;
}

/**
 * deno.json's `exports` as sub-path → module relative to the root (`"./mod.ts"` → `{ ".": "mod.ts" }`); throws
 * when it has no `"."` entry or an entry is not a `./….ts` module.
 */
export function denoExports(exports: string | Record<string, string> | undefined): Record<string, string> {
  const map = typeof exports === "string" ? { ".": exports } : exports;
  if (map === undefined || !("." in map)) {
    throw new Error(`deno.json's "exports" has no "." entry`);
  }
  const out: Record<string, string> = {};
  for (const [sub, module] of Object.entries(map)) {
    if (!module.startsWith("./") || !module.endsWith(".ts")) {
      throw new Error(`deno.json's exports["${sub}"] must be a "./….ts" module, got "${module}"`);
    }
    out[sub] = module.slice(2);
  }
  return out;
}

/** package.json `exports` for {@link denoExports}' entries: each sub-path → its `.d.ts` and `.js`. */
export function npmExports(entries: Record<string, string>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [sub, module] of Object.entries(entries)) {
    const base = `./${module.replace(/\.ts$/, "")}`;
    out[sub] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  return out;
}

function requireString(v: string | undefined, key: string): string {
  if (typeof v !== "string" || v === "") throw new Error(`deno.json has no "${key}"`);
  return v;
}

/** Whether `dir` is `of` or a folder above it. */
function isAncestor(dir: string, of: string): boolean {
  const rel = relative(dir, of);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], root: string): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  });
}

/**
 * The npm packages the compiled sources import (bare specifiers other than `node:` built-ins), each with the
 * exact version of its `npm:` entry in the import map. A package reached only through `import()` is optional.
 */
export function npmDependencies(
  program: ts.Program,
  root: string,
  importMap: Record<string, string>,
): { dependencies: Record<string, string>; optionalDependencies: Record<string, string> } {
  const statics = new Set<string>(), dynamics = new Set<string>();
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || program.isSourceFileFromExternalLibrary(sf)) continue;
    if (relative(root, sf.fileName).startsWith("..")) continue;
    const visit = (node: ts.Node): void => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        statics.add(node.moduleSpecifier.text);
      } else if (
        ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])
      ) {
        dynamics.add(node.arguments[0].text);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
        const lit = node.argument.literal;
        if (ts.isStringLiteral(lit)) statics.add(lit.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  const dependencies: Record<string, string> = {}, optionalDependencies: Record<string, string> = {};
  const add = (specifier: string, into: Record<string, string>): void => {
    const pkg = packageName(specifier);
    if (pkg === undefined) return;
    into[pkg] = pinnedVersion(pkg, importMap);
  };
  for (const s of [...statics].sort()) add(s, dependencies);
  for (const s of [...dynamics].sort()) if (!statics.has(s)) add(s, optionalDependencies);
  for (const pkg of Object.keys(dependencies)) delete optionalDependencies[pkg];
  return { dependencies, optionalDependencies };
}

/** `"@scope/name/sub"` → `"@scope/name"`, `"name/sub.json"` → `"name"`; undefined for relative and built-in ones. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || /^[a-z]+:/.test(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The exact version of `pkg` in the import map (`"pkg": "npm:pkg@1.2.3"`); throws when it is not pinned there. */
export function pinnedVersion(pkg: string, importMap: Record<string, string>): string {
  const target = importMap[pkg];
  const prefix = `npm:${pkg}@`;
  if (target === undefined || !target.startsWith(prefix)) {
    throw new Error(
      `the library imports "${pkg}", which deno.json's imports do not map to npm:${pkg}@…`,
    );
  }
  return target.slice(prefix.length).replace(/\/$/, "");
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await listFiles(p, base));
    else out.push(relative(base, p).split(sep).join("/"));
  }
  return out.sort();
}

/**
 * Emitted modules allowed to name `.ts` files: the sweep executor starts `deno` on the CLI sources (Deno only; the
 * npm package has neither).
 */
const DENO_ONLY_MODULES: ReadonlySet<string> = new Set(["lib/experiment/sweep_exec.js"]);

/**
 * Emitted `.js` lines that name a relative `.ts` module in a string (e.g. a worker URL, which TypeScript does not
 * rewrite), unless the same line also names its `.js` twin (a runtime choice between the two).
 */
async function tsReferences(outDir: string, files: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const f of files) {
    if (!f.endsWith(".js") || DENO_ONLY_MODULES.has(f)) continue;
    const lines = (await readFile(join(outDir, f), "utf8")).split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/["'`](\.{1,2}\/[^"'`]*)\.ts["'`]/g)) {
        if (!line.includes(`${m[1]}.js`)) found.push(`${f}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

if (import.meta.main) {
  await runMain(BUILD_NPM, async ({ values }) => {
    const started = performance.now();
    const result = await buildNpm({ outDir: values.out });
    const deps = Object.entries(result.packageJson.dependencies).map(([k, v]) => `${k}@${v}`).join(", ");
    console.log(
      `build_npm: ${result.files.length} files in ${relative(Deno.cwd(), result.outDir) || "."} ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s); dependencies: ${deps}`,
    );
  });
}
