/**
 * kars-egress: turn a kars agent sandbox's egress allowlist into a signed,
 * content-addressed OCI artifact and hand the result to GitOps — and verify it exactly
 * as the cluster's controller does.
 *
 * The pieces compose: {@link canonicalizeEndpoints} and {@link emitCanonicalAllowlist}
 * make the signed bytes, {@link buildAllowlistArtifact} the OCI manifest, a
 * {@link Target} stores it (remote registry, OCI layout, memory), {@link signArtifact}
 * signs it cosign-compatibly, {@link emitGitopsManifest} writes the patch, and
 * {@link verifyAllowlist} gives the `AllowlistVerified` verdict. {@link egress} runs the
 * whole `kars egress` flow.
 *
 * Everything else is at a subpath, each with its own docs: `@kars/egress/allowlist` (hosts,
 * generation, diff), `/oci` (registry and layout targets, the client, credentials), `/sign`
 * (the signers), `/cosign` (payloads, annotations, key id), `/verify` (controller prediction,
 * bundles, policy, trust root), `/kube`, `/cluster` (status, audit, admission webhook),
 * `/model`, `/migrate`, `/io`, and `/cli` (the command).
 *
 * @example
 * ```ts
 * import {
 *   buildAllowlistArtifact,
 *   canonicalizeEndpoints,
 *   emitCanonicalAllowlist,
 * } from "jsr:@kars/egress";
 *
 * const endpoints = canonicalizeEndpoints([{ host: "API.GitHub.com" }, { host: "bücher.example", port: 8443 }]);
 * const bytes = emitCanonicalAllowlist({ generation: 1, endpoints });
 * const { manifestDigest } = buildAllowlistArtifact(bytes);
 * console.log(manifestDigest); // the allowlistRef.digest the controller will verify
 * ```
 *
 * @module
 */

// Errors, digests, the version.
export { isKarsError, KarsError } from "./lib/errors.ts";
export type { ErrorCode } from "./lib/errors.ts";
export { digestBytes, digestStream, isDigest } from "./lib/encoding/digest.ts";
export type { Digest } from "./lib/encoding/digest.ts";
export { VERSION } from "./lib/version.ts";

// The canonical allowlist: the signed bytes.
export {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  parseCanonicalAllowlist,
} from "./lib/allowlist/canonical.ts";
export type { Allowlist, EmitOptions, Endpoint } from "./lib/allowlist/canonical.ts";

// The OCI artifact and where it is stored.
export { ALLOWLIST_MEDIA_TYPE, buildAllowlistArtifact } from "./lib/oci/artifact.ts";
export type { AllowlistArtifact } from "./lib/oci/artifact.ts";
export type { Descriptor, Target } from "./lib/oci/types.ts";
export { MemoryTarget } from "./lib/oci/memory.ts";
export { openTarget } from "./lib/oci/open.ts";
export type { OpenTargetOptions } from "./lib/oci/open.ts";
export { pushArtifact } from "./lib/oci/copy.ts";
export type { ArtifactToPush, PushArtifactOptions } from "./lib/oci/copy.ts";

// Signing and verifying it.
export { signArtifact } from "./lib/sign/sign_artifact.ts";
export type { SignArtifactOptions, SignArtifactResult } from "./lib/sign/sign_artifact.ts";
export type { Signer } from "./lib/sign/signer.ts";
export { verifyAllowlist } from "./lib/verify/verdict.ts";
export type { VerifyAllowlistOptions } from "./lib/verify/options.ts";
export type { VerifyResult } from "./lib/verify/result.ts";
export { parseSignerPolicy } from "./lib/verify/policy_parse.ts";
export type { SignerPolicy } from "./lib/verify/policy.ts";
export { productionTrustedRoot } from "./lib/verify/sigstore/mod.ts";
export type { TrustedRoot } from "./lib/verify/sigstore/mod.ts";
export { formatCondition } from "./lib/verify/conditions.ts";
export type { AllowlistVerifiedCondition } from "./lib/verify/conditions.ts";

// The GitOps hand-off.
export { emitGitopsManifest, readGitopsManifest } from "./lib/gitops/manifest.ts";
export type { AllowlistRef, GitopsManifest, GitopsManifestInput } from "./lib/gitops/manifest.ts";
export { renderSummary } from "./lib/gitops/summary.ts";
export type { SummaryInput } from "./lib/gitops/summary.ts";

// The whole `kars egress` flow.
export { egress } from "./lib/workflow/egress.ts";
export type { EgressDeps, EgressPlan } from "./lib/workflow/plan.ts";
export type { EgressResult } from "./lib/workflow/result.ts";
