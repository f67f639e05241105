/**
 * Node import check (issue 5): the library bundle (`scripts/node_lib.ts`: `mod.ts` and the
 * subpath faces) imported by Node 20 canonicalises,
 * digests and parses a fixture with results byte-identical to the same checks under Deno
 * (`scripts/node_check.ts`, `scripts/node_check.mjs`).
 */
import assert from "assert";
import { nodeCheck } from "../../scripts/node_check.ts";
import { EXPECTED_CANONICAL } from "../../scripts/node_check.mjs";
import { digestBytes } from "../../lib/encoding/digest.ts";

Deno.test("the library bundle works under Node 20 and agrees with Deno", async () => {
  const r = await nodeCheck();
  assert.match(r.nodeVersion, /^v\d+\./);
  assert.equal(r.node, r.deno);
  const result = JSON.parse(r.node);
  // The Node side computed the digest of the spec's canonical bytes itself.
  assert.equal(result.canonicalDigest, digestBytes(new TextEncoder().encode(EXPECTED_CANONICAL)));
  assert.equal(result.karsError.isKarsError, true);
  assert.equal(result.rejected.count, 2);
  assert.equal(result.artifact.layer.digest, result.canonicalDigest);
  assert.equal(result.verify["happy-path-v0.3"].verified, true);
  assert.equal(result.verify["signature-mismatch_fail"].verified, false);
});
