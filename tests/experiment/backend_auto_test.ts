/**
 * `run.backend: "auto"` is the fastest backend the machine has, with the narrowest permission: the tasks that
 * train or run a model grant FFI for OpenBLAS's library paths only; where OpenBLAS is installed the run uses it
 * (and says so, and why), where it cannot be opened the run falls back to wasm with one line saying why.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { OPENBLAS_PATHS, openblasFfiFlag } from "../../lib/kernels/blas.ts";
import { trialArgs } from "../../lib/experiment/sweep_exec.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { experimentWithoutFfi, ROOT, runTask, taskArgs } from "../_helpers/task.ts";

const installed = OPENBLAS_PATHS.find((p) => existsSync(p));

Deno.test("the tasks that run a model grant FFI for OpenBLAS's paths only", () => {
  for (const task of ["experiment", "eval", "generate"]) {
    const ffi = taskArgs(task).filter((a) => a.startsWith("--allow-ffi"));
    assertEquals(ffi, [openblasFfiFlag()], `deno task ${task}`);
  }
  assertEquals(openblasFfiFlag(), `--allow-ffi=${OPENBLAS_PATHS.join(",")}`);
  assertTrue(OPENBLAS_PATHS.every((p) => p.startsWith("/")), "absolute paths only");
  const trial = trialArgs("/tmp/sweep", "0", 1, "local").filter((a) => a.startsWith("--allow-ffi"));
  assertEquals(trial, [openblasFfiFlag()], "a sweep's trials");
});

/** Runs the tiny config for 2 steps through `command` on the default backend; the stdout and the manifest. */
async function tinyAuto(
  command: string | string[],
): Promise<{ stdout: string; runtime: Record<string, unknown> }> {
  const corpus = await makeCodeCorpus();
  await mkdir(join(ROOT, "runs"), { recursive: true });
  const out = await Deno.makeTempDir({ dir: join(ROOT, "runs"), prefix: ".test-backend-auto-" });
  try {
    const r = await runTask(command, [
      "configs/tiny.jsonc",
      ...["--set", `data.paths=["${corpus}"]`, "--set", `run.out_dir=${out}`, "--set", "train.max_steps=2"],
    ]);
    assertEquals(r.code, 0, r.stderr);
    const runDir = r.stdout.trim().split("\n").at(-1)!;
    const manifest = JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8"));
    return { stdout: r.stdout, runtime: manifest.runtime };
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(corpus, { recursive: true, force: true });
  }
}

Deno.test({
  name: "deno task experiment on auto uses OpenBLAS where it is installed, and says which and why",
  async fn() {
    const { stdout, runtime } = await tinyAuto("experiment");
    const threads = runtime.threads as number;
    const line = stdout.split("\n").find((l) => l.startsWith("backend: "));
    assertEquals(runtime.backend_requested, "auto");
    if (installed !== undefined) {
      assertEquals(runtime.backend_used, "blas");
      assertEquals(runtime.backend_reason, `auto: OpenBLAS at ${installed}`);
      assertEquals(
        line,
        `backend: blas, ${threads} thread${threads > 1 ? "s" : ""} (auto: OpenBLAS at ${installed})`,
      );
    } else {
      assertEquals(runtime.backend_used, "wasm");
      assertTrue(line !== undefined && line.includes("apt-get install libopenblas0-pthread"), String(line));
    }
  },
});

Deno.test("without FFI, auto falls back to wasm with one line saying why", async () => {
  const { stdout, runtime } = await tinyAuto(experimentWithoutFfi());
  assertEquals(runtime.backend_used, "wasm");
  const lines = stdout.split("\n").filter((l) => l.startsWith("backend: "));
  assertEquals(lines.length, 1);
  assertTrue(
    lines[0].includes(
      `(auto: OpenBLAS unavailable: --allow-ffi not granted for ${OPENBLAS_PATHS.join(", ")}`,
    ),
    lines[0],
  );
});
