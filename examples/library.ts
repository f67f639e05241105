/**
 * The library API, as shown in the README (there imported from `jsr:@kars/egress`; here from
 * the repository's `mod.ts`). Runs offline: builds the signed-to-be allowlist and its
 * content address, the GitOps patch, pushes the artifact to an in-memory target and asks
 * for the cluster's verdict — which is `False/Unsigned`, because nothing signed
 * it: verification fails closed.
 *
 * Run: `deno run --allow-env=LOG_TOKENS,LOG_STREAM examples/library.ts` (the `yaml` package
 * reads those two variables; nothing else is needed)
 *
 * @module
 */
import {
  buildAllowlistArtifact,
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  emitGitopsManifest,
  formatCondition,
  MemoryTarget,
  parseSignerPolicy,
  productionTrustedRoot,
  pushArtifact,
  verifyAllowlist,
} from "../mod.ts";

// 1. The canonical allowlist: normalised (lowercase, punycode, port 443), deduplicated, sorted.
const endpoints = canonicalizeEndpoints([
  { host: "API.GitHub.com" },
  { host: "bücher.example", port: 8443 },
  { host: "api.github.com", port: 443 },
]);
const canonical = emitCanonicalAllowlist({ generation: 1, endpoints });

// 2. The OCI artifact: a pure function of those bytes, so the digest is known offline.
const artifact = buildAllowlistArtifact(canonical);
console.log(`allowlist ${endpoints.length} endpoints, manifest ${artifact.manifestDigest}`);

// 3. The GitOps patch that points the sandbox at it.
const manifest = emitGitopsManifest({
  name: "my-agent",
  signer:
    "keyless:https://github.com/acme/gitops/.github/workflows/promote-egress.yml@refs/heads/main",
  registry: "myacr.azurecr.io",
  repository: "policy/egress-allowlist/my-agent",
  digest: artifact.manifestDigest,
  egressMode: "Strict",
});
console.log(new TextDecoder().decode(manifest).split("\n")[0]);

// 4. Push (here to memory; RegistryTarget / openTarget for a real registry) and verify the
//    way the cluster will, against a SignerPolicy and the Sigstore public-good trust root.
const target = new MemoryTarget();
await pushArtifact(target, {
  manifestBytes: artifact.manifestBytes,
  blobs: [
    { desc: artifact.config, data: new TextEncoder().encode("{}") },
    { desc: artifact.layer, data: canonical },
  ],
}, { tags: ["latest"] });
const policy = parseSignerPolicy(`apiVersion: v1
kind: ConfigMap
metadata:
  name: kars-signer-policy
data:
  fulcioIssuers: |
    https://token.actions.githubusercontent.com
  sanPatterns: |
    https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main
`);
const result = await verifyAllowlist({
  ref: {
    registry: "myacr.azurecr.io",
    repository: "policy/egress-allowlist/my-agent",
    digest: artifact.manifestDigest,
    artifactType: artifact.manifest.artifactType,
  },
  target,
  policy,
  trustedRoot: productionTrustedRoot(),
});
console.log(formatCondition(result.condition));
