/**
 * Lock files: one writer per folder (a run directory, a sweep folder). The lock file records who holds it (pid,
 * host, start time, command), and the holder keeps an exclusive `flock` on it for as long as it lives: the kernel
 * drops that lock when the process ends, however it ends (a crash, `kill -9`), so a live holder is told from a
 * dead one at once, without reading `/proc` (which Deno opens only to `--allow-all`). The file's modification
 * time is a heartbeat the holder renews, for hosts that do not see each other's `flock` (a shared file system
 * without lock support). Readers never take it.
 *
 * Taking a lock is atomic: the record is written to a temporary file and locked, then hard-linked to the lock's
 * name, which fails when the name exists (so a reader never sees half a record, and two takers never both win).
 * A stale lock is taken over with one warning: its `flock` is free and it was taken on this host (that process
 * is gone), or taken on another host and its heartbeat is older than `staleSeconds`.
 *
 * The `flock` is Deno's (`Deno.FsFile.tryLock`): Node's `fs` has none. Under Node (the npm package) a holder on
 * this host is told alive by its pid (`process.kill(pid, 0)`) instead, and the record is written with an
 * exclusive create; everything else is the same.
 *
 * @module
 */
import { link, open, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { clearInterval, setInterval } from "node:timers";

/** What a lock file records about its holder. */
export interface LockHolder {
  /** Process id. */
  pid: number;
  /** Host name. */
  host: string;
  /** ISO time the lock was taken. */
  started_at: string;
  /** The holder's command line. */
  command: string;
  /** Seconds between heartbeats (the file's modification time). */
  heartbeat_s: number;
}

/** Thrown when a live process holds the lock; the message names the holder and what to do. */
export class LockedError extends Error {
  /** The lock file. */
  readonly path: string;
  /** Its holder. */
  readonly holder: LockHolder;

  /** A refusal of `path`, held by `holder`. */
  constructor(path: string, holder: LockHolder, message: string) {
    super(message);
    this.name = "LockedError";
    this.path = path;
    this.holder = holder;
  }
}

/** A lock this process holds. */
export interface HeldLock {
  /** The lock file. */
  readonly path: string;
  /** This process's record in it. */
  readonly holder: LockHolder;
  /** Stops the heartbeat and removes the lock file (when it is still this process's). */
  release(): Promise<void>;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** What the lock guards, for messages (e.g. `run`, `sweep`). */
  what: string;
  /** The holder's command line (default: this process's arguments). */
  command?: string;
  /** Seconds between heartbeats (default 30). */
  heartbeatSeconds?: number;
  /** A lock of another host is stale once its heartbeat is this old (default 600 s). */
  staleSeconds?: number;
  /** The one warning line of a takeover (default: none). */
  warn?: (line: string) => void;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== "number" || typeof h.host !== "string") return null;
    return {
      pid: h.pid,
      host: h.host,
      started_at: String(h.started_at ?? "?"),
      command: String(h.command ?? "?"),
      heartbeat_s: Number(h.heartbeat_s ?? 30),
    };
  } catch {
    return null;
  }
}

/** Deno's file API where it exists (the `flock`); absent under Node. */
const deno = (globalThis as { Deno?: typeof Deno }).Deno;

/** Whether process `pid` of this host is alive (Node's fallback for the `flock`). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === "EPERM";
  }
}

/**
 * Whether no process holds the `flock` of `path` (null when the file is gone). Without Deno: whether its
 * holder on this host is gone (a holder on another host counts as free: its heartbeat decides).
 */
async function lockFree(path: string): Promise<boolean | null> {
  if (deno === undefined) {
    const text = await readFile(path, "utf8").catch(() => null);
    if (text === null) return null;
    const h = parseHolder(text);
    return h === null || h.host !== hostname() || !pidAlive(h.pid);
  }
  let f: Deno.FsFile;
  try {
    f = await deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    const got = await f.tryLock(true);
    if (got) await f.unlock();
    return got;
  } finally {
    f.close();
  }
}

/**
 * This machine's name (`--allow-sys=hostname`); without that permission, `localhost`: the `flock` still tells a
 * live holder on this machine, only the heartbeat rule for other hosts is lost.
 */
function hostname(): string {
  try {
    return osHostname();
  } catch {
    return "localhost";
  }
}

/** A lock file as found: its record, how old its heartbeat is, and why it is stale (null: its holder lives). */
interface Inspected {
  text: string;
  holder: LockHolder;
  ageS: number;
  stale: string | null;
}

async function inspect(path: string, staleS: number): Promise<Inspected | null> {
  let text: string, ageS: number;
  try {
    text = await readFile(path, "utf8");
    ageS = (Date.now() - (await stat(path)).mtimeMs) / 1000;
  } catch {
    return null;
  }
  const free = await lockFree(path);
  if (free === null) return null;
  const h = parseHolder(text);
  const holder = h ?? { pid: 0, host: "?", started_at: "?", command: "?", heartbeat_s: 0 };
  const stale = !free
    ? null
    : h === null
    ? "its record is unreadable"
    : h.host === hostname()
    ? "that process is gone"
    : ageS > staleS
    ? `its last heartbeat was ${Math.round(ageS)} s ago`
    : null;
  return { text, holder, ageS, stale };
}

/** The live holder of the lock file `path` (null when there is none, or it is stale). */
export async function liveHolder(path: string, staleSeconds = 600): Promise<LockHolder | null> {
  const seen = await inspect(path, staleSeconds);
  return seen !== null && seen.stale === null ? seen.holder : null;
}

function refusal(path: string, what: string, h: LockHolder, ageS: number): string {
  const here = h.host === hostname();
  const how = here
    ? `wait for it to end or stop it (kill ${h.pid})`
    : `wait for it to end or stop it on ${h.host} (its heartbeat is ${
      Math.round(ageS)
    } s old; a lock whose ` +
      `heartbeat stops is taken over after a while)`;
  return `${path}: another process is writing this ${what}: pid ${h.pid} on ${h.host} since ${h.started_at} ` +
    `(${h.command}); ${how}`;
}

let counter = 0;

/** Writes `text` to the new file `path` and holds its `flock` (Deno); the handle closes it (and drops the lock). */
async function createLocked(path: string, text: string): Promise<{ close(): void }> {
  if (deno === undefined) {
    const fh = await open(path, "wx");
    await fh.writeFile(text);
    return { close: () => void fh.close() };
  }
  const file = await deno.open(path, { write: true, createNew: true });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    if (!(await file.tryLock(true))) throw new Error(`${path}: cannot lock a new file`);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/**
 * Takes the lock file `path` for this process, or throws {@link LockedError} at once when a live process holds
 * it. A stale lock is taken over with one `warn` line. The returned lock renews its heartbeat until released.
 */
export async function acquireLock(path: string, o: LockOptions): Promise<HeldLock> {
  const heartbeatS = o.heartbeatSeconds ?? 30, staleS = o.staleSeconds ?? 600;
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    command: o.command ?? process.argv.join(" "),
    heartbeat_s: heartbeatS,
  };
  const text = JSON.stringify(holder) + "\n";
  const tmp = `${path}.tmp-${process.pid}-${counter++}`;
  // locked before it is visible under the lock's name: no taker ever sees it unlocked
  const file = await createLocked(tmp, text);
  try {
    for (let attempt = 0;; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if ((e as { code?: unknown }).code !== "EEXIST" || attempt >= 5) throw e;
      }
      const seen = await inspect(path, staleS);
      if (seen === null) continue; // released meanwhile: try again
      const { text: held, holder: h, stale: why } = seen;
      if (why === null) throw new LockedError(path, h, refusal(path, o.what, h, seen.ageS));
      // take it over: move it aside, and check that what moved is the stale record (not a new holder's)
      const aside = `${path}.stale-${process.pid}-${counter++}`;
      try {
        await rename(path, aside);
      } catch {
        continue;
      }
      const moved = await readFile(aside, "utf8").catch(() => "");
      if (moved !== held) await link(aside, path).catch(() => {});
      else {
        o.warn?.(`warning: took over ${path} from pid ${h.pid} on ${h.host} (since ${h.started_at}): ${why}`);
      }
      await rm(aside, { force: true });
    }
  } catch (e) {
    file.close();
    throw e;
  } finally {
    await rm(tmp, { force: true });
  }
  const beat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, heartbeatS * 1000);
  beat.unref();
  return {
    path,
    holder,
    release: async () => {
      clearInterval(beat);
      const now = await readFile(path, "utf8").catch(() => null);
      if (now === text) await rm(path, { force: true });
      file.close();
    },
  };
}

/** The lock file of a run directory: the one process writing the run (training, resuming, eval) holds it. */
export const RUN_LOCK = "run.lock";

/** Takes `<runDir>/run.lock` for this process (a {@link LockedError} names the live holder). */
export function lockRun(runDir: string, warn?: (line: string) => void): Promise<HeldLock> {
  return acquireLock(join(runDir, RUN_LOCK), { what: "run", warn });
}
