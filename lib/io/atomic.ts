/**
 * Crash-safe file writes. A checkpoint or tokenizer file is either the old version or the new one, never a
 * half-written mix: the bytes go to a temporary file in the same folder, are flushed to disk, and the temporary
 * file is then renamed over the target (rename within one file system is atomic). Metrics are appended one JSON
 * line per call, so a reader sees whole events (a failed append is cut back to the last whole line).
 *
 * A write that fails for want of space, permission or a working disk throws a {@link WriteError} naming the file.
 *
 * @module
 */
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import process from "node:process";

/** What each errno of a failed write means, for messages. */
const WRITE_FAULTS: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  EIO: "input/output error",
};

/** A write that failed for want of space, permission or a working disk; the message names the file. */
export class WriteError extends Error {
  /** The file being written. */
  readonly path: string;
  /** The errno code (ENOSPC, EDQUOT, EACCES, EPERM, EROFS, EIO). */
  readonly code: string;
  /** The training step the write belonged to, when the writer knows it. */
  step?: number;

  /** A failure with `code` while writing `path`. */
  constructor(path: string, code: string, options?: { cause?: unknown; step?: number }) {
    super(`${path}: ${WRITE_FAULTS[code] ?? code} (${code})`, { cause: options?.cause });
    this.name = "WriteError";
    this.path = path;
    this.code = code;
    this.step = options?.step;
  }
}

/** `e` as a {@link WriteError} on `path` when its errno is a write fault; else `e` unchanged. */
export function asWriteError(e: unknown, path: string, step?: number): unknown {
  if (e instanceof WriteError) {
    e.step ??= step;
    return e;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code in WRITE_FAULTS
    ? new WriteError(path, code, { cause: e, step })
    : e;
}

let injected: ((path: string) => string | undefined) | null = null;

/**
 * Test seam: `fault(path)` returning an errno code (e.g. `"ENOSPC"`) makes the next write of `path` through this
 * module fail with it, as the disk would; `null` removes it.
 */
export function injectWriteFault(fault: ((path: string) => string | undefined) | null): void {
  injected = fault;
}

function checkInjected(path: string): void {
  const code = injected?.(path);
  if (code !== undefined) {
    throw Object.assign(new Error(`${code}: injected write fault, write`), { code });
  }
}

let tempCounter = 0;

/**
 * Writes `data` to `path` atomically: `<path>.tmp-<pid>-<counter>` in the same folder is written and flushed,
 * then renamed over `path`. On any failure the temporary file is removed and the error is rethrown (a
 * {@link WriteError} for a write fault).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `${basename(path)}.tmp-${process.pid}-${tempCounter++}`);
  try {
    checkInjected(path);
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
    throw asWriteError(e, path);
  }
}

/**
 * Appends `obj` as one line of JSON (JSON Lines) to `path`, creating the file if needed. A failed append is cut
 * back to the file's previous end, so no half line is left; its {@link WriteError} carries `obj.step` when there
 * is one.
 */
export async function appendJsonLine(path: string, obj: unknown): Promise<void> {
  const line = JSON.stringify(obj);
  if (line === undefined) throw new Error(`appendJsonLine(${path}): value is not JSON-serialisable`);
  const step = (obj as { step?: unknown } | null)?.step;
  try {
    checkInjected(path);
    const handle = await open(path, "a");
    try {
      const { size } = await handle.stat();
      try {
        await handle.writeFile(line + "\n");
      } catch (e) {
        await handle.truncate(size).catch(() => {});
        throw e;
      }
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw asWriteError(e, path, typeof step === "number" ? step : undefined);
  }
}
