/**
 * The command lines of the scripts/ entry points, declared once (see lib/experiment/cli/_command.ts): each script
 * parses its arguments by its declaration here, and scripts/cli_docs.ts renders them into docs/cli.md. They live
 * in this light module, not in the scripts, because two of the scripts load a compiler on import (TypeScript,
 * esbuild) that wants environment access which cli_docs.ts does not have.
 *
 * @module
 */
import type { Command } from "../lib/experiment/cli/_command.ts";

/** The declaration of `deno task build:npm` (scripts/build_npm.ts). */
export const BUILD_NPM = {
  name: "build_npm",
  run: "deno task build:npm",
  description:
    "Builds the npm package: compiles the entry points of deno.json's exports and everything they " +
    "import into ES modules with .d.ts declarations (Node >= 20), and writes package.json (the same sub-path " +
    "exports, the npm dependencies pinned as in deno.json), README.md and LICENSE beside them. Types are " +
    "checked by deno task check, not here.",
  positionals: [],
  flags: {
    out: {
      type: "string",
      default: "dist",
      value: "DIR",
      description:
        "output folder, relative to the repository root, emptied first (the task may write only dist/)",
    },
  },
  examples: ["deno task build:npm"],
} as const satisfies Command;

/** The declaration of `deno task build:playground` (scripts/build_playground.ts). */
export const BUILD_PLAYGROUND = {
  name: "build_playground",
  run: "deno task build:playground",
  description: "Bundles the browser playground (docs/playground/) with esbuild into docs/playground/dist/: " +
    "app.js (the page and its training worker) and worker.js (a kernel thread). With --serve it then serves " +
    "docs/playground/ on 127.0.0.1 with the cross-origin isolation headers the page needs for threads.",
  positionals: [],
  flags: {
    sourcemap: { type: "boolean", description: "also write source maps (app.js.map, worker.js.map)" },
    serve: { type: "boolean", description: "after the build, serve the playground until stopped (Ctrl-C)" },
    port: {
      type: "integer",
      min: 0,
      default: 8000,
      value: "N",
      description: "the port --serve listens on (0 picks a free one)",
    },
  },
  examples: ["deno task build:playground", "deno task build:playground --serve --port 8000"],
} as const satisfies Command;

/** The declaration of `deno task build:wasm` (scripts/build_wasm.ts). */
export const BUILD_WASM = {
  name: "build_wasm",
  run: "deno task build:wasm",
  description:
    "Compiles the WASM SIMD kernels from their AssemblyScript source (lib/kernels/wasm/assembly/, " +
    "with the pinned npm assemblyscript@0.28.20) and embeds the binary as base64 in " +
    "lib/kernels/wasm/kernels_wasm.ts. With --check it writes nothing and fails when the committed module is " +
    "not what the source compiles to (CI: the build is reproducible).",
  positionals: [],
  flags: {
    check: {
      type: "boolean",
      description: "compare with the committed module instead of writing it; exit 1 if it differs",
    },
  },
  examples: ["deno task build:wasm", "deno task build:wasm --check"],
} as const satisfies Command;

/** The declaration of scripts/config_docs.ts. */
export const CONFIG_DOCS = {
  name: "config_docs",
  run: "deno run --allow-read --allow-write scripts/config_docs.ts",
  description: "Generates the config reference from the schema (lib/experiment/schema.ts): docs/config.md " +
    "(every key with its type, default and documentation) and lib/experiment/config_types.ts (the Config " +
    "types with the same documentation as JSDoc).",
  positionals: [],
  flags: {
    check: { type: "boolean", description: "write nothing; exit 1 when either file is out of date" },
  },
  examples: ["deno run --allow-read --allow-write scripts/config_docs.ts --check"],
} as const satisfies Command;

/** The declaration of scripts/cli_docs.ts. */
export const CLI_DOCS = {
  name: "cli_docs",
  run: "deno run --allow-read --allow-write=docs scripts/cli_docs.ts",
  description: "Generates docs/cli.md, the command-line reference, from the commands' declarations (each " +
    "command declares its flags once, in the file that runs it or, for scripts/, in scripts/_commands.ts).",
  positionals: [],
  flags: {
    check: { type: "boolean", description: "write nothing; exit 1 when docs/cli.md is out of date" },
  },
  examples: ["deno run --allow-read --allow-write=docs scripts/cli_docs.ts --check"],
} as const satisfies Command;

/** The declaration of scripts/size.ts. */
export const SIZE = {
  name: "size",
  run: "deno run --allow-read scripts/size.ts",
  description:
    "The size of the code base: files, lines and lines of code (neither blank nor comment-only) per " +
    "room of lib/ and per top-level folder, with totals; generated files, build outputs, node_modules/ and " +
    "runs/ are left out. CI prints it.",
  positionals: [
    { name: "ROOT", optional: true, description: "the folder to measure (default: the repository root)" },
  ],
  flags: {},
  examples: ["deno run --allow-read scripts/size.ts"],
} as const satisfies Command;
