/** lib/oci/confirm_write.ts against simulated concurrent writers. */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { recheckDelay, writeConfirmed } from "../../lib/oci/confirm_write.ts";

const fast = { sleep: () => Promise.resolve(), recheckMs: [0, 0] as [number, number] };

/**
 * A shared document and a rival writer that replaces it with a stale copy at chosen reads (and,
 * through `sleep`, at chosen sleeps: while we wait).
 */
function doc(rivalAtRead: number[], rivalAtSleep: number[] = []) {
  let state: string[] | null = null;
  let reads = 0, writes = 0, sleeps = 0;
  return {
    sleep: (_ms: number) => {
      sleeps++;
      if (rivalAtSleep.includes(sleeps)) state = ["theirs"]; // a stale write lands
      return Promise.resolve();
    },
    get state() {
      return state;
    },
    get writes() {
      return writes;
    },
    ops: {
      what: "doc",
      read: () => {
        reads++;
        if (rivalAtRead.includes(reads)) state = ["theirs"]; // a stale write lands
        return Promise.resolve(state ? [...state] : null);
      },
      has: (s: string[] | null) => s?.includes("mine") ?? false,
      write: (s: string[] | null) => {
        writes++;
        state = [...(s ?? []).filter((x) => x !== "mine"), "mine"];
        return Promise.resolve("written" as const);
      },
    },
  };
}

Deno.test("confirm_write: a rival's stale write right after ours is seen on read-back and merged", async () => {
  const d = doc([2]); // read 1: before our write; read 2: the read-back, after the rival landed
  const out = await writeConfirmed(d.ops, fast);
  assert.deepEqual(out, ["theirs", "mine"]);
  assert.deepEqual(d.state, ["theirs", "mine"]);
  assert.equal(d.writes, 2);
});

Deno.test("confirm_write: a stale write landing during the re-check delay is caught by the confirming read", async () => {
  const d = doc([], [1]); // sleep 1 is the delay after our first write: the rival lands then
  const out = await writeConfirmed(d.ops, { ...fast, sleep: d.sleep });
  assert.deepEqual(out, ["theirs", "mine"]);
  assert.deepEqual(d.state, ["theirs", "mine"]);
  assert.equal(d.writes, 2);
});

Deno.test("confirm_write: already present → no write; endless rivals → TRANSIENT WriteConflict, bounded", async () => {
  const present = doc([]);
  await present.ops.write(null);
  await writeConfirmed(present.ops, fast);
  assert.equal(present.writes, 1);

  const endless = doc(Array.from({ length: 100 }, (_, i) => i + 1).filter((i) => i % 2 === 0));
  await assert.rejects(
    () => writeConfirmed(endless.ops, { ...fast, attempts: 5 }),
    (e: unknown) => isKarsError(e, "TRANSIENT") && e.details?.reason === "WriteConflict",
  );
  assert.equal(endless.writes, 5);
});

Deno.test("confirm_write: a conditional write reporting conflict is retried, not counted as written", async () => {
  let state: string[] | null = ["theirs"];
  let conflicts = 1;
  const out = await writeConfirmed({
    what: "cas",
    read: () => Promise.resolve(state),
    has: (s) => s?.includes("mine") ?? false,
    write: (s) => {
      if (conflicts-- > 0) return Promise.resolve("conflict" as const);
      state = [...(s ?? []), "mine"];
      return Promise.resolve("written" as const);
    },
  }, fast);
  assert.deepEqual(out, ["theirs", "mine"]);
});

Deno.test("confirm_write: an uncontended write is one read, one write, one confirming read after a latency-bounded delay", async () => {
  const d = doc([]);
  let clock = 0;
  const delays: number[] = [];
  const reads = d.ops.read;
  const out = await writeConfirmed({
    ...d.ops,
    read: () => {
      clock += 10; // every read takes 10 ms
      return reads();
    },
  }, {
    now: () => clock,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  assert.deepEqual(out, ["mine"]);
  assert.equal(d.writes, 1);
  assert.equal(delays.length, 1, "one delay: before the confirming read");
  // 4 × the slowest read (10 ms), jittered up by at most a half; not the contended 100–300 ms.
  assert.ok(delays[0] >= 40 && delays[0] <= 60, `delay ${delays[0]}`);
});

Deno.test("confirm_write: once a rival replaced our entry, the next re-check waits the contended range", async () => {
  const d = doc([2]); // the confirming read finds a rival's stale write
  const delays: number[] = [];
  await writeConfirmed(d.ops, {
    now: () => 0,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  assert.equal(d.writes, 2);
  // [uncontended re-check, backoff, contended re-check]
  assert.equal(delays.length, 3);
  assert.ok(delays[0] >= 25 && delays[0] <= 37.5, `first re-check ${delays[0]}`);
  assert.ok(delays[2] >= 100 && delays[2] <= 300, `contended re-check ${delays[2]}`);
});

Deno.test("confirm_write: recheckDelay is bounded by the observed latency, floored, capped", () => {
  assert.equal(recheckDelay({ slowestReadMs: 1, contended: false, random: 0 }), 25);
  assert.equal(recheckDelay({ slowestReadMs: 50, contended: false, random: 0 }), 200);
  assert.equal(recheckDelay({ slowestReadMs: 50, contended: false, random: 1 }), 300);
  assert.equal(recheckDelay({ slowestReadMs: 5000, contended: false, random: 0 }), 2000);
  assert.equal(recheckDelay({ slowestReadMs: 1, contended: true, random: 0.5 }), 200);
  // A slow registry under contention: the latency bound wins over the fixed range.
  assert.equal(recheckDelay({ slowestReadMs: 100, contended: true, random: 0 }), 400);
});

Deno.test("confirm_write: a slow write call (a loaded machine) lengthens the uncontended re-check", async () => {
  const d = doc([]);
  let clock = 0;
  const delays: number[] = [];
  const write = d.ops.write;
  await writeConfirmed({
    ...d.ops,
    write: (s) => {
      clock += 80; // the write call (uploads, re-read, PUT) took 80 ms
      return write(s);
    },
  }, {
    now: () => clock,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  assert.ok(delays[0] >= 80 && delays[0] <= 120, `delay ${delays[0]}`);
  assert.equal(
    recheckDelay({ slowestReadMs: 1, slowestWriteMs: 80, contended: false, random: 0 }),
    80,
  );
});

Deno.test("confirm_write: a delay that overran (a stalled machine) is followed by one more confirming read, which catches a late stale write", async () => {
  const d = doc([], [2]); // sleep 2 is the extra wait after a late wake-up: the rival lands then
  let clock = 0;
  const delays: number[] = [];
  const out = await writeConfirmed(d.ops, {
    now: () => clock,
    sleep: (ms) => {
      delays.push(ms);
      // The first wait wakes 3× late (a loaded machine); later ones on time.
      clock += delays.length === 1 ? 3 * ms : ms;
      return d.sleep(ms);
    },
  });
  assert.deepEqual(out, ["theirs", "mine"]);
  assert.deepEqual(d.state, ["theirs", "mine"]);
  assert.equal(d.writes, 2);
  // The extra wait lasts at least the stall seen (the delay plus its overrun).
  assert.ok(delays[1] >= 3 * delays[0] - 1e-9, `delays ${delays}`);
});

Deno.test("confirm_write: overrunning waits add at most stallRechecks confirming reads; waits on time add none", async () => {
  for (const [late, rechecks, reads] of [[true, 2, 4], [true, 0, 2], [false, 2, 2]] as const) {
    const d = doc([]);
    let clock = 0;
    let n = 0;
    const count = d.ops.read;
    await writeConfirmed({ ...d.ops, read: () => (n++, count()) }, {
      now: () => clock,
      stallRechecks: rechecks,
      sleep: (ms) => {
        clock += late ? 5 * ms : ms;
        return Promise.resolve();
      },
    });
    assert.equal(n, reads, `late ${late}, stallRechecks ${rechecks}`);
    assert.equal(d.writes, 1);
  }
});
