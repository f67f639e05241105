/**
 * Oracle test: `@sigstore/verify` 3.1.0 (sigstore-js) under Node 20 against our verifier
 * under Deno, on every shared conformance case (with the artifact). They must agree
 * everywhere except where the oracle is known to be wrong:
 * - `trust-root-tlog-missing-validity-start_fail`: the oracle reads the missing
 *   `validFor.start` as "since forever" and accepts; the case must fail.
 * - `rekor2-dsse-happy-path`: the oracle does not know the "hashedrekord-over-DSSE" Rekor v2
 *   encoding (the entry's digest is SHA-256 of the DSSE PAE) and rejects it with
 *   "digest mismatch"; the case must pass.
 */
import assert from "assert";
import { pemDecode } from "../../../lib/encoding/pem.ts";
import { verifyBundle } from "../../../lib/verify/sigstore/mod.ts";
import { oracleVerify } from "../../support/node_oracle.ts";
import { loadConformanceCases, sharedTrustedRoot } from "./conformance_cases.ts";

const ORACLE_WRONG: Record<string, { oracleOk: boolean; error?: RegExp }> = {
  "trust-root-tlog-missing-validity-start_fail": { oracleOk: true },
  "rekor2-dsse-happy-path": { oracleOk: false, error: /digest mismatch/ },
};

function hasNode(): boolean {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const nodeAvailable = hasNode();
if (!nodeAvailable && Deno.env.get("KARS_REQUIRE_TOOLS") !== "1") {
  console.warn("oracle_test: `node` not found; the sigstore-js oracle comparison is skipped");
}

Deno.test({
  name: "oracle: sigstore-js under Node agrees with our verifier on every conformance case",
  ignore: !nodeAvailable && Deno.env.get("KARS_REQUIRE_TOOLS") !== "1",
  async fn() {
    const cases = loadConformanceCases();
    const oracle = await oracleVerify(cases.map((c) => {
      let bundle: unknown;
      try {
        bundle = JSON.parse(c.bundleText);
      } catch {
        bundle = c.bundleText; // malformed JSON: the oracle must refuse it too
      }
      return {
        bundle,
        artifact: c.artifact,
        trustedRoot: c.trustedRoot,
        identity: c.identity,
        keyPem: c.keyPem,
      };
    }));
    const disagreements: string[] = [];
    for (const [i, c] of cases.entries()) {
      let ours = false;
      try {
        await verifyBundle(c.bundleText, { bytes: c.artifact }, {
          trustedRoot: sharedTrustedRoot(c),
          identity: c.identity,
          publicKeys: c.keyPem ? [pemDecode(c.keyPem)!.der] : undefined,
        });
        ours = true;
      } catch {
        ours = false;
      }
      assert.equal(ours, c.expectOk, `our verdict on ${c.name}`);
      if (ours !== oracle[i].ok) {
        disagreements.push(c.name);
        const known = ORACLE_WRONG[c.name];
        assert.ok(
          known,
          `unexpected disagreement on ${c.name}: oracle ${JSON.stringify(oracle[i])}`,
        );
        assert.equal(oracle[i].ok, known.oracleOk);
        if (known.error) assert.match(oracle[i].error ?? "", known.error);
      }
    }
    assert.deepEqual(disagreements.sort(), Object.keys(ORACLE_WRONG).sort());
  },
});
