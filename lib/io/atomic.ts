/**
 * Crash-safe file writes. A checkpoint or tokenizer file is either the old version or the new one, never a
 * half-written mix: the bytes go to a temporary file in the same folder, are flushed to disk, and the temporary
 * file is then renamed over the target (rename within one file system is atomic). Metrics are appended one JSON
 * line per call, so a reader sees whole events.
 *
 * @module
 */
import { appendFile, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import process from "node:process";

let tempCounter = 0;

/**
 * Writes `data` to `path` atomically: `<path>.tmp-<pid>-<counter>` in the same folder is written and flushed,
 * then renamed over `path`. On any failure the temporary file is removed and the error is rethrown.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `${basename(path)}.tmp-${process.pid}-${tempCounter++}`);
  try {
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** Appends `obj` as one line of JSON (JSON Lines) to `path`, creating the file if needed. */
export async function appendJsonLine(path: string, obj: unknown): Promise<void> {
  const line = JSON.stringify(obj);
  if (line === undefined) throw new Error(`appendJsonLine(${path}): value is not JSON-serialisable`);
  await appendFile(path, line + "\n");
}
