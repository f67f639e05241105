/**
 * Signing the allowlist artifact the way cosign does: a {@link Signer} (a cosign key file,
 * keyless via Fulcio and an OIDC token, or an Azure Key Vault key) composed with its
 * witnesses (Rekor, a timestamp authority) by {@link signArtifact}, which stores the
 * result next to the artifact as a legacy `.sig` layer or a Sigstore bundle.
 * {@link createSigner} picks the signer from options, as `kars egress` does.
 *
 * @example
 * ```ts
 * import { generateKeyPair, KeyFileSigner, loadPrivateKey } from "jsr:@kars/egress/sign";
 *
 * const { privatePem } = await generateKeyPair({ password: "hello" });
 * const key = await loadPrivateKey(privatePem, "cosign.key", () => "hello");
 * const signer = new KeyFileSigner(key);
 * console.log(signer.identity); // "key:…", the identity a verifier's policy names
 * ```
 *
 * @module
 */

// Composing a signature.
export { createSigner, signArtifact } from "./sign_artifact.ts";
export type {
  CreateSignerOptions,
  SignArtifactOptions,
  SignArtifactResult,
  SignatureFormat,
} from "./sign_artifact.ts";
export type { ExpectedSigner, Signature, SignatureKey, Signer } from "./signer.ts";
export { attachSignature, stageLegacySignature } from "./store.ts";
export type {
  AttachOptions,
  BundleSignature,
  LegacySignature,
  StagedLegacySignature,
} from "./store.ts";

// The signers.
export { generateKeyPair, KeyFileSigner, loadPrivateKey, writeKeyPair } from "./keyfile.ts";
export type { KeyPairPem, LoadedKey, PasswordSource } from "./keyfile.ts";
export { KeylessSigner } from "./keyless.ts";
export type { KeylessOptions } from "./keyless.ts";
export { AzureKmsSigner } from "./azure_kms.ts";
export type { AzureKmsOptions } from "./azure_kms.ts";

// Types the signatures above use.
export type { Digest } from "../encoding/digest.ts";
export type { Descriptor, FetchedManifest, RequestOptions, Target } from "../oci/types.ts";
export type { CertificateAuthority, TransparencyLog, TrustedRoot } from "../verify/sigstore/mod.ts";
export type { TimeRange } from "../verify/sigstore/trust_root.ts";
export type { KeyAlgorithm, PublicKey } from "../verify/sigstore/keys.ts";
export type { Certificate, Extension } from "../verify/sigstore/x509.ts";
export type { DerNode } from "../encoding/der.ts";
export type { FetchFn } from "./http.ts";
export type { TlogEntry as RekorEntry } from "./rekor.ts";
export type { TransparencyLogEntryJson } from "./rekor_v2.ts";
export type { ServiceEntry, ServiceSelector, SigningConfig } from "./signing_config.ts";
