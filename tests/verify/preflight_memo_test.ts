/**
 * The preflight's memo of well-formed refs: a ref is judged by its strings, so once a ref was
 * found well-formed, a lookalike whose fields are not strings (objects that print the same),
 * or that differs in any one field, is still judged afresh and refused.
 */
import assert from "assert";
import { preflightAllowlist } from "../../lib/verify/verdict.ts";
import type { SignerPolicy } from "../../lib/verify/policy.ts";
import type { AllowlistRefInput } from "../../lib/model/sandbox.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../../lib/oci/artifact.ts";

const policy = {
  hash: "sha256:" + "b".repeat(64),
  registries: [],
  publicKeys: [],
  keyless: [],
} as unknown as SignerPolicy;

const good = {
  registry: "myacr.azurecr.io",
  repository: "policy/egress-allowlist/memo",
  digest: "sha256:" + "c".repeat(64),
  artifactType: ALLOWLIST_MEDIA_TYPE,
};

function reason(ref: unknown, allowedRegistries?: string[]): string | undefined {
  const p = preflightAllowlist({ ref: ref as AllowlistRefInput, policy, allowedRegistries });
  return "result" in p ? p.result.condition.reason : undefined;
}

Deno.test("preflight memo: lookalikes of a well-formed ref are still refused", () => {
  for (let i = 0; i < 3; i++) assert.equal(reason({ ...good }), undefined);
  const printsAs = (s: string) => ({ toString: () => s });
  for (const field of ["registry", "repository", "digest", "artifactType"] as const) {
    assert.equal(
      reason({ ...good, [field]: printsAs(good[field]) }),
      "InvalidRef",
      `${field} as an object`,
    );
    assert.equal(reason({ ...good, [field]: [good[field]] }), "InvalidRef", `${field} as an array`);
  }
  assert.equal(reason({ ...good, registry: "MyACR.azurecr.io:0" }), "InvalidRef");
  assert.equal(reason({ ...good, digest: "sha256:" + "C".repeat(64) }), "InvalidRef");
  assert.equal(reason({ ...good, artifactType: "application/json" }), "InvalidRef");
  assert.equal(reason({ ...good, repository: "Policy/x" }), "InvalidRef");
  // The allowed-registries decision is made on every call, memo or not.
  assert.equal(reason({ ...good }, ["other.example"]), "InvalidRef");
  assert.equal(reason({ ...good }, ["myacr.azurecr.io"]), undefined);
  assert.equal(reason({ ...good, registry: "169.254.169.254" }), "InvalidRef");
});
