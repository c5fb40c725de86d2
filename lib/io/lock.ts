/**
 * Lock files: one writer per folder (a run directory, a sweep folder). The lock file records who holds it (pid,
 * host, start time, command); its modification time is a heartbeat the holder renews, so a process on another
 * host can tell a live holder from a dead one. Readers never take it.
 *
 * Taking a lock is atomic: the record is written to a temporary file, then hard-linked to the lock's name, which
 * fails when the name exists (so a reader never sees half a record, and two takers never both win). A lock whose
 * holder is gone is stale and is taken over with one warning: on this host when no such process runs (Linux:
 * `/proc`), on another host (or where `/proc` is missing) when its heartbeat is older than `staleSeconds`.
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { link, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
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

/** The command line of process `pid` on this machine (Linux: /proc), or null when there is no such process. */
function commandLine(pid: number): string | null {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    // a zombie (killed, not yet reaped) has an empty command line: it writes nothing any more
    return cmd === "" ? null : cmd;
  } catch {
    return null;
  }
}

/** Whether process `pid` on this machine has each of `what` in its command line (Linux: /proc; else false). */
export function processRuns(pid: number, ...what: string[]): boolean {
  const cmd = commandLine(pid);
  return cmd !== null && what.every((w) => cmd.includes(w));
}

function procAvailable(): boolean {
  try {
    return statSync("/proc/self").isDirectory();
  } catch {
    return false;
  }
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

/** Why the lock at `path` (held by `h`, last beat `ageS` seconds ago) is stale, or null while its holder lives. */
function staleness(h: LockHolder | null, ageS: number, staleS: number): string | null {
  if (h === null) return "its record is unreadable";
  if (h.host === hostname() && procAvailable()) {
    return commandLine(h.pid) === null ? "that process is gone" : null;
  }
  return ageS > staleS ? `its last heartbeat was ${Math.round(ageS)} s ago` : null;
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
  await writeFile(tmp, text);
  try {
    for (let attempt = 0;; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if ((e as { code?: unknown }).code !== "EEXIST" || attempt >= 5) throw e;
      }
      let held: string, ageS: number;
      try {
        held = await readFile(path, "utf8");
        ageS = (Date.now() - (await stat(path)).mtimeMs) / 1000;
      } catch {
        continue; // released meanwhile: try again
      }
      const h = parseHolder(held);
      const why = staleness(h, ageS, staleS);
      if (why === null) throw new LockedError(path, h!, refusal(path, o.what, h!, ageS));
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
        o.warn?.(
          `warning: took over ${path} from pid ${h?.pid ?? "?"} on ${h?.host ?? "?"} ` +
            `(since ${h?.started_at ?? "?"}): ${why}`,
        );
      }
      await rm(aside, { force: true });
    }
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
    },
  };
}

/** The lock file of a run directory: the one process writing the run (training, resuming, eval) holds it. */
export const RUN_LOCK = "run.lock";

/** Takes `<runDir>/run.lock` for this process (a {@link LockedError} names the live holder). */
export function lockRun(runDir: string, warn?: (line: string) => void): Promise<HeldLock> {
  return acquireLock(join(runDir, RUN_LOCK), { what: "run", warn });
}
