/**
 * The library is as fast as the CLI by default: a script that imports mod.ts and trains with the README's loop
 * gets the thread pool with every core on the first kernel call (only the runner used to set it up), and the
 * controls are exported from mod.ts: setThreads / getThreads, setBackend / getBackend, withStep.
 *
 * @module
 */
import { assertEquals } from "../_helpers/assert.ts";
import { ROOT } from "../_helpers/task.ts";

/** Runs `code` (a module at the repository root, importing ./mod.ts) with `deno run --allow-read`. */
async function runScript(code: string): Promise<string> {
  const file = await Deno.makeTempFile({ dir: ROOT, prefix: ".first-use-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command("deno", {
      args: ["run", "--allow-read", file],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    assertEquals(dec.decode(out.stderr), "", "nothing on stderr");
    return dec.decode(out.stdout).trim();
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("the README's library loop runs on every core without setting anything up", async () => {
  const out = await runScript(`
import { AdamW, createGPT, getBackend, getThreads, uniqueParams } from "./mod.ts";
const model = createGPT(
  { vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true },
  1,
);
const opt = new AdamW(uniqueParams(model.namedParameters()), { lr: 1e-2 });
const x = new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), y = new Int32Array([2, 3, 4, 5, 6, 7, 8, 9]);
for (let i = 0; i < 10; i++) {
  const { loss } = model.forward(x, 1, 8, { targets: y });
  loss!.backward();
  opt.step();
  opt.zeroGrad();
}
console.log(JSON.stringify({ backend: getBackend(), threads: getThreads(), cores: navigator.hardwareConcurrency }));
`);
  const r = JSON.parse(out);
  assertEquals(r.backend, "wasm");
  assertEquals(r.threads, r.cores);
});

Deno.test("mod.ts exports the kernel controls: threads, backend, the step scope", async () => {
  const out = await runScript(`
import { setBackend, getBackend, setThreads, getThreads, withStep } from "./mod.ts";
console.log(JSON.stringify([setBackend("js"), getBackend(), setThreads(1), getThreads(), withStep(() => 7)]));
`);
  assertEquals(JSON.parse(out), ["js", "js", 1, 1, 7]);
});

Deno.test("a loop that never awaits gets the workers too (they start without the event loop turning)", async () => {
  // the README's loop is synchronous: workers that announce themselves only through a message event would never
  // be seen by it, and every kernel would run on the calling thread
  const out = await runScript(`
import { getThreads } from "./mod.ts";
import { readyWorkers } from "./lib/kernels/wasm/pool.ts";
const threads = getThreads(), t0 = performance.now();
while (readyWorkers() < threads - 1 && performance.now() - t0 < 10_000) {
  // a synchronous wait, as a training loop without await is
}
console.log(JSON.stringify({ threads, ready: readyWorkers() }));
`);
  const r = JSON.parse(out);
  assertEquals(r.ready, r.threads - 1, "every worker takes a share within 10 s of a synchronous loop");
});

Deno.test("a process's first kernel call may be a pool job (it starts the default pool, then runs the job)", async () => {
  // AdamW on storage in the kernel memory goes straight to a pool job: before the fix, starting the pool inside
  // the job replaced the control block the job's fields had been written to ("kernel pool: unknown job 0")
  const out = await runScript(`
import { adamwUpdate } from "./lib/kernels/optim.ts";
import { getThreads, setThreads } from "./lib/kernels/wasm/pool.ts";
import { residentFloat32 } from "./lib/kernels/wasm/runtime.ts";
const n = 1 << 20;
const arrays = () => {
  const [p, g, m, v] = [0, 1, 2, 3].map(() => residentFloat32(n)!);
  for (let i = 0; i < n; i++) [p[i], g[i], m[i], v[i]] = [Math.sin(i), Math.cos(i), 0.1, 0.2];
  return [p, g, m, v];
};
const [p, g, m, v] = arrays();
adamwUpdate(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.1, 1);
const threads = getThreads();
setThreads(1);
const [p1, g1, m1, v1] = arrays();
adamwUpdate(p1, g1, m1, v1, 1e-3, 0.9, 0.999, 1e-8, 0.1, 1);
console.log(JSON.stringify({ threads, cores: navigator.hardwareConcurrency, same: p.every((x, i) => x === p1[i]) }));
`);
  const r = JSON.parse(out);
  assertEquals([r.threads, r.same], [r.cores, true]);
});
