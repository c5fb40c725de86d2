/**
 * Helpers of the sweep tests: a small sweep file over the tiny config, and polling until a condition holds.
 *
 * @module
 */
import { join } from "node:path";
import type { TrialStatus } from "../../lib/report/sweepdir.ts";

/** A sweep object over `configs/tiny.jsonc` on `corpus` (10 steps, 2 norms × 2 seeds), with `extra` on top. */
export function sweepSpec(corpus: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "t",
    base: join(Deno.cwd(), "configs", "tiny.jsonc"),
    set: [
      `data.paths=["${corpus}"]`,
      "train.max_steps=10",
      "train.eval_interval=10",
      "train.sample_tokens=0",
    ],
    grid: { "model.norm": ["layernorm", "rmsnorm"] },
    seeds: [1, 2],
    ...extra,
  };
}

/** Resolves once `cond()` is true (polled every 100 ms); rejects after `seconds`. */
export async function waitFor(cond: () => Promise<boolean>, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`waitFor: not true after ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The `deno` that PATH finds (the one `--allow-run=deno` allows), as an absolute path. */
export function denoOnPath(): string {
  for (const d of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    try {
      if (Deno.statSync(join(d, "deno")).isFile) return join(d, "deno");
    } catch { /* not here */ }
  }
  return "deno";
}

/**
 * Deno arguments that run the sweep CLI on `file` with sweeps under `root` (writes only there), plus `extra`
 * (e.g. `--executor slurm`); `runs` are the commands it may start.
 */
export function sweepCliArgs(file: string, root: string, extra: string[] = [], runs = "deno"): string[] {
  return [
    "run",
    "--allow-read",
    `--allow-write=${root}`,
    "--allow-env",
    "--allow-sys=hostname",
    `--allow-run=${runs}`,
    "lib/experiment/cli/sweep.ts",
    file,
    "--root",
    root,
    ...extra,
  ];
}

/** Trial `i`'s status.json in sweep folder `dir` (null when there is none yet). */
export async function trialStatus(dir: string, i: number): Promise<TrialStatus | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, `trial-${i}`, "status.json"))) as TrialStatus;
  } catch {
    return null;
  }
}

/** Whether trial `i` is running and has written a checkpoint (so stopping it now leaves something to resume). */
export async function checkpointed(dir: string, i: number): Promise<boolean> {
  const s = await trialStatus(dir, i);
  if (s?.status !== "running" || s.run_dir === null) return false;
  try {
    return (await Deno.stat(join(s.run_dir, "checkpoints", "latest.json"))).isFile;
  } catch {
    return false;
  }
}
