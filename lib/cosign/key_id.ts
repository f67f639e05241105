/**
 * The one key id: every name a public key goes by (the bundle's `publicKey.hint`, the
 * verifier's key id, the signer identity `key:…` in the GitOps header) derives from the
 * SHA-256 of its SubjectPublicKeyInfo DER here, so signer and verifier always agree.
 *
 * @module
 */
import { toHex } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";

/**
 * The public-key hint a bundle carries for key/KMS signatures: hex SHA-256 of the SPKI DER.
 *
 * @example
 * ```ts
 * import { publicKeyHint } from "./key_id.ts";
 * publicKeyHint(new Uint8Array([1])).length; // 64
 * ```
 */
export function publicKeyHint(spkiDer: Uint8Array): string {
  return toHex(sha256Bytes(spkiDer));
}

/**
 * The key id: the first 16 hex digits of SHA-256 of the SPKI DER.
 *
 * @example
 * ```ts
 * import { keyId } from "./key_id.ts";
 * keyId(new Uint8Array([1])); // "4bf5122f344554c5"
 * ```
 */
export function keyId(spkiDer: Uint8Array): string {
  return publicKeyHint(spkiDer).slice(0, 16);
}

/**
 * The signer identity of a public key, as the GitOps header and verdicts write it: `key:` +
 * {@link keyId}.
 *
 * @example
 * ```ts
 * import { keyIdentity } from "./key_id.ts";
 * keyIdentity(new Uint8Array([1])); // "key:4bf5122f344554c5"
 * ```
 */
export function keyIdentity(spkiDer: Uint8Array): string {
  return `key:${keyId(spkiDer)}`;
}
