/**
 * Bundles the browser playground (`docs/playground/`) with esbuild (npm `esbuild@0.24.2`, its native binary):
 *
 * - `docs/playground/dist/app.js`: the page's code (`docs/playground/main.ts`), which also runs as the page's
 *   training worker;
 * - `docs/playground/dist/worker.js`: a kernel thread (`lib/kernels/wasm/worker.ts`), started by the thread pool
 *   when the page is cross-origin isolated.
 *
 * The bundles target browsers: `node:worker_threads` (the thread pool's only Node import on the page's path) is
 * replaced by a small adapter over Web Workers, and any other `node:` import fails the build, naming the importer.
 *
 *   deno run --allow-read --allow-write=docs/playground/dist --allow-env --allow-run scripts/build_playground.ts
 *   … scripts/build_playground.ts --sourcemap     # with source maps (`app.js.map`, `worker.js.map`)
 *   … --allow-net=127.0.0.1 scripts/build_playground.ts --serve [--port 8000]   # then serve it
 *
 * Any static server will do for `docs/playground/`; to get threads it must send the headers
 * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`, as `--serve`
 * does (on 127.0.0.1 only).
 *
 * @module
 */
// deno-lint-ignore no-import-prefix -- pinned here, like the AssemblyScript compiler in build_wasm.ts
import * as esbuild from "npm:esbuild@0.24.2";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runMain } from "../lib/experiment/cli/_command.ts";
import { BUILD_PLAYGROUND } from "./_commands.ts";

/** The playground's folder. */
export const PLAYGROUND_DIR: string = fileURLToPath(new URL("../docs/playground/", import.meta.url));
/** Where the bundles go (git-ignored). */
export const PLAYGROUND_DIST: string = join(PLAYGROUND_DIR, "dist");

/**
 * `node:worker_threads` for the browser: `Worker` wraps a module Web Worker (a `.ts` module URL is taken as the
 * bundle of the same name, `.js`), and `parentPort` is the worker's own scope (null outside a worker).
 */
const WORKER_THREADS_SHIM = `
const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;
export const isMainThread = !inWorker;
export class Worker {
  #w;
  constructor(url) {
    const href = new URL(String(url).replace(/\\.ts$/, ".js")).href;
    this.#w = new globalThis.Worker(href, { type: "module" });
    this.#w.addEventListener("error", (e) => console.error("worker " + href + ": " + (e.message || "failed to load")));
  }
  on(event, fn) {
    this.#w.addEventListener(event, (e) => fn(e.data ?? e));
    return this;
  }
  once(event, fn) {
    this.#w.addEventListener(event, (e) => fn(e.data ?? e), { once: true });
    return this;
  }
  postMessage(message) {
    this.#w.postMessage(message);
  }
  ref() {}
  unref() {}
  terminate() {
    this.#w.terminate();
    return Promise.resolve(0);
  }
}
export const parentPort = inWorker
  ? {
    on(event, fn) {
      self.addEventListener(event, (e) => fn(e.data));
      return this;
    },
    once(event, fn) {
      self.addEventListener(event, (e) => fn(e.data), { once: true });
      return this;
    },
    postMessage(message) {
      self.postMessage(message);
    },
  }
  : null;
`;

/** Replaces `node:worker_threads` with the adapter above and refuses every other Node built-in. */
const browserNode: esbuild.Plugin = {
  name: "browser-node",
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => {
      if (args.path === "node:worker_threads") return { path: args.path, namespace: "node-shim" };
      return {
        errors: [{ text: `${args.path} (imported by ${args.importer}) does not exist in a browser` }],
      };
    });
    build.onLoad({ filter: /.*/, namespace: "node-shim" }, () => ({
      contents: WORKER_THREADS_SHIM,
      loader: "js",
    }));
  },
};

/** What {@link buildPlayground} wrote. */
export interface PlaygroundBuild {
  /** Each output file (absolute path) and its size in bytes. */
  files: { path: string; bytes: number }[];
  /** esbuild's warnings, formatted. */
  warnings: string[];
}

/** Bundles the playground into {@link PLAYGROUND_DIST}; throws with esbuild's messages when the build fails. */
export async function buildPlayground(opts: { sourcemap?: boolean; minify?: boolean } = {}): Promise<
  PlaygroundBuild
> {
  try {
    const result = await esbuild.build({
      entryPoints: {
        app: join(PLAYGROUND_DIR, "main.ts"),
        worker: fileURLToPath(new URL("../lib/kernels/wasm/worker.ts", import.meta.url)),
      },
      outdir: PLAYGROUND_DIST,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: opts.minify ?? true,
      sourcemap: opts.sourcemap ?? false,
      legalComments: "none",
      metafile: true,
      logLevel: "silent",
      plugins: [browserNode],
    });
    const files = Object.entries(result.metafile.outputs).map(([path, o]) => ({
      path: join(Deno.cwd(), path),
      bytes: o.bytes,
    }));
    const warnings = await esbuild.formatMessages(result.warnings, { kind: "warning", color: false });
    return { files, warnings };
  } finally {
    await esbuild.stop();
  }
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  map: "application/json",
};

/**
 * Serves {@link PLAYGROUND_DIR} on 127.0.0.1 with the cross-origin isolation headers (so the page gets threads);
 * port 0 picks a free one.
 */
export function servePlayground(port: number): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    let path = decodeURIComponent(new URL(req.url).pathname);
    if (path.endsWith("/")) path += "index.html";
    if (path.split("/").includes("..")) return new Response("not found", { status: 404 });
    const headers = new Headers({
      "content-type": CONTENT_TYPES[path.split(".").pop()!] ?? "application/octet-stream",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    });
    try {
      return new Response(await Deno.readFile(join(PLAYGROUND_DIR, path)), { headers });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

if (import.meta.main) {
  await runMain(BUILD_PLAYGROUND, async ({ values }) => {
    try {
      const { files, warnings } = await buildPlayground({ sourcemap: values.sourcemap });
      for (const w of warnings) console.warn(w);
      for (const f of files) console.log(`${f.path}  ${(f.bytes / 1024).toFixed(1)} KiB`);
    } catch (e) {
      const errors = (e as { errors?: esbuild.Message[] }).errors;
      if (!errors) throw e;
      for (const m of await esbuild.formatMessages(errors, { kind: "error", color: false })) console.error(m);
      Deno.exit(1);
    }
    if (values.serve) {
      const server = servePlayground(values.port);
      console.log(
        `playground: http://127.0.0.1:${server.addr.port}/ (cross-origin isolated; Ctrl-C to stop)`,
      );
    }
  });
}
