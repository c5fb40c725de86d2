/**
 * The npm package: `scripts/build_npm.ts` emits ESM + declarations into `dist/`, the build runs under plain Node
 * (`tests/npm/smoke.mjs`: import, train a tiny GPT, generate, the kernel worker pool), and `npm pack` ships only
 * the compiled library. Needs `--allow-run=node` (skipped without it) and `--allow-run=npm` for the pack check.
 */
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";
import {
  buildNpm,
  denoExports,
  jsSpecifiers,
  npmExports,
  packageName,
  pinnedVersion,
  REPO_ROOT,
} from "../../scripts/build_npm.ts";

/** Whether `cmd` may be run and starts: its `--version` output, else null. */
function version(cmd: string): string | null {
  if (Deno.permissions.querySync({ name: "run", command: cmd }).state !== "granted") return null;
  try {
    const out = new Deno.Command(cmd, { args: ["--version"], stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

const nodeVersion = version("node");
const npmVersion = nodeVersion === null ? null : version("npm");

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, ...opts, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("build_npm helpers: package names, pinned versions, declaration specifiers", () => {
  assertEquals(packageName("zod"), "zod");
  assertEquals(packageName("typescript/package.json"), "typescript");
  assertEquals(packageName("@observablehq/plot"), "@observablehq/plot");
  assertEquals(packageName("@scope/pkg/sub/path.js"), "@scope/pkg");
  assertEquals(packageName("node:fs/promises"), undefined);
  assertEquals(packageName("./x.ts"), undefined);
  assertEquals(pinnedVersion("zod", { zod: "npm:zod@4.6.7" }), "4.6.7");
  assertEquals(pinnedVersion("@a/b", { "@a/b": "npm:@a/b@1.2.3" }), "1.2.3");
  assertThrows(() => pinnedVersion("left-pad", { zod: "npm:zod@4.6.7" }), "left-pad");
  assertEquals(
    jsSpecifiers(`export { a } from "./lib/a.ts";\nexport * from '../b.ts';\ntype T = import("./c.ts").C;\n`),
    `export { a } from "./lib/a.js";\nexport * from '../b.js';\ntype T = import("./c.js").C;\n`,
  );
  assertEquals(jsSpecifiers(`import { z } from "zod";`), `import { z } from "zod";`);
});

Deno.test("build_npm: deno.json's exports become the package's sub-paths", () => {
  assertEquals(denoExports("./mod.ts"), { ".": "mod.ts" });
  const entries = denoExports({ ".": "./mod.ts", "./nn": "./lib/nn/mod.ts" });
  assertEquals(entries, { ".": "mod.ts", "./nn": "lib/nn/mod.ts" });
  assertEquals(npmExports(entries), {
    ".": { types: "./mod.d.ts", default: "./mod.js" },
    "./nn": { types: "./lib/nn/mod.d.ts", default: "./lib/nn/mod.js" },
  });
  assertThrows(() => denoExports({ "./nn": "./lib/nn/mod.ts" }), `no "." entry`);
  assertThrows(() => denoExports({ ".": "mod.ts" }), `exports["."]`);
});

Deno.test({
  name: "npm package: build, Node smoke test, npm pack contents",
  ignore: nodeVersion === null,
  async fn(t) {
    const built = await buildNpm();
    const dist = built.outDir;

    await t.step("dist: ES modules with declarations and a package.json", () => {
      const files = new Set(built.files);
      for (
        const f of [
          "mod.js",
          "mod.d.ts",
          "lib/kernels/wasm/worker.js",
          "package.json",
          "README.md",
          "LICENSE",
        ]
      ) {
        assertTrue(files.has(f), `dist lacks ${f}`);
      }
      const sources = built.files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
      assertEquals(sources, [], "no TypeScript sources in dist");
      for (const f of built.files.filter((f) => f.endsWith(".js"))) {
        assertTrue(files.has(f.replace(/\.js$/, ".d.ts")), `${f} has no declarations`);
      }
      const pkg = built.packageJson;
      const deno = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)) as {
        name: string;
        version: string;
        exports: Record<string, string>;
        imports: Record<string, string>;
      };
      assertEquals([pkg.name, pkg.version, pkg.type], [deno.name, deno.version, "module"]);
      assertEquals(pkg.exports["."], { types: "./mod.d.ts", default: "./mod.js" });
      // every sub-path of deno.json (./tensor, ./nn, …) is one of the package's, with its code and types built
      assertEquals(Object.keys(pkg.exports).sort(), [...Object.keys(deno.exports), "./package.json"].sort());
      for (const [sub, module] of Object.entries(deno.exports)) {
        const js = module.replace(/^\.\//, "").replace(/\.ts$/, ".js");
        assertEquals(
          pkg.exports[sub],
          { types: `./${js.replace(/\.js$/, ".d.ts")}`, default: `./${js}` },
          sub,
        );
        assertTrue(files.has(js) && files.has(js.replace(/\.js$/, ".d.ts")), `dist lacks ${js} (${sub})`);
      }
      assertEquals(pkg.engines.node, ">=20");
      for (const name of ["zod", "@observablehq/plot", "linkedom", "umap-js"]) {
        assertEquals(`npm:${name}@${pkg.dependencies[name]}`, deno.imports[name], `dependency ${name}`);
      }
      assertEquals(
        pkg.optionalDependencies["@resvg/resvg-js"],
        deno.imports["@resvg/resvg-js"].split("@").pop(),
      );
      const written = JSON.parse(Deno.readTextFileSync(`${dist}/package.json`));
      assertEquals(written.dependencies, pkg.dependencies);
    });

    await t.step("node runs the smoke test (plain, then with the wasm kernels and worker pool)", async () => {
      const plain = await run("node", ["tests/npm/smoke.mjs"], { cwd: REPO_ROOT });
      assertEquals(plain.code, 0, `node smoke failed:\n${plain.stdout}${plain.stderr}`);
      assertTrue(plain.stdout.includes("npm smoke: ok"), plain.stdout);
      // Node 20's V8 ships relaxed SIMD behind a flag; later versions have it on.
      const major = Number(/^v(\d+)/.exec(nodeVersion!)?.[1] ?? 0);
      const flags = major < 22 ? ["--experimental-wasm-relaxed-simd"] : [];
      const wasm = await run("node", [...flags, "tests/npm/smoke.mjs"], {
        cwd: REPO_ROOT,
        env: { LCM_SMOKE_REQUIRE_WASM: "1" },
      });
      assertEquals(wasm.code, 0, `node smoke (wasm) failed:\n${wasm.stdout}${wasm.stderr}`);
      assertTrue(/npm smoke: ok .*wasm backend, 2 thread/.test(wasm.stdout), wasm.stdout);
    });

    await t.step({
      name: "npm pack lists only the compiled library, README, LICENSE and package.json",
      ignore: npmVersion === null,
      fn: async () => {
        const packed = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: dist });
        assertEquals(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
        const [info] = JSON.parse(packed.stdout) as { files: { path: string }[]; entryCount: number }[];
        const paths = info.files.map((f) => f.path);
        assertEquals(info.entryCount, built.files.length);
        const stray = paths.filter((p) =>
          /^(tests|bench|runs|scripts|experiments|configs|docs|node_modules)\//.test(p) ||
          !(/\.(js|d\.ts)$/.test(p) || ["package.json", "README.md", "LICENSE"].includes(p))
        );
        assertEquals(stray, [], "files users do not need");
        assertTrue(paths.includes("mod.js") && paths.includes("lib/kernels/wasm/worker.js"));
      },
    });
  },
});
