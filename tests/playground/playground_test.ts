/**
 * The browser playground (`docs/playground/`) end to end: builds the bundles (`scripts/build_playground.ts`),
 * serves the folder on 127.0.0.1, opens `?autotest=1` in headless Chromium and checks that the page trained (the
 * loss fell), drew the chart, sampled text, reported its threads truthfully, and logged nothing to the console.
 *
 * Served twice: with `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`
 * (cross-origin isolated: kernel threads), and without them (one thread, and the status line says so).
 *
 * Chromium is driven over the DevTools protocol rather than with `--dump-dom --virtual-time-budget`: training runs
 * in a Web Worker, and virtual time runs out while the page itself is idle, long before the worker is done.
 *
 * Needs `/usr/bin/chromium` and the permissions `--allow-run=/usr/bin/chromium,deno` (the build runs in a `deno`
 * subprocess, since esbuild starts its own binary), `--allow-net=127.0.0.1`, `--allow-read`, `--allow-write` and
 * `--allow-env`; skipped otherwise.
 */
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { CHROMIUM, chromiumRunnable, headless } from "../_helpers/chromium.ts";

const ROOT = new URL("../../docs/playground/", import.meta.url);

function granted(desc: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(desc).state === "granted";
}

const canRun = chromiumRunnable() &&
  granted({ name: "run", command: "deno" }) && granted({ name: "net", host: "127.0.0.1" }) &&
  granted({ name: "write" }) && granted({ name: "read" }) && granted({ name: "env" });

/** The deno executable for the build subprocess (as the sweep executor picks it). */
function denoCommand(): string {
  const self = Deno.execPath();
  return granted({ name: "run", command: self }) ? self : "deno";
}

async function buildBundles(): Promise<void> {
  const out = await new Deno.Command(denoCommand(), {
    args: [
      "run",
      "--no-lock",
      "--allow-read",
      "--allow-write=docs/playground/dist",
      "--allow-env",
      "--allow-run",
      "scripts/build_playground.ts",
    ],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertTrue(out.success, `build_playground failed:\n${text}`);
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  map: "application/json",
};

/**
 * Serves the playground folder: under `/isolated/` with the cross-origin isolation headers, under `/plain/`
 * without them.
 */
function serve(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const m = /^\/(isolated|plain)(\/[\w./-]*)$/.exec(new URL(req.url).pathname);
    if (m === null || m[2].includes("..")) return new Response("not found", { status: 404 });
    const path = m[2].endsWith("/") ? `${m[2]}index.html` : m[2];
    const headers = new Headers({
      "content-type": TYPES[path.split(".").pop()!] ?? "application/octet-stream",
    });
    if (m[1] === "isolated") {
      headers.set("cross-origin-opener-policy", "same-origin");
      headers.set("cross-origin-embedder-policy", "require-corp");
    }
    try {
      return new Response(await Deno.readFile(new URL(`.${path}`, ROOT)), { headers });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

/** A minimal DevTools protocol client over one browser WebSocket (flattened sessions). */
class Cdp {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners: Array<(method: string, params: Record<string, unknown>, session?: string) => void> = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data as string);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${msg.error.message} (${msg.error.code})`));
        else p?.resolve(msg.result);
      } else {
        for (const f of this.#listeners) f(msg.method, msg.params ?? {}, msg.sessionId);
      }
    };
  }

  static connect(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new Cdp(ws));
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  send<T = Record<string, unknown>>(method: string, params: object = {}, sessionId?: string): Promise<T> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  on(fn: (method: string, params: Record<string, unknown>, session?: string) => void): void {
    this.#listeners.push(fn);
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.#ws.onclose = () => resolve();
      this.#ws.close();
    });
  }
}

/** Removes a Chromium profile; its helper processes may still be writing into it for a moment after exit. */
async function removeProfile(dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch (e) {
      if (attempt === 20) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** What the page showed once its self-test was done. */
interface PageResult {
  autotest: string;
  status: string;
  sample: string;
  svgs: number;
}

/**
 * Opens `url` in headless Chromium, waits (up to `timeoutMs`) until `<body data-autotest>` is set and returns what
 * the page showed, with every console message and uncaught exception of the page and its workers; saves a
 * screenshot to `screenshot` (a PNG file) unless it is null. `flags` go to Chromium's command line.
 */
async function runPage(
  url: string,
  screenshot: string | null,
  timeoutMs = 120_000,
  flags: readonly string[] = [],
): Promise<{ page: PageResult; console: string[] }> {
  const profile = await Deno.makeTempDir({ prefix: "lcm-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      ...headless(profile),
      ...flags,
      "--remote-debugging-port=0",
      "--window-size=1000,1400",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let cdp: Cdp | null = null;
  try {
    // Chromium writes its port and the browser's WebSocket path into the profile once it listens.
    let active = "";
    for (let i = 0; i < 300 && !active.includes("\n"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        active = await Deno.readTextFile(join(profile, "DevToolsActivePort"));
      } catch {
        // not there yet
      }
    }
    const [port, path] = active.trim().split("\n");
    assertTrue(port && path, "chromium did not open its DevTools port");
    cdp = await Cdp.connect(`ws://127.0.0.1:${port}${path}`);
    const messages: string[] = [];
    const c = cdp;
    c.on((method, params) => {
      if (method === "Runtime.consoleAPICalled") {
        const args = (params.args as { value?: unknown; description?: string }[])
          .map((a) => a.value ?? a.description).join(" ");
        messages.push(`console.${params.type}: ${args}`);
      } else if (method === "Runtime.exceptionThrown") {
        const d = params.exceptionDetails as { text: string; exception?: { description?: string } };
        messages.push(`exception: ${d.exception?.description ?? d.text}`);
      } else if (method === "Log.entryAdded") {
        const e = params.entry as { level: string; text: string; url?: string };
        if (e.level === "error" || e.level === "warning") {
          messages.push(`${e.level}: ${e.text} ${e.url ?? ""}`);
        }
      } else if (method === "Target.attachedToTarget") {
        // a worker (the trainer, or a kernel thread): its console too, and the workers it starts
        const s = params.sessionId as string;
        void Promise.all([
          c.send("Runtime.enable", {}, s),
          c.send(
            "Target.setAutoAttach",
            { autoAttach: true, waitForDebuggerOnStart: true, flatten: true },
            s,
          ),
        ]).then(() => c.send("Runtime.runIfWaitingForDebugger", {}, s)).catch(() => {});
      }
    });
    const { targetId } = await c.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await c.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    await c.send("Runtime.enable", {}, sessionId);
    await c.send("Log.enable", {}, sessionId);
    await c.send(
      "Target.setAutoAttach",
      { autoAttach: true, waitForDebuggerOnStart: true, flatten: true },
      sessionId,
    );
    await c.send("Page.navigate", { url }, sessionId);
    const expression = `JSON.stringify({
      autotest: document.body?.dataset.autotest ?? "",
      status: document.getElementById("status")?.textContent ?? "",
      sample: document.getElementById("sample")?.textContent ?? "",
      svgs: document.querySelectorAll("#chart svg").length,
    })`;
    let page: PageResult = { autotest: "", status: "", sample: "", svgs: 0 };
    const deadline = Date.now() + timeoutMs;
    while (page.autotest === "" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await c.send<{ result: { value?: string } }>(
        "Runtime.evaluate",
        { expression, returnByValue: true },
        sessionId,
      );
      if (r.result.value) page = JSON.parse(r.result.value);
    }
    assertTrue(
      page.autotest !== "",
      `the page did not finish its self-test in ${timeoutMs} ms: ${JSON.stringify(page)}`,
    );
    if (screenshot) {
      const { data } = await c.send<{ data: string }>("Page.captureScreenshot", { format: "png" }, sessionId);
      await Deno.mkdir("tests/artifacts", { recursive: true });
      await Deno.writeFile(screenshot, Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0)));
    }
    await c.send("Browser.close").catch(() => {});
    return { page, console: messages };
  } finally {
    await cdp?.close();
    try {
      child.kill();
    } catch {
      // already gone
    }
    await child.status;
    await removeProfile(profile);
  }
}

/** `key=value` pairs of the self-test's report. */
function fields(autotest: string): Record<string, string> {
  return Object.fromEntries(autotest.split(" ").map((kv) => kv.split("=", 2) as [string, string]));
}

Deno.test({
  name: "playground: trains in headless Chromium (threads when cross-origin isolated, one thread otherwise)",
  ignore: !canRun,
  async fn() {
    await buildBundles();
    const server = serve();
    const losses: string[] = [];
    try {
      for (const mode of ["isolated", "plain"] as const) {
        const url = `http://127.0.0.1:${server.addr.port}/${mode}/?autotest=1`;
        const { page, console: messages } = await runPage(
          url,
          join("tests", "artifacts", `playground-${mode}.png`),
        );
        console.log(`${mode}: ${page.autotest}; status "${page.status}"`);
        // a browser without a WebGPU adapter says so once when the trainer looks for one (then trains on wasm)
        const noAdapter = (m: string) => m.startsWith("warning: No available adapters.");
        assertEquals(messages.filter((m) => !noAdapter(m)), [], `${mode}: console messages`);
        const f = fields(page.autotest);
        assertTrue(f.error === undefined, `${mode}: the page failed: ${page.autotest}`);
        const first = Number(f.first), last = Number(f.last), threads = Number(f.threads);
        assertTrue(first > 0 && last > 0, `${mode}: losses in "${page.autotest}"`);
        assertTrue(last < first, `${mode}: the loss did not fall (${page.autotest})`);
        losses.push(`${f.first} ${f.last}`);
        assertEquals(f.steps, "40");
        assertEquals(f.backend, "wasm", `${mode}: backend`);
        assertTrue(Number(f.sample) > 0 && page.sample.length > 0, `${mode}: no sample`);
        assertTrue(page.svgs > 0, `${mode}: no loss chart`);
        if (mode === "isolated") {
          assertEquals(f.isolated, "true");
          assertTrue(threads >= 1, `${mode}: threads=${f.threads}`);
          assertTrue(page.status.startsWith(`${threads} thread${threads === 1 ? "" : "s"} ·`), page.status);
          assertTrue(!page.status.includes("no cross-origin isolation"), page.status);
        } else {
          assertEquals(f.isolated, "false");
          assertEquals(threads, 1);
          assertTrue(page.status.startsWith("1 thread (no cross-origin isolation)"), page.status);
        }
      }
      // the same seed on one thread or several: the same numbers (the pool splits work by rows, not sums)
      assertEquals(losses[0], losses[1], "losses with and without threads");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "playground: trains on WebGPU when asked (?backend=webgpu, SwiftShader); auto never picks a software adapter",
  ignore: !canRun,
  async fn() {
    await buildBundles();
    const server = serve();
    const flags = ["--enable-unsafe-webgpu"];
    try {
      const base = `http://127.0.0.1:${server.addr.port}/plain/?autotest=1`;
      // few steps: the browser's software adapter (SwiftShader) is slow
      const gpu = await runPage(
        `${base}&backend=webgpu&steps=12&tokens=20`,
        join("tests", "artifacts", "playground-webgpu.png"),
        180_000,
        flags,
      );
      console.log(`webgpu: ${gpu.page.autotest}; status "${gpu.page.status}"`);
      const f = fields(gpu.page.autotest);
      assertTrue(f.error === undefined, `webgpu: the page failed: ${gpu.page.autotest}`);
      assertEquals(f.backend, "webgpu");
      assertTrue(gpu.page.status.startsWith("WebGPU · "), gpu.page.status);
      assertTrue(Number(f.last) < Number(f.first), `webgpu: the loss did not fall (${gpu.page.autotest})`);
      assertEquals(f.steps, "12");
      assertTrue(Number(f.sample) > 0, "webgpu: no sample");
      assertEquals(gpu.console.filter((m) => !/WebGPU|webgpu/.test(m) || /error|exception/i.test(m)), []);
      // the same browser, no ?backend: the software adapter is not preferred over the CPU
      const auto = await runPage(base, null, 120_000, flags);
      assertEquals(fields(auto.page.autotest).backend, "wasm", auto.page.autotest);
    } finally {
      await server.shutdown();
    }
  },
});
