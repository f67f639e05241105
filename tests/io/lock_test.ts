/** lib/io/lock.ts: mutual exclusion, stale-lock recovery, bounded wait, safe release. */
import assert from "assert";
import { hostname } from "node:os";
import { join } from "node:path";
import { isKarsError } from "../../lib/errors.ts";
import { acquireFileLock, isStale, withFileLock } from "../../lib/io/lock.ts";

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "kars-lock-" });
}

Deno.test("lock: 40 interleaved read-modify-writes under the lock lose no increment", async () => {
  const dir = await tmp();
  try {
    const counter = join(dir, "n");
    await Deno.writeTextFile(counter, "0");
    const lock = join(dir, "n.lock");
    await Promise.all(Array.from({ length: 40 }, () =>
      withFileLock(lock, async () => {
        const n = Number(await Deno.readTextFile(counter));
        await new Promise((r) => setTimeout(r, Math.random() * 3)); // widen the race
        await Deno.writeTextFile(counter, String(n + 1));
      })));
    assert.equal(await Deno.readTextFile(counter), "40");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["n"], "lock removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: a lock left by a dead process on this host is recovered at once", async () => {
  const dir = await tmp();
  try {
    const child = new Deno.Command("true").spawn();
    await child.status; // its pid is gone now
    const lock = join(dir, "x.lock");
    await Deno.writeTextFile(
      lock,
      JSON.stringify({ pid: child.pid, host: hostname(), created: Date.now(), token: "dead" }),
    );
    const l = await acquireFileLock(lock, { timeoutMs: 2_000 });
    assert.notEqual(JSON.parse(await Deno.readTextFile(lock)).token, "dead");
    await l.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: a live lock from another host times out (TRANSIENT, names the holder); an old one is broken", async () => {
  const dir = await tmp();
  try {
    const lock = join(dir, "x.lock");
    const live = { pid: 1, host: "other-host", created: Date.now(), token: "live" };
    await Deno.writeTextFile(lock, JSON.stringify(live));
    await assert.rejects(
      () => acquireFileLock(lock, { timeoutMs: 150, what: "layout index" }),
      (e: unknown) =>
        isKarsError(e, "TRANSIENT") && e.details?.reason === "LockTimeout" &&
        /layout index: timed out .*held by pid 1 on other-host/.test(e.message),
    );
    assert.equal(JSON.parse(await Deno.readTextFile(lock)).token, "live", "not broken");
    await Deno.writeTextFile(lock, JSON.stringify({ ...live, created: Date.now() - 120_000 }));
    const l = await acquireFileLock(lock, { timeoutMs: 2_000, staleMs: 60_000 });
    await l.release();
    assert.ok(!(await exists(lock)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: release never removes a lock someone else took over", async () => {
  const dir = await tmp();
  try {
    const lock = join(dir, "x.lock");
    const l = await acquireFileLock(lock);
    const other = JSON.stringify({ pid: 1, host: "h", created: Date.now(), token: "theirs" });
    await Deno.writeTextFile(lock, other); // as if ours had been judged stale and retaken
    await l.release();
    assert.equal(await Deno.readTextFile(lock), other);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: isStale — unreadable content goes by mtime; a running pid here is live", () => {
  const now = Date.now();
  assert.equal(isStale(null, now - 1_000, now, 60_000), false);
  assert.equal(isStale(null, now - 61_000, now, 60_000), true);
  const me = { pid: Deno.pid, host: hostname(), created: now, token: "t" };
  assert.equal(isStale(me, now, now, 60_000), false);
  assert.equal(isStale({ ...me, created: now - 61_000 }, now, now, 60_000), true);
});

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}
