/** lib/oci/confirm_write.ts against simulated concurrent writers. */
import assert from "assert";
import { isKarsError } from "../../lib/errors.ts";
import { writeConfirmed } from "../../lib/oci/confirm_write.ts";

const fast = { sleep: () => Promise.resolve(), recheckMs: [0, 0] as [number, number] };

/** A shared document and a rival writer that replaces it with a stale copy at chosen reads. */
function doc(rivalAtRead: number[]) {
  let state: string[] | null = null;
  let reads = 0, writes = 0;
  return {
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

Deno.test("confirm_write: a stale write landing between read-back and re-check is caught by the re-check", async () => {
  const d = doc([3]); // read 3 is the delayed re-check
  const out = await writeConfirmed(d.ops, fast);
  assert.deepEqual(out, ["theirs", "mine"]);
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
