/**
 * Verifying an allowlist artifact exactly as the kars controller does:
 * {@link verifyAllowlist} fetches the artifact from a `Target`, finds its signatures (legacy
 * `.sig` layer or Sigstore bundle), checks them against a {@link SignerPolicy} and a Sigstore
 * {@link TrustedRoot}, and returns the `AllowlistVerified` condition;
 * {@link predictControllerVerdict} says what the controller itself will decide (keyless only,
 * exact SANs). The Sigstore bundle verifier ({@link verifyBundle}), the signer policy
 * (parse, match) and the trust root (embedded, TUF refresh) are here too.
 *
 * @example
 * ```ts
 * import { formatCondition, parseSignerPolicy, verifyAllowlist } from "jsr:@kars/egress/verify";
 * import { MemoryTarget } from "jsr:@kars/egress/oci";
 *
 * const policy = parseSignerPolicy(`apiVersion: v1
 * kind: ConfigMap
 * metadata:
 *   name: kars-signer-policy
 * data:
 *   fulcioIssuers: https://token.actions.githubusercontent.com
 *   sanPatterns: https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main
 * `);
 * const result = await verifyAllowlist({
 *   ref: {
 *     registry: "myacr.azurecr.io",
 *     repository: "policy/egress-allowlist/my-agent",
 *     digest: `sha256:${"0".repeat(64)}`,
 *     artifactType: "application/vnd.kars.egress-allowlist.v1+yaml",
 *   },
 *   target: new MemoryTarget(), // empty: the verdict is False and fails closed
 *   policy,
 *   trustedRoot: {} as never,
 * });
 * console.log(formatCondition(result.condition));
 * ```
 *
 * @module
 */

// The verdict.
export { verifyAllowlist } from "./verdict.ts";
export { verifySandbox } from "./sandbox.ts";
export type { AllowlistRefInput } from "../model/sandbox.ts";
export type {
  BundleVerifier,
  TargetOpener,
  VerifyAllowlistOptions,
  VerifySandboxOptions,
} from "./options.ts";
export type { SignatureReport, SignerIdentity, VerifyResult } from "./result.ts";
export { predictControllerVerdict } from "./controller.ts";
export { verifyBoth } from "./both.ts";
export type { BothVerdicts } from "./both.ts";
export { FALSE_REASONS, formatCondition } from "./conditions.ts";
export type { AllowlistVerifiedCondition, FalseReason, UnknownReason } from "./conditions.ts";
export { VerdictCache, verdictCacheKey } from "./cache.ts";
export type { Cacheable } from "./cache.ts";

// The signer policy.
export {
  loadSignerPolicy,
  loadSignerPolicyAsync,
  parseSignerPolicy,
  signerPolicyFromEnv,
} from "./policy_parse.ts";
export { matchIdentity, matchKey } from "./policy.ts";
export type {
  CertificateIdentity,
  PolicyError,
  PolicyKey,
  PublicKeyAlgorithm,
  SanPattern,
  SignerPolicy,
} from "./policy.ts";
export { loadSanRegexEngine } from "./san_match.ts";
export type { SanMatcher } from "./san_match.ts";

// Sigstore: bundles, the legacy layer, the trust root.
export {
  loadTrustedRoot,
  parseTrustedRoot,
  productionTrustedRoot,
  refreshTrustedRoot,
  verifyBundle,
} from "./sigstore/mod.ts";
export type {
  ArtifactInput,
  CertificateAuthority,
  TransparencyLog,
  TrustedRoot,
  VerifiedSignature,
  VerifyBundleOptions,
} from "./sigstore/mod.ts";
export type { RefreshOptions } from "./sigstore/tuf.ts";
export type { TimeRange } from "./sigstore/trust_root.ts";
export type { KeyAlgorithm, PublicKey } from "./sigstore/keys.ts";
export type { Certificate, Extension } from "./sigstore/x509.ts";
export { legacyLayerToBundle } from "./legacy.ts";
export type { BundleJson, TlogEntryJson } from "./legacy.ts";

// Types the signatures above use.
export type { Digest } from "../encoding/digest.ts";
export type { DerNode } from "../encoding/der.ts";
export type { Descriptor, FetchedManifest, RequestOptions, Target } from "../oci/types.ts";
export type { Endpoint } from "../model/sandbox.ts";
export { KarsError } from "../errors.ts";
export type { ErrorCode } from "../errors.ts";
