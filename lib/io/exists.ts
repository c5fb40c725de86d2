/**
 * Whether a path exists.
 *
 * @module
 */
import { stat } from "node:fs/promises";

/** True when `path` names an existing file or folder (any error reading it counts as absent). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
