/**
 * Issue 14, point 8: `deno task` runs at the repository root and sets INIT_CWD to the folder the command was
 * typed in; the paths a user types are taken from there (`cd configs && deno task experiment tiny.jsonc`), and a
 * path that does not exist says what was looked for and that tasks run at the repository root.
 */
import { basename, dirname, join } from "node:path";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { canSpawn, ROOT, runTask, tinyRun } from "./_task.ts";

Deno.test({
  name: "paths: cd configs && deno task experiment tiny.jsonc trains tiny.jsonc (output still in runs/)",
  ignore: !canSpawn,
  async fn() {
    const corpus = await makeCodeCorpus(3, 2000);
    const out = `runs/.test-paths-${Date.now()}`;
    try {
      const r = await runTask("experiment", [
        "tiny.jsonc",
        "--set",
        "train.max_steps=2",
        "--set",
        "train.eval_interval=2",
        "--set",
        `data.paths=["${corpus}"]`,
        "--set",
        `run.out_dir=${out}`,
      ], { initCwd: join(ROOT, "configs") });
      assertEquals(r.code, 0, r.stderr);
      const runDir = r.stdout.trim().split("\n").at(-1)!;
      assertTrue(runDir.startsWith(`${out}/tiny-`), runDir);
      const config = JSON.parse(await Deno.readTextFile(join(ROOT, runDir, "config.json")));
      assertEquals(config.model.n_embd, 32, "tiny.jsonc's model");
    } finally {
      await Deno.remove(join(ROOT, out), { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "paths: a typed path that does not exist says where it looked and that tasks run at the repository root",
  ignore: !canSpawn,
  async fn() {
    const from = join(ROOT, "configs");
    const r = await runTask("experiment", ["configs/tiny.jsonc"], { initCwd: from });
    assertEquals(r.code, 2);
    assertEquals(
      r.stderr,
      `experiment: configs/tiny.jsonc: not found (looked for ${
        join(from, "configs/tiny.jsonc")
      }: paths are ` +
        `taken from the folder the command was typed in, ${from}; deno task itself runs at the repository ` +
        `root, ${ROOT.replace(/\/$/, "")})\n`,
    );
  },
});

Deno.test({
  name: "paths: a run directory typed from its parent folder (generate)",
  ignore: !canSpawn,
  async fn() {
    const run = await tinyRun(2);
    try {
      const r = await runTask("generate", [basename(run), "--tokens", "3", "--prompt", "x"], {
        initCwd: dirname(run),
      });
      assertEquals([r.code, r.stderr], [0, ""]);
    } finally {
      await Deno.remove(run, { recursive: true });
    }
  },
});
