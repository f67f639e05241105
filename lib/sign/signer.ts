/**
 * The one small interface every signer implements (keyless/Fulcio, key file, Azure Key
 * Vault), in the style of sigstore-js: a signer returns signature bytes plus the key
 * material a verifier needs — a certificate chain or a public key.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { pemEncode } from "../encoding/pem.ts";

/** Key material that verifies a {@link Signature}. */
export type SignatureKey =
  | {
    /** A Fulcio certificate chain. */
    kind: "certificate";
    /** PEM certificates, leaf first. */
    chainPem: string[];
  }
  | {
    /** A bare public key (key file, KMS). */
    kind: "publicKey";
    /** SubjectPublicKeyInfo DER. */
    spkiDer: Uint8Array;
  };

/** What a {@link Signer} returns. */
export interface Signature {
  /** ASN.1 DER ECDSA P-256 signature over SHA-256 of the data. */
  signature: Uint8Array;
  /** Key material that verifies it. */
  key: SignatureKey;
}

/**
 * Who a signer will sign as, known before it signs (no Fulcio call): a public key (key file,
 * KMS key version) or the certificate identity a keyless signature will carry.
 */
export type ExpectedSigner =
  | {
    /** A key file or KMS key. */
    kind: "key";
    /** SubjectPublicKeyInfo DER of the key that will sign. */
    spkiDer: Uint8Array;
  }
  | {
    /** Keyless (Fulcio). */
    kind: "keyless";
    /** The SAN Fulcio will certify, predicted from the identity token's claims. */
    san: string;
    /** The OIDC issuer (the token's `iss`). */
    issuer: string;
  };

/** Signs bytes. */
export interface Signer {
  /** Signs `data` (ECDSA P-256 over SHA-256 of `data`). */
  sign(data: Uint8Array): Promise<Signature>;
  /**
   * Optional: starts what the first {@link Signer.sign} needs from the network (keyless: the
   * Fulcio certificate) without waiting for it, so that it can overlap other requests. The
   * promise settles when that work has, and never rejects: a failure is reported by the next
   * `sign`.
   */
  prepare?(): Promise<void>;
  /**
   * The GitOps header `signer=` value: `keyless:<certificate SAN>`, `key:<16 hex of
   * SHA-256 of the SPKI DER>` or `kms:<uri>`; never contains spaces. For keyless signers
   * it is known only after the first {@link Signer.sign}; reading it earlier throws
   * `KarsError("INTERNAL")`.
   */
  readonly identity: string;
  /**
   * Who this signer will sign as, before it signs (idempotent signing compares it with the
   * signatures already attached). `undefined` when it cannot be known in advance.
   */
  expectedSigner?(): Promise<ExpectedSigner | undefined>;
  /**
   * True when signatures carry a short-lived certificate (keyless): such a signature is
   * worthless without a transparency-log entry, so signing refuses to skip the log.
   */
  readonly certificateBound?: boolean;
}

/**
 * The PEM that Rekor and the cosign annotations name as the verification key: the leaf
 * certificate, or the `PUBLIC KEY`.
 *
 * @example
 * ```ts
 * import { verifierPem } from "./signer.ts";
 * verifierPem({ kind: "publicKey", spkiDer: new Uint8Array([1]) });
 * // "-----BEGIN PUBLIC KEY-----\nAQ==\n-----END PUBLIC KEY-----\n"
 * ```
 */
export function verifierPem(key: SignatureKey): string {
  if (key.kind === "certificate") {
    if (key.chainPem.length === 0) {
      throw new KarsError("SIGN", "signer returned an empty certificate chain");
    }
    return key.chainPem[0];
  }
  return pemEncode("PUBLIC KEY", key.spkiDer);
}

/**
 * Replaces whitespace in an identity so the GitOps header stays one token per field.
 *
 * @example
 * ```ts
 * import { normalizeIdentity } from "./signer.ts";
 * normalizeIdentity("keyless:a b"); // "keyless:a%20b"
 * ```
 */
export function normalizeIdentity(id: string): string {
  return id.replace(/\s/g, (c) => encodeURIComponent(c));
}
