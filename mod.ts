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

// Errors and digests.
export { isKarsError, KarsError } from "./lib/errors.ts";
export type { ErrorCode } from "./lib/errors.ts";
export { digestBytes, digestStream, isDigest } from "./lib/encoding/digest.ts";
export type { Digest } from "./lib/encoding/digest.ts";
export { VERSION } from "./lib/version.ts";

// The canonical allowlist and its inputs.
export {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  parseCanonicalAllowlist,
} from "./lib/allowlist/canonical.ts";
export { applyApproveDeny, chooseGeneration } from "./lib/allowlist/edit.ts";
export type { Allowlist, EmitOptions, Endpoint } from "./lib/allowlist/canonical.ts";
export { diffAllowlists, renderDiffText } from "./lib/allowlist/diff.ts";
export type { AllowlistDiff } from "./lib/allowlist/diff.ts";
export { normaliseHost, parseHostPort } from "./lib/allowlist/host.ts";
export { readNetworkPolicy, selectSandbox } from "./lib/model/sandbox_read.ts";
export type { KarsSandbox, NetworkPolicy, RawEndpoint } from "./lib/model/sandbox_read.ts";
export { parseYamlDocuments } from "./lib/encoding/yaml_read.ts";
export type { YamlLimits } from "./lib/encoding/yaml_read.ts";

// The GitOps manifest.
export { emitGitopsManifest, readGitopsManifest } from "./lib/gitops/manifest.ts";
export type { AllowlistRef, GitopsManifest, GitopsManifestInput } from "./lib/gitops/manifest.ts";
export { renderSummary } from "./lib/gitops/summary.ts";
export type { SummaryInput } from "./lib/gitops/summary.ts";

// OCI: the artifact and the storage targets.
export {
  ALLOWLIST_MEDIA_TYPE,
  buildAllowlistArtifact,
  parseAllowlistManifest,
} from "./lib/oci/artifact.ts";
export type { AllowlistArtifact, ParsedAllowlistManifest } from "./lib/oci/artifact.ts";
export type {
  Descriptor,
  FetchedManifest,
  ImageIndex,
  ImageManifest,
  RequestOptions,
  Target,
} from "./lib/oci/types.ts";
export type { UploadOptions } from "./lib/oci/registry.ts";
export { RegistryClient } from "./lib/oci/client.ts";
export type { OpenTargetOptions } from "./lib/oci/open.ts";
export type { ArtifactToPush, CopyOptions, PushArtifactOptions } from "./lib/oci/copy.ts";
export type { Credential, CredentialContext, CredentialSource } from "./lib/oci/auth.ts";
export type { DefaultCredentialsOptions } from "./lib/oci/docker_config.ts";
export { MemoryTarget } from "./lib/oci/memory.ts";
export { checkRegistryAllowed, parseRegistryHost } from "./lib/oci/registry_host.ts";
export type { RegistryAllowed } from "./lib/oci/registry_host.ts";
export { LayoutTarget } from "./lib/oci/layout.ts";
export { RegistryTarget } from "./lib/oci/registry.ts";
export { openTarget } from "./lib/oci/open.ts";
export { copy, pushArtifact } from "./lib/oci/copy.ts";
export { defaultCredentials } from "./lib/oci/docker_config.ts";

// Signing.
export { createSigner, signArtifact } from "./lib/sign/sign_artifact.ts";
export type {
  CreateSignerOptions,
  SignArtifactOptions,
  SignArtifactResult,
  SignatureFormat,
} from "./lib/sign/sign_artifact.ts";
export type { ExpectedSigner, Signature, SignatureKey, Signer } from "./lib/sign/signer.ts";
export type { TransparencyLogEntryJson } from "./lib/sign/rekor_v2.ts";
export type { BundleSignature, LegacySignature } from "./lib/sign/store.ts";
export {
  generateKeyPair,
  KeyFileSigner,
  loadPrivateKey,
  writeKeyPair,
} from "./lib/sign/keyfile.ts";
export { KeylessSigner } from "./lib/sign/keyless.ts";
export type { KeylessOptions } from "./lib/sign/keyless.ts";
export { AzureKmsSigner } from "./lib/sign/azure_kms.ts";
export type { AzureKmsOptions } from "./lib/sign/azure_kms.ts";
export { attachSignature } from "./lib/sign/store.ts";
export { simpleSigningPayload } from "./lib/cosign/simple_signing.ts";
export {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_REKOR_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  signatureTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "./lib/cosign/vocabulary.ts";
export type { KeyPairPem, LoadedKey, PasswordSource } from "./lib/sign/keyfile.ts";

// Verification.
export { verifyAllowlist, verifySandbox } from "./lib/verify/verdict.ts";
export { predictControllerVerdict, verifyBoth } from "./lib/verify/controller.ts";
export type { BothVerdicts } from "./lib/verify/controller.ts";
export type {
  AllowlistRefInput,
  BundleVerifier,
  SignatureReport,
  SignerIdentity,
  VerifyAllowlistOptions,
  VerifyResult,
  VerifySandboxOptions,
} from "./lib/verify/verdict.ts";
export { VerdictCache, verdictCacheKey } from "./lib/verify/cache.ts";
export {
  loadSignerPolicy,
  loadSignerPolicyAsync,
  matchIdentity,
  matchKey,
  parseSignerPolicy,
  signerPolicyFromEnv,
} from "./lib/verify/policy.ts";
export { legacyLayerToBundle } from "./lib/verify/legacy.ts";
export type { BundleJson, TlogEntryJson } from "./lib/verify/legacy.ts";
export type {
  CertificateIdentity,
  PolicyError,
  PolicyKey,
  SanPattern,
  SignerPolicy,
} from "./lib/verify/policy.ts";
export type { SanMatcher } from "./lib/verify/san_match.ts";
export { loadSanRegexEngine } from "./lib/verify/san_match.ts";
export type { RefreshOptions } from "./lib/verify/sigstore/tuf.ts";
export { FALSE_REASONS, formatCondition } from "./lib/verify/conditions.ts";
export type {
  AllowlistVerifiedCondition,
  FalseReason,
  UnknownReason,
} from "./lib/verify/conditions.ts";
export {
  loadTrustedRoot,
  parseTrustedRoot,
  productionTrustedRoot,
  refreshTrustedRoot,
  verifyBundle,
} from "./lib/verify/sigstore/mod.ts";
export type {
  ArtifactInput,
  CertificateAuthority,
  TransparencyLog,
  TrustedRoot,
  VerifiedSignature,
  VerifyBundleOptions,
} from "./lib/verify/sigstore/mod.ts";

// The whole flow, and migration.
export { egress } from "./lib/workflow/egress.ts";
export type { EgressIO, EgressResult } from "./lib/workflow/egress.ts";
export { parseEgressOptions } from "./lib/cli/egress_options.ts";
export type {
  EgressOptions,
  RawOptionValues,
  SignatureFormat as EgressSignatureFormat,
  SignMode,
} from "./lib/cli/egress_options.ts";
export { connectCluster } from "./lib/kube/live_cluster.ts";
export type { LiveCluster } from "./lib/kube/live_cluster.ts";
export type { LoadKubeConfigOptions } from "./lib/kube/kubeconfig.ts";
export { ISOLATION_LEVELS, migrateFromKagent, translateKagent } from "./lib/migrate/from_kagent.ts";
export { validateKarsResource } from "./lib/kube/schema/mod.ts";
export type { FieldError, ValidateOptions, ValidationResult } from "./lib/kube/schema/mod.ts";
export { writeFileAtomic } from "./lib/io/fs_atomic.ts";
export type { WriteOptions } from "./lib/io/fs_atomic.ts";
export { createFetch } from "./lib/io/transport.ts";
export type { TransportOptions } from "./lib/io/transport.ts";
export { withDeadlines } from "./lib/io/deadline.ts";
export type { DeadlineFetchOptions, RequestDeadlines } from "./lib/io/deadline.ts";
export { MANIFEST_MAX_BYTES, readBody, SMALL_BODY_MAX_BYTES } from "./lib/io/body.ts";
export type { ReadBodyOptions } from "./lib/io/body.ts";
export { loadKubeConfig } from "./lib/kube/kubeconfig.ts";
export type { KubeAuth, KubeAuthProvider, KubeConfig } from "./lib/kube/kubeconfig.ts";
export { KubeClient } from "./lib/kube/client.ts";
export type { KubeClientOptions, RequestTarget } from "./lib/kube/client.ts";
export { findSandbox, getSandbox, patchSandbox } from "./lib/kube/sandbox.ts";
export type { FindSandboxOptions, PatchSandboxOptions } from "./lib/kube/sandbox.ts";
export type { MigrateOptions, MigrationResult } from "./lib/migrate/from_kagent.ts";

// Types reachable from the API above.
export type { FetchFn } from "./lib/sign/http.ts";
export type { TlogEntry as RekorEntry } from "./lib/sign/rekor.ts";
export type { Env, HelperRunner } from "./lib/oci/docker_config.ts";
export type {
  OpContext,
  RegistryClientOptions,
  RegistryRequest,
  RetryOptions,
} from "./lib/oci/client.ts";
export type {
  Finding,
  Isolation,
  KarsKind,
  KarsResource,
  TranslatedSandbox,
} from "./lib/migrate/from_kagent.ts";
export type { PublicKeyAlgorithm } from "./lib/verify/policy.ts";
export type { Cacheable } from "./lib/verify/cache.ts";
export type { TimeRange } from "./lib/verify/sigstore/trust_root.ts";
export type { PublicKey } from "./lib/verify/sigstore/keys.ts";
export type { Certificate } from "./lib/verify/sigstore/x509.ts";
export type {
  AllowlistRefInput as LiveAllowlistRef,
  EndpointEntry,
  LiveSandbox,
  SandboxPatch,
} from "./lib/kube/sandbox.ts";
export type { SandboxMetadata } from "./lib/model/sandbox.ts";
export type { RequestLogEntry } from "./lib/oci/client.ts";
export type { KeyAlgorithm } from "./lib/verify/sigstore/keys.ts";
export type { Json } from "./lib/migrate/emit.ts";
export type { Extension } from "./lib/verify/sigstore/x509.ts";
export type { DerNode } from "./lib/encoding/der.ts";
