/** The webhook's periodic trust-root refresh: a new root replaces the old; a failure keeps it. */
import assert from "assert";
import { TrustRootKeeper } from "../../lib/cluster/trust_refresh.ts";
import type { TrustedRoot } from "../../lib/verify/sigstore/mod.ts";

Deno.test("trust refresh: swaps on success, keeps the root on failure, stops on abort", async () => {
  const a = { name: "a" } as unknown as TrustedRoot;
  const b = { name: "b" } as unknown as TrustedRoot;
  const keeper = new TrustRootKeeper(a);
  const ac = new AbortController();
  const events: string[] = [];
  let calls = 0;
  const done = keeper.run({
    intervalMs: 5,
    signal: ac.signal,
    refresh: () => {
      calls++;
      if (calls === 1) return Promise.reject(new Error("mirror down"));
      if (calls === 2) return Promise.resolve(b);
      ac.abort();
      return Promise.resolve(b);
    },
    onChange: (r) => events.push(`change:${(r as unknown as { name: string }).name}`),
    onError: (e) => events.push(`error:${(e as Error).message}`),
  });
  await done;
  assert.deepEqual(events, ["error:mirror down", "change:b"]);
  assert.equal(keeper.current(), b);
  assert.equal(calls, 3);
});
