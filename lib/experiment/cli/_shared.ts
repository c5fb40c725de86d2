/**
 * What the CLIs share besides parsing: one-line errors with the command's name, and the `--threads` flag.
 *
 * @module
 */
import { setThreads, whenThreadsReady } from "../../kernels/wasm/pool.ts";
import type { Flag } from "./_command.ts";

/** A `fail(message)` for command `name`: prints `<name>: <message>` to stderr and exits with `code` (default 2). */
export function failer(name: string): (msg: string, code?: number) => never {
  return (msg, code = 2) => {
    console.error(`${name}: ${msg}`);
    Deno.exit(code);
  };
}

/** `--threads N` of the commands that run a model (eval, generate, analyze). */
export const THREADS_FLAG = {
  type: "integer",
  min: 1,
  defaultText: "every core",
  description: "kernel threads of the wasm backend",
} as const satisfies Flag;

/** Sets the kernel threads to `n` (when given) and waits until they have started. */
export async function useThreads(n: number | undefined): Promise<void> {
  if (n !== undefined) setThreads(n);
  await whenThreadsReady();
}
