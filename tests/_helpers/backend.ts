/**
 * Runs test code on one kernel backend and restores the default afterwards.
 *
 * @module
 */
import { type BackendName, setBackend } from "../../lib/kernels/backend.ts";
import { setThreads, whenThreadsReady } from "../../lib/kernels/wasm/pool.ts";

/** Runs `f` with the backend `name` selected, then goes back to `auto` (also when `f` throws). */
export function withBackend<T>(name: BackendName, f: () => T): T {
  setBackend(name);
  try {
    return f();
  } finally {
    setBackend("auto");
  }
}

/**
 * Runs `run` on one kernel thread, then on two (waiting for the worker to start), and goes back to one thread
 * (also when `run` throws). Returns both results, for tests that compare the split kernels with the unsplit ones.
 */
export async function onOneAndTwoThreads<T>(run: () => T): Promise<{ one: T; two: T }> {
  setThreads(1);
  const one = run();
  try {
    setThreads(2);
    await whenThreadsReady();
    return { one, two: run() };
  } finally {
    setThreads(1);
  }
}
