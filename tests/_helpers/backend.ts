/**
 * Runs test code on one kernel backend and restores the default afterwards.
 *
 * @module
 */
import { type BackendName, setBackend } from "../../lib/kernels/backend.ts";

/** Runs `f` with the backend `name` selected, then goes back to `auto` (also when `f` throws). */
export function withBackend<T>(name: BackendName, f: () => T): T {
  setBackend(name);
  try {
    return f();
  } finally {
    setBackend("auto");
  }
}
