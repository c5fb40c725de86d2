/**
 * Outside `lib/tensor` and `lib/kernels`, nothing touches a tensor's storage directly: that is what lets a
 * device keep a tensor's numbers somewhere other than a host typed array (docs/architecture.md, "Devices").
 * Code elsewhere reads values with `t.read()` / `t.readSync()` (`readGradSync(t)` for a gradient), writes them
 * with `t.write()`, runs steps with `withStep()`, and leaves loops over values and gradients to ops.
 *
 * The check is type-aware (the TypeScript checker over every file under `lib/`), so a `.data` of a batch, a
 * config or a safetensors record is not mistaken for a tensor's. A file outside the two rooms may not:
 * - read or write `.data` or `.grad` of a `Tensor` (property access, `["data"]`, or destructuring);
 * - import from `lib/kernels` (the kernels take raw storage; `withArena` and `residentFloat32` live there),
 *   except the modules in {@link KERNEL_MODULES_ALLOWED}; type-only imports are fine;
 * - import the storage-level helpers that ops are written with ({@link OP_INTERNALS}).
 *
 * @module
 */
import { readdir } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { assertEquals } from "../_helpers/assert.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Kernel modules that take no tensor storage, which code outside the two rooms may import. */
const KERNEL_MODULES_ALLOWED: ReadonlySet<string> = new Set([
  "lib/kernels/backend.ts", // choosing the backend (js / wasm)
  "lib/kernels/wasm/pool.ts", // the kernel threads
  "lib/kernels/relpos.ts", // relativePositionBuckets: T5's integer bucket table, from shapes alone
  // the GPU itself: opening it, its adapter, its steps, and the GpuArray type in signatures (what computes on
  // a tensor's GPU values is lib/tensor/gpu's)
  "lib/kernels/webgpu/runtime.ts",
]);

/** Helpers of lib/tensor that hand out or take raw storage for writing ops: ops belong in lib/tensor. */
const OP_INTERNALS: ReadonlyMap<string, readonly string[]> = new Map([
  ["lib/tensor/tensor.ts", ["result"]],
  ["lib/tensor/storage.ts", ["allocate"]],
  ["lib/tensor/grad.ts", ["accumulateGrad", "accumulateSharedGrad", "gradBuffer", "adoptStorage"]],
  ["lib/tensor/saved.ts", ["saveForBackward", "allocateSaved"]],
]);

const rel = (path: string) => relative(ROOT, path).split("\\").join("/");
const covered = (file: string) => !/^lib\/(tensor|kernels)\//.test(file);

/** Every `.ts` file under `lib/`, absolute. */
async function libFiles(): Promise<string[]> {
  const entries = await readdir(join(ROOT, "lib"), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => join(e.parentPath, e.name));
}

/**
 * The storage violations of the files under `lib/` outside lib/tensor and lib/kernels among `roots` (absolute
 * paths; `extra` adds in-memory files, for the test of the checker itself), each as `file:line: what`.
 */
export function storageViolations(roots: readonly string[], extra: ReadonlyMap<string, string> = new Map()) {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2022.d.ts"],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) => {
    const text = extra.get(name);
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  };
  host.fileExists = (name) => extra.has(name) || fileExists(name);
  host.readFile = (name) => extra.get(name) ?? readFile(name);
  const program = ts.createProgram([...roots, ...extra.keys()], options, host);
  const checker = program.getTypeChecker();
  const out: string[] = [];

  const declaredIn = (sym: ts.Symbol | undefined): { file: string; decl: ts.Declaration }[] => {
    if (sym === undefined) return [];
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    return (target.declarations ?? []).map((decl) => ({ file: rel(decl.getSourceFile().fileName), decl }));
  };
  // whether `sym` is the `data` or `grad` member of the Tensor class
  const isTensorStorage = (sym: ts.Symbol | undefined) =>
    declaredIn(sym).some(({ file, decl }) =>
      file === "lib/tensor/tensor.ts" && ts.isClassDeclaration(decl.parent) &&
      decl.parent.name?.text === "Tensor"
    );

  for (const sf of program.getSourceFiles()) {
    const file = rel(sf.fileName);
    if (!file.startsWith("lib/") || !covered(file)) continue;
    const report = (node: ts.Node, what: string) => {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      out.push(`${file}:${line}: ${what}`);
    };
    const storageUse = (node: ts.Node, name: string) =>
      report(
        node,
        `touches a Tensor's .${name} (its storage): use t.read() / t.readSync() / t.write()` +
          (name === "grad" ? ", readGradSync(t), t.zeroGrad()" : "") + " or an op in lib/tensor",
      );
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node) && /^(data|grad)$/.test(node.name.text)) {
        if (isTensorStorage(checker.getSymbolAtLocation(node.name))) storageUse(node, node.name.text);
      } else if (
        ts.isElementAccessExpression(node) && ts.isStringLiteral(node.argumentExpression) &&
        /^(data|grad)$/.test(node.argumentExpression.text)
      ) {
        const name = node.argumentExpression.text;
        if (isTensorStorage(checker.getTypeAtLocation(node.expression).getProperty(name))) {
          storageUse(node, name);
        }
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const key = node.propertyName ?? node.name;
        const name = ts.isIdentifier(key) ? key.text : "";
        if (
          /^(data|grad)$/.test(name) &&
          isTensorStorage(checker.getTypeAtLocation(node.parent).getProperty(name))
        ) storageUse(node, name);
      } else if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier !== undefined &&
        !(ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly : node.isTypeOnly)
      ) {
        checkImport(node, node.moduleSpecifier as ts.StringLiteral);
      }
      ts.forEachChild(node, visit);
    };
    const checkImport = (node: ts.ImportDeclaration | ts.ExportDeclaration, spec: ts.StringLiteral) => {
      const module = ts.resolveModuleName(spec.text, sf.fileName, options, host).resolvedModule;
      const target = module === undefined ? "" : rel(module.resolvedFileName);
      if (target.startsWith("lib/kernels/") && !KERNEL_MODULES_ALLOWED.has(target)) {
        report(node, `imports ${target} (kernels take raw storage): call an op of lib/tensor instead`);
        return;
      }
      const internals = OP_INTERNALS.get(target);
      if (internals === undefined) return;
      const clause = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
      const elements = clause !== undefined && (ts.isNamedImports(clause) || ts.isNamedExports(clause))
        ? clause.elements
        : [];
      for (const el of elements) {
        const name = (el.propertyName ?? el.name).text;
        if (!el.isTypeOnly && internals.includes(name)) {
          report(el, `imports ${name} from ${target} (storage for writing ops): write the op in lib/tensor`);
        }
      }
    };
    visit(sf);
  }
  return out.sort();
}

Deno.test("storage: outside lib/tensor and lib/kernels nothing touches a tensor's storage", async () => {
  const files = (await libFiles()).filter((f) => covered(rel(f)));
  const found = storageViolations(files);
  assertEquals(found, [], `tensor storage touched outside lib/tensor and lib/kernels:\n${found.join("\n")}`);
});

Deno.test("storage: the checker names each kind of violation, and not a .data that is no tensor's", () => {
  const path = join(ROOT, "lib/nn/violation.ts");
  const source = [
    'import { Tensor } from "../tensor/tensor.ts";',
    'import { withArena } from "../kernels/wasm/runtime.ts";',
    'import { accumulateGrad } from "../tensor/grad.ts";',
    "const t = Tensor.zeros([2]);",
    "t.data[0] = 1;",
    'const { grad } = t, g = t["grad"];',
    "const batch = { data: new Float32Array(2) };",
    "export const x = [batch.data[0], grad, g, withArena, accumulateGrad];",
  ].join("\n");
  assertEquals(storageViolations([], new Map([[path, source]])), [
    "lib/nn/violation.ts:2: imports lib/kernels/wasm/runtime.ts (kernels take raw storage): call an op of " +
    "lib/tensor instead",
    "lib/nn/violation.ts:3: imports accumulateGrad from lib/tensor/grad.ts (storage for writing ops): write " +
    "the op in lib/tensor",
    "lib/nn/violation.ts:5: touches a Tensor's .data (its storage): use t.read() / t.readSync() / t.write() " +
    "or an op in lib/tensor",
    "lib/nn/violation.ts:6: touches a Tensor's .grad (its storage): use t.read() / t.readSync() / t.write(), " +
    "readGradSync(t), t.zeroGrad() or an op in lib/tensor",
    "lib/nn/violation.ts:6: touches a Tensor's .grad (its storage): use t.read() / t.readSync() / t.write(), " +
    "readGradSync(t), t.zeroGrad() or an op in lib/tensor",
  ]);
});
