/**
 * Running other programs from a bench: the repository root, one timed run of a command, and whether
 * Debian's PyTorch (`/usr/bin/python3` with `import torch`) is there for the reference scripts under
 * bench/reference/.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (benches run their children from it). */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The Python that runs the PyTorch reference scripts (Debian's, which `apt-get install python3-torch` serves). */
export const PYTHON = "/usr/bin/python3";

/** What one run of a command gave. */
export interface RunOutput {
  /** Exit code. */
  code: number;
  /** Everything it printed on stdout. */
  stdout: string;
  /** Everything it printed on stderr. */
  stderr: string;
  /** Wall-clock seconds from spawn to exit. */
  s: number;
}

/** Runs `argv` from the repository root (with `env` added to the environment) and times it. */
export async function runOnce(argv: string[], env: Record<string, string> = {}): Promise<RunOutput> {
  const t0 = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    s: (performance.now() - t0) / 1000,
  };
}

/** Whether {@link PYTHON} can import torch and `script` (relative to the root) is there; the reason when not. */
export async function torchStatus(script: string): Promise<{ ok: boolean; why?: string }> {
  if (!existsSync(join(ROOT, script))) return { ok: false, why: `${script} not found` };
  try {
    const r = await runOnce([PYTHON, "-c", "import torch"]);
    return r.code === 0
      ? { ok: true }
      : { ok: false, why: `${PYTHON} cannot import torch (apt-get install python3-torch)` };
  } catch (e) {
    return { ok: false, why: `${PYTHON} did not start: ${e instanceof Error ? e.message : String(e)}` };
  }
}
