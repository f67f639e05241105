/**
 * ECDSA P-256 key material in the encodings cosign and Sigstore use: SubjectPublicKeyInfo
 * (PEM `PUBLIC KEY`), PKCS#8 private keys, and ASN.1 DER signatures — over `@noble/curves`.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { bytesEqual } from "../encoding/bytes.ts";
import { KEY_OIDS, parseSpki } from "../encoding/spki.ts";
import {
  decodeDer,
  derBitString,
  derContext,
  derInt,
  type DerNode,
  derOctets,
  derOid,
  derSeq,
  readBitString,
  readInt,
  readOid,
  TAG,
} from "../encoding/der.ts";

/** OID of `id-ecPublicKey`. */
export const OID_EC_PUBLIC_KEY: string = KEY_OIDS.ecPublicKey;
/** OID of the P-256 curve (`prime256v1`). */
export const OID_P256: string = KEY_OIDS.p256;

/**
 * SubjectPublicKeyInfo DER of an uncompressed (65-byte) or compressed P-256 point.
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { spkiFromPoint } from "./p256.ts";
 * spkiFromPoint(p256.getPublicKey(p256.utils.randomSecretKey(), false)).length; // 91
 * ```
 */
export function spkiFromPoint(point: Uint8Array): Uint8Array {
  const full = p256.Point.fromBytes(point).toBytes(false);
  return derSeq(derSeq(derOid(OID_EC_PUBLIC_KEY), derOid(OID_P256)), derBitString(full));
}

/**
 * The uncompressed P-256 point of a SubjectPublicKeyInfo; throws `TypeError` when the key
 * is not an EC P-256 key.
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { pointFromSpki, spkiFromPoint } from "./p256.ts";
 * const pub = p256.getPublicKey(p256.utils.randomSecretKey(), false);
 * pointFromSpki(spkiFromPoint(pub)); // equals pub
 * ```
 */
export function pointFromSpki(spki: Uint8Array | DerNode): Uint8Array {
  let key;
  try {
    key = parseSpki(spki);
  } catch {
    throw new TypeError("not an ECDSA P-256 public key");
  }
  if (key.algorithm !== "ecdsa-p256") throw new TypeError("not an ECDSA P-256 public key");
  return key.point;
}

/**
 * PKCS#8 `PrivateKeyInfo` DER for a P-256 secret key (32 bytes), public key included,
 * as Go's `x509.MarshalPKCS8PrivateKey` writes it.
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { pkcs8FromSecret } from "./p256.ts";
 * pkcs8FromSecret(p256.utils.randomSecretKey()).length; // 138
 * ```
 */
export function pkcs8FromSecret(secret: Uint8Array): Uint8Array {
  const pub = p256.getPublicKey(secret, false);
  const ecPrivateKey = derSeq(derInt(1n), derOctets(secret), derContext(1, derBitString(pub)));
  return derSeq(
    derInt(0n),
    derSeq(derOid(OID_EC_PUBLIC_KEY), derOid(OID_P256)),
    derOctets(ecPrivateKey),
  );
}

/** Why a DER private key could not be used. */
export type PrivateKeyRefusal = "sec1" | "not-p256" | "malformed";

/**
 * The 32-byte P-256 secret of a PKCS#8 DER private key. Returns a refusal reason instead
 * when the DER is a SEC1 `EC PRIVATE KEY` (cosign refuses those), another algorithm or
 * curve, or malformed.
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { pkcs8FromSecret, secretFromPkcs8 } from "./p256.ts";
 * const sk = p256.utils.randomSecretKey();
 * secretFromPkcs8(pkcs8FromSecret(sk)); // equals sk
 * ```
 */
export function secretFromPkcs8(der: Uint8Array): Uint8Array | PrivateKeyRefusal {
  let n: DerNode;
  try {
    n = decodeDer(der);
  } catch {
    return "malformed";
  }
  try {
    // SEC1 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING, [0] params?, [1] pub? }
    if (n.children.length >= 2 && n.children[1].tag === TAG.OCTET_STRING) return "sec1";
    const [version, alg, key] = n.children;
    if (n.tag !== TAG.SEQUENCE || !version || readInt(version) > 1n || !alg || !key) {
      return "malformed";
    }
    if (readOid(alg.children[0]) !== OID_EC_PUBLIC_KEY) return "not-p256";
    if (alg.children[1]?.tag !== TAG.OID || readOid(alg.children[1]) !== OID_P256) {
      return "not-p256";
    }
    const ec = decodeDer(key.value);
    const secretNode = ec.children[1];
    if (secretNode?.tag !== TAG.OCTET_STRING || secretNode.value.length > 32) return "malformed";
    const secret = new Uint8Array(32);
    secret.set(secretNode.value, 32 - secretNode.value.length);
    if (!p256.utils.isValidSecretKey(secret)) return "malformed";
    // When the public key is embedded, it must match the secret.
    const pubNode = ec.children.find((c) => c.tag === 0xa1);
    if (pubNode) {
      const embedded = readBitString(decodeDer(pubNode.value));
      if (!bytesEqual(embedded, p256.getPublicKey(secret, false))) return "malformed";
    }
    return secret;
  } catch {
    return "malformed";
  }
}

/**
 * ECDSA P-256 signature over SHA-256 of `data`, ASN.1 DER, low-S, hedged nonce.
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { signDer } from "./p256.ts";
 * signDer(p256.utils.randomSecretKey(), new Uint8Array([1]))[0]; // 0x30
 * ```
 */
export function signDer(secret: Uint8Array, data: Uint8Array): Uint8Array {
  return p256.sign(data, secret, { prehash: true, format: "der", extraEntropy: true });
}

/**
 * Verifies an ASN.1 DER ECDSA P-256 signature over SHA-256 of `data` (high-S accepted, as
 * Go's `ecdsa.VerifyASN1` does).
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { signDer, verifyDer } from "./p256.ts";
 * const sk = p256.utils.randomSecretKey();
 * verifyDer(p256.getPublicKey(sk, false), new Uint8Array([1]), signDer(sk, new Uint8Array([1]))); // true
 * ```
 */
export function verifyDer(point: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    return p256.verify(sig, data, point, { prehash: true, format: "der", lowS: false });
  } catch {
    return false;
  }
}

/**
 * Re-encodes a raw `r‖s` (64-byte) signature as ASN.1 DER.
 *
 * @example
 * ```ts
 * import { rawToDer } from "./p256.ts";
 * rawToDer(new Uint8Array(64).fill(1))[0]; // 0x30
 * ```
 */
export function rawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) {
    throw new TypeError(`expected a 64-byte r||s signature, got ${raw.length}`);
  }
  return derSeq(derInt(raw.subarray(0, 32)), derInt(raw.subarray(32)));
}

export { keyIdentity } from "../cosign/key_id.ts";
