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
import { type FileHandle, open, rename, rm } from "node:fs/promises";
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
 * A file written in parts and then made visible at once: the bytes go to `<path>.tmp-<pid>-<counter>` in the same
 * folder; {@link AtomicWriter.commit} flushes it and renames it over `path`. Failures are {@link WriteError}s
 * naming `path` (the temporary file is removed).
 */
export class AtomicWriter {
  /** The file it becomes. */
  readonly path: string;
  readonly #tmp: string;
  readonly #handle: FileHandle;
  #end = 0;

  private constructor(path: string, tmp: string, handle: FileHandle) {
    this.path = path;
    this.#tmp = tmp;
    this.#handle = handle;
  }

  /** Creates the temporary file for `path`. */
  static async open(path: string): Promise<AtomicWriter> {
    const tmp = join(dirname(path), `${basename(path)}.tmp-${process.pid}-${tempCounter++}`);
    try {
      checkInjected(path);
      return new AtomicWriter(path, tmp, await open(tmp, "w"));
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw asWriteError(e, path);
    }
  }

  /** Appends `data`. */
  async write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.writeAt(bytes, this.#end);
  }

  /** Writes `bytes` at byte `position` (within or at the end of what is written). */
  async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    await this.#guard(async () => {
      for (let done = 0; done < bytes.length;) {
        const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done, position + done);
        done += bytesWritten;
      }
    });
    this.#end = Math.max(this.#end, position + bytes.length);
  }

  /** Flushes, closes and renames the file into place. */
  async commit(): Promise<void> {
    await this.#guard(async () => {
      await this.#handle.sync();
      await this.#handle.close();
      await rename(this.#tmp, this.path);
    });
  }

  /** Closes and removes the temporary file. */
  async abort(): Promise<void> {
    await this.#handle.close().catch(() => {});
    await rm(this.#tmp, { force: true }).catch(() => {});
  }

  async #guard(f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      await this.abort();
      throw asWriteError(e, this.path);
    }
  }
}

/**
 * Writes `data` to `path` atomically: `<path>.tmp-<pid>-<counter>` in the same folder is written and flushed,
 * then renamed over `path`. On any failure the temporary file is removed and the error is rethrown (a
 * {@link WriteError} for a write fault).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const file = await AtomicWriter.open(path);
  await file.write(data);
  await file.commit();
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
