/**
 * One legacy cosign signature verification end to end, as the cluster does it
 * (`verifyAllowlist`): fetch the allowlist manifest by digest, re-hash manifest and layer,
 * strictly parse the canonical allowlist, find `sha256-<hex>.sig`, turn its layer into a
 * bundle, verify the Fulcio chain, the Rekor SET and the signature (noble), check the
 * payload and the SignerPolicy. The artifact and its keyless signature are made once, at
 * load, against the `@sigstore/mock` Fulcio/Rekor on loopback; the verification itself is
 * offline (an in-memory target).
 *
 * @module
 */
import { MemoryTarget } from "../lib/oci/memory.ts";
import { verifyAllowlist } from "../lib/verify/verdict.ts";
import { parseSignerPolicy } from "../lib/verify/policy_parse.ts";
import { parseTrustedRoot } from "../lib/verify/sigstore/mod.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../lib/oci/artifact.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { keylessSigner, policyYaml, pushAllowlist, signLegacy } from "../tests/verify/fixtures.ts";
import { type BenchCase, register } from "./harness.ts";

const REGISTRY = "myacr.azurecr.io";
const REPOSITORY = "policy/egress-allowlist/my-agent";

const target = new MemoryTarget();
const mock = await startSigstoreMock();
let setup;
try {
  const a = await pushAllowlist(target);
  await signLegacy(target, {
    registry: REGISTRY,
    repository: REPOSITORY,
    digest: a.manifestDigest,
    signer: keylessSigner(mock),
    rekorUrl: mock.rekorUrl,
  });
  setup = {
    ref: {
      registry: REGISTRY,
      repository: REPOSITORY,
      digest: a.manifestDigest,
      artifactType: ALLOWLIST_MEDIA_TYPE,
    },
    policy: parseSignerPolicy(policyYaml([mock.defaultIssuer], [mock.defaultSubject])),
    trustedRoot: parseTrustedRoot(JSON.stringify(mock.trustedRoot)),
  };
} finally {
  await mock.stop();
}
const { ref, policy, trustedRoot } = setup;

async function verifyOnce(): Promise<void> {
  const r = await verifyAllowlist({ ref, target, policy, trustedRoot });
  if (!r.verdict) throw new Error(`verification failed: ${r.condition.message}`);
}
await verifyOnce();

/** The cases. */
export const cases: BenchCase[] = [
  { group: "legacy cosign signature", name: "verify end to end (keyless)", fn: verifyOnce },
];

register(cases);
