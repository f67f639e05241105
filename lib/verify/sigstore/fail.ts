/**
 * The failure type of the Sigstore verifier: a `KarsError` with code `VERIFY` and a
 * machine-readable `details.reason`.
 *
 * Reasons:
 * - `SignatureVerifyFailed`: the signature does not verify, or the artifact is not what was signed.
 * - `IdentityMismatch`: the certificate's SAN or OIDC issuer differs from the expected identity.
 * - `CanonicalFormViolation`: the bundle is malformed (bad JSON, unknown version, missing field).
 * - `CertificateInvalid`: the certificate does not chain to a trusted Fulcio CA at signing
 *   time, is outside its validity, or has no valid SCT.
 * - `TlogInvalid`: a transparency log entry, SET, inclusion proof or checkpoint is invalid,
 *   or does not match the bundle.
 * - `TimestampInvalid`: an RFC 3161 timestamp is invalid or untrusted, or there is no
 *   verified timestamp where one is required.
 * - `TrustRootInvalid`: the trusted root is malformed (thrown with code `INPUT`).
 * - `Unsupported`: the bundle needs a feature this verifier does not implement (fails closed).
 *
 * @module
 */
import { KarsError } from "../../errors.ts";

/** Why a Sigstore verification failed. */
export type VerifyReason =
  | "SignatureVerifyFailed"
  | "IdentityMismatch"
  | "CanonicalFormViolation"
  | "CertificateInvalid"
  | "TlogInvalid"
  | "TimestampInvalid"
  | "TrustRootInvalid"
  | "Unsupported";

/**
 * Builds the verifier's error: code `VERIFY` (code `INPUT` for `TrustRootInvalid`) with
 * `details.reason`.
 *
 * @example
 * ```ts
 * import { verifyError } from "./fail.ts";
 * throw verifyError("TlogInvalid", "bundle: inclusion proof does not match the checkpoint root");
 * ```
 */
export function verifyError(reason: VerifyReason, message: string, cause?: unknown): KarsError {
  return new KarsError(reason === "TrustRootInvalid" ? "INPUT" : "VERIFY", message, {
    cause,
    details: { reason },
  });
}
