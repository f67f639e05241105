/**
 * cosign's wire vocabulary for the legacy signature layout, shared by signing and
 * verification: the `.sig` tag, the simple-signing media type, the layer annotations.
 *
 * @module
 */
import { type Digest, digestHex } from "./digest.ts";

/** Media type of a simple-signing payload layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** Annotation: base64 of the ASN.1 DER signature over the payload. */
export const ANNOTATION_SIGNATURE = "dev.cosignproject.cosign/signature";
/** Annotation: PEM leaf certificate (keyless). */
export const ANNOTATION_CERTIFICATE = "dev.sigstore.cosign/certificate";
/** Annotation: PEM chain, intermediates and root (keyless). */
export const ANNOTATION_CHAIN = "dev.sigstore.cosign/chain";
/** Annotation: Rekor bundle (SET + entry). */
export const ANNOTATION_REKOR_BUNDLE = "dev.sigstore.cosign/bundle";
/** Annotation: RFC 3161 timestamp. */
export const ANNOTATION_RFC3161 = "dev.sigstore.cosign/rfc3161timestamp";
/** `critical.type` of a simple-signing payload. */
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";

/**
 * The legacy signature tag of a manifest digest: `sha256-<hex>.sig`.
 *
 * @example
 * ```ts
 * import { signatureTag } from "./cosign.ts";
 * signatureTag("sha256:" + "ab".repeat(32)); // "sha256-abab….sig"
 * ```
 */
export function signatureTag(manifestDigest: Digest): string {
  return `sha256-${digestHex(manifestDigest)}.sig`;
}
