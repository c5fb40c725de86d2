/**
 * `deno task generate` and `deno task eval` with `--backend webgpu` (Deno run with --unstable-webgpu): they say
 * `backend: webgpu (<adapter>…)`, generate the wasm backend's greedy text and score the wasm backend's loss (to
 * within the printed digits).
 */
import { join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { taskArgs } from "../_helpers/task.ts";
import { gpuTest } from "../_helpers/webgpu.ts";
import { canSpawn, ROOT, runTask, tinyRun } from "../cli/_task.ts";

/** Task `name`'s command line with --unstable-webgpu added after `run`. */
function withWebgpu(name: string): string[] {
  const [run, ...rest] = taskArgs(name);
  return rest.includes("--unstable-webgpu") ? [run, ...rest] : [run, "--unstable-webgpu", ...rest];
}

if (canSpawn) {
  gpuTest(
    "generate and eval --backend webgpu: the wasm backend's greedy text and loss; the adapter named",
    async () => {
      const out = join(ROOT, `runs/.test-gpu-cli-${Date.now()}`);
      try {
        const run = await tinyRun(2, out);
        const gen = ["--prompt", "let ", "--tokens", "12", "--greedy"];
        const gpu = await runTask(withWebgpu("generate"), [run, ...gen, "--backend", "webgpu"]);
        assertEquals(gpu.code, 0, gpu.stderr);
        assertTrue(/^backend: webgpu \(.+\)$/m.test(gpu.stderr), gpu.stderr);
        const cpu = await runTask(withWebgpu("generate"), [run, ...gen, "--backend", "wasm"]);
        assertEquals([cpu.code, cpu.stdout], [0, gpu.stdout]);
        const ev = ["--metrics", "ppl", "--max-tokens", "300"];
        const e1 = await runTask(withWebgpu("eval"), [run, ...ev, "--backend", "webgpu"]);
        assertEquals(e1.code, 0, e1.stderr);
        assertTrue(/^backend: webgpu \(.+\)$/m.test(e1.stdout), e1.stdout);
        const e2 = await runTask(withWebgpu("eval"), [run, ...ev, "--backend", "wasm"]);
        const ppl = (s: string) => s.match(/ppl (\d+\.\d+)/)?.[1];
        assertEquals(ppl(e1.stdout), ppl(e2.stdout), `${e1.stdout}\n${e2.stdout}`);
      } finally {
        await Deno.remove(out, { recursive: true }).catch(() => {});
      }
    },
  );
}
