import assert from "assert";
import { VerdictCache, verdictCacheKey } from "../../lib/verify/cache.ts";
import {
  FALSE_REASONS,
  falseCondition,
  formatCondition,
  unknownCondition,
  verifiedCondition,
} from "../../lib/verify/conditions.ts";

const D = `sha256:${"ab".repeat(32)}`;

Deno.test("conditions: exact formats.md §6 reasons and rendering", () => {
  assert.deepEqual([...FALSE_REASONS], [
    "Unsigned",
    "SignerPolicyMissing",
    "SignerPolicyMalformed",
    "InvalidRef",
    "Unauthorized",
    "NotFound",
    "DigestMismatch",
    "SignatureVerifyFailed",
    "IdentityMismatch",
    "CanonicalFormViolation",
  ]);
  assert.equal(
    formatCondition(verifiedCondition(D, 7)),
    `AllowlistVerified=True/Verified: digest=${D}, generation=7`,
  );
  assert.equal(
    formatCondition(falseCondition("Unsigned", "m")),
    "AllowlistVerified=False/Unsigned: m",
  );
  assert.equal(unknownCondition("TransientError", "x").status, "Unknown");
  // deno-lint-ignore no-explicit-any
  assert.throws(() => falseCondition("Verified" as any, "m"), TypeError);
});

Deno.test("cache: verdicts only, access-dependent verdicts skipped, TTL and size bound", () => {
  let now = 1_000;
  const cache = new VerdictCache({ ttlMs: 100, maxEntries: 2, clock: () => now });
  const k = (n: number) =>
    verdictCacheKey({ registry: "r", repository: `p${n}`, digest: D }, "sha256:pol");
  assert.notEqual(
    k(1),
    verdictCacheKey({ registry: "r", repository: "p1", digest: D }, "sha256:other"),
  );
  assert.equal(cache.set(k(1), { condition: verifiedCondition(D, 1) }), true);
  assert.equal(cache.set(k(2), { condition: falseCondition("IdentityMismatch", "x") }), true);
  assert.equal(cache.set(k(3), { condition: falseCondition("NotFound", "x") }), false);
  assert.equal(cache.set(k(3), { condition: falseCondition("Unauthorized", "x") }), false);
  assert.equal(cache.set(k(3), { condition: unknownCondition("TransientError", "x") }), false);
  assert.equal(cache.size, 2);
  assert.equal(cache.get(k(1))?.condition.status, "True");
  // a third entry evicts the oldest
  cache.set(k(4), { condition: falseCondition("DigestMismatch", "x") });
  assert.equal(cache.size, 2);
  assert.equal(cache.get(k(1)), undefined);
  assert.equal(cache.get(k(4))?.condition.reason, "DigestMismatch");
  now += 100;
  assert.equal(cache.get(k(4)), undefined, "expired");
  cache.clear();
  assert.equal(cache.size, 0);
});
