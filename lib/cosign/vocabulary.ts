/**
 * cosign's wire vocabulary, shared by signing and verification: the `.sig` tag, the
 * simple-signing media type and payload type, the layer annotations, the in-toto statement
 * and DSSE payload types, and the signature formats.
 *
 * @module
 */
import { type Digest, digestHex } from "../encoding/digest.ts";

/** Where signatures are stored: cosign's legacy `.sig` tag, a Sigstore bundle referrer, or both. */
export type SignatureFormat = "legacy" | "bundle" | "both";

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
/** DSSE payload type of in-toto statements. */
export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** `_type` of an in-toto Statement v1. */
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
/** cosign's predicate type for image signatures. */
export const COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

/**
 * The legacy signature tag of a manifest digest: `sha256-<hex>.sig`.
 *
 * @example
 * ```ts
 * import { signatureTag } from "./vocabulary.ts";
 * signatureTag(`sha256:${"ab".repeat(32)}` as const); // "sha256-abab….sig"
 * ```
 */
export function signatureTag(manifestDigest: Digest): string {
  return `sha256-${digestHex(manifestDigest)}.sig`;
}
