import { hostname } from "node:os";
import { join } from "node:path";
import { acquireLock, liveHolder, LockedError } from "../../lib/io/lock.ts";
import { assertEquals, assertRejects, assertTrue } from "../_helpers/assert.ts";

/** The pid of a process that has ended (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("deno", { args: ["eval", "0"], stdout: "null", stderr: "null" })
    .spawn();
  await child.status;
  return child.pid;
}

Deno.test("lock: a second taker is refused at once, naming the holder; release frees it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const lock = await acquireLock(path, { what: "run", command: "first" });
  assertEquals((await liveHolder(path))?.command, "first");
  const held = JSON.parse(await Deno.readTextFile(path));
  assertEquals([held.pid, held.host, held.command], [Deno.pid, hostname(), "first"]);
  assertTrue(typeof held.started_at === "string" && held.heartbeat_s === 30);
  const e = await assertRejects(
    () => acquireLock(path, { what: "run" }),
    `${path}: another process is writing this run: pid ${Deno.pid} on ${hostname()}`,
    "(first)",
    `kill ${Deno.pid}`,
  );
  assertTrue(e instanceof LockedError && e.holder.pid === Deno.pid);
  await lock.release();
  assertEquals([...Deno.readDirSync(dir)].map((f) => f.name), []);
  const again = await acquireLock(path, { what: "run" });
  await again.release();
});

Deno.test("lock: many takers at once, exactly one wins; no temporary file is left", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const tries = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(path, { what: "run" })));
  const won = tries.filter((t) => t.status === "fulfilled");
  assertEquals(won.length, 1);
  for (const t of tries) if (t.status === "rejected") assertTrue(t.reason instanceof LockedError, t.reason);
  assertEquals([...Deno.readDirSync(dir)].map((f) => f.name), ["run.lock"]);
  await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
});

Deno.test({
  name: "lock: a lock left by a process that is gone (its flock dropped) is taken over with one warning",
  ignore: Deno.permissions.querySync({ name: "run", command: "deno" }).state !== "granted",
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = join(dir, "run.lock");
    const pid = await deadPid();
    const stale = {
      pid,
      host: hostname(),
      started_at: "2026-01-01T00:00:00.000Z",
      command: "x",
      heartbeat_s: 30,
    };
    await Deno.writeTextFile(path, JSON.stringify(stale));
    assertEquals(await liveHolder(path), null);
    const warnings: string[] = [];
    const lock = await acquireLock(path, { what: "run", warn: (l) => warnings.push(l) });
    assertEquals(warnings, [
      `warning: took over ${path} from pid ${pid} on ${hostname()} (since 2026-01-01T00:00:00.000Z): ` +
      "that process is gone",
    ]);
    assertEquals(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
    await lock.release();
  },
});

Deno.test("lock: another host's lock is live while its heartbeat is fresh, stale once it is old", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const other = { pid: 1, host: "elsewhere.invalid", started_at: "then", command: "train", heartbeat_s: 30 };
  await Deno.writeTextFile(path, JSON.stringify(other));
  await assertRejects(
    () => acquireLock(path, { what: "run", staleSeconds: 60 }),
    "pid 1 on elsewhere.invalid",
    "stop it on elsewhere.invalid",
  );
  const old = new Date(Date.now() - 120_000);
  await Deno.utime(path, old, old);
  const warnings: string[] = [];
  const lock = await acquireLock(path, { what: "run", staleSeconds: 60, warn: (l) => warnings.push(l) });
  assertEquals(warnings.length, 1);
  assertTrue(warnings[0].includes("from pid 1 on elsewhere.invalid") && warnings[0].includes("heartbeat"));
  await lock.release();
});

Deno.test("lock: the holder renews its heartbeat (the file's modification time)", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const lock = await acquireLock(path, { what: "run", heartbeatSeconds: 0.05 });
  const old = new Date(Date.now() - 3_600_000);
  await Deno.utime(path, old, old);
  await new Promise((r) => setTimeout(r, 200));
  assertTrue(Date.now() - Deno.statSync(path).mtime!.getTime() < 10_000, "heartbeat renewed");
  await lock.release();
});

Deno.test({
  name:
    "lock: a holder in another process is live while it runs, and its lock is taken over once it is killed",
  ignore: Deno.permissions.querySync({ name: "run", command: "deno" }).state !== "granted",
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = join(dir, "sweep.lock");
    const code = `import { acquireLock } from "${new URL("../../lib/io/lock.ts", import.meta.url)}";\n` +
      `await acquireLock(${JSON.stringify(path)}, { what: "sweep", command: "holder" });\n` +
      `console.log("held"); setInterval(() => {}, 1000);`;
    const child = new Deno.Command("deno", { args: ["eval", code], stdout: "piped", stderr: "inherit" })
      .spawn();
    const reader = child.stdout.getReader();
    assertEquals(new TextDecoder().decode((await reader.read()).value).trim(), "held");
    await assertRejects(() => acquireLock(path, { what: "sweep" }), `pid ${child.pid}`, "(holder)");
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    const warnings: string[] = [];
    const lock = await acquireLock(path, { what: "sweep", warn: (l) => warnings.push(l) });
    assertEquals(warnings.length, 1);
    assertTrue(warnings[0].endsWith("that process is gone"), warnings[0]);
    await lock.release();
  },
});
