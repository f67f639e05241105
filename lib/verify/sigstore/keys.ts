/**
 * Public keys and signature checks for Sigstore verification, on noble (ECDSA P-256/P-384,
 * Ed25519) and a small BigInt RSA (PKCS#1 v1.5). Pure, synchronous, runtime-neutral.
 *
 * RSA is verified with BigInt modular exponentiation and an exact comparison against the
 * EMSA-PKCS1-v1_5 encoding of the digest (no parsing of the decrypted block), so it also
 * works when only the digest of the message is known. RSA-PSS is not supported (fails closed).
 *
 * @module
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { decodeDer, type DerNode, derTLV, readBitString, readOid, TAG } from "../../der.ts";
import { bytesEqual, concatBytes, fromHex } from "../../bytes.ts";

/** Hash functions used by Sigstore signatures. */
export type HashName = "sha256" | "sha384" | "sha512";

/** Key algorithms the verifier supports. */
export type KeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa";

/** A parsed public key. */
export interface PublicKey {
  /** The algorithm family and curve. */
  algorithm: KeyAlgorithm;
  /** The SubjectPublicKeyInfo DER encoding. */
  spki: Uint8Array;
  /** EC point (SEC1) or Ed25519 key bytes; empty for RSA. */
  point: Uint8Array;
  /** RSA modulus and exponent. */
  rsa?: { n: bigint; e: bigint; bytes: number };
}

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  ed25519: "1.3.101.112",
  rsa: "1.2.840.113549.1.1.1",
} as const;

/**
 * Hashes `data` with the named function.
 *
 * @example
 * ```ts
 * import { hash } from "./keys.ts";
 * hash("sha256", new Uint8Array()).length; // 32
 * ```
 */
export function hash(name: HashName, data: Uint8Array): Uint8Array {
  switch (name) {
    case "sha256":
      return sha256(data);
    case "sha384":
      return sha384(data);
    case "sha512":
      return sha512(data);
  }
}

/**
 * Hash algorithm OIDs (NIST) to names.
 *
 * @example
 * ```ts
 * import { HASH_OIDS } from "./keys.ts";
 * HASH_OIDS["2.16.840.1.101.3.4.2.1"]; // "sha256"
 * ```
 */
export const HASH_OIDS: Record<string, HashName> = {
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

function bigintOf(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function rsaKey(seq: DerNode): { n: bigint; e: bigint; bytes: number } {
  const [nNode, eNode] = seq.children;
  if (seq.tag !== TAG.SEQUENCE || !nNode || !eNode || seq.children.length !== 2) {
    throw new TypeError("RSA public key: expected SEQUENCE { n, e }");
  }
  if (nNode.tag !== TAG.INTEGER || eNode.tag !== TAG.INTEGER) {
    throw new TypeError("RSA public key: expected INTEGERs");
  }
  const n = bigintOf(nNode.value);
  const e = bigintOf(eNode.value);
  if (n <= 0n || e < 3n || e % 2n === 0n) throw new TypeError("RSA public key: bad n or e");
  const bits = n.toString(2).length;
  if (bits < 2048) throw new TypeError(`RSA public key: ${bits}-bit modulus is too small`);
  return { n, e, bytes: Math.ceil(bits / 8) };
}

/**
 * Parses a SubjectPublicKeyInfo (DER). Throws `TypeError` for malformed or unsupported keys.
 *
 * @example
 * ```ts
 * import { parseSpki } from "./keys.ts";
 * import { p256 } from "@noble/curves/nist.js";
 * import { concatBytes, fromHex } from "../../bytes.ts";
 * const pub = p256.getPublicKey(p256.utils.randomSecretKey(), false);
 * const spki = concatBytes(fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200"), pub);
 * parseSpki(spki).algorithm; // "ecdsa-p256"
 * ```
 */
export function parseSpki(spki: Uint8Array): PublicKey {
  const root = decodeDer(spki);
  const [alg, bits] = root.children;
  if (root.tag !== TAG.SEQUENCE || !alg || !bits || alg.tag !== TAG.SEQUENCE) {
    throw new TypeError(
      "SubjectPublicKeyInfo: expected SEQUENCE { AlgorithmIdentifier, BIT STRING }",
    );
  }
  const oid = readOid(alg.children[0]);
  const key = readBitString(bits);
  if (oid === OID.ecPublicKey) {
    const curve = alg.children[1] ? readOid(alg.children[1]) : "";
    if (curve === OID.p256) {
      p256.Point.fromBytes(key).assertValidity();
      return { algorithm: "ecdsa-p256", spki, point: key };
    }
    if (curve === OID.p384) {
      p384.Point.fromBytes(key).assertValidity();
      return { algorithm: "ecdsa-p384", spki, point: key };
    }
    throw new TypeError(`SubjectPublicKeyInfo: unsupported EC curve ${curve}`);
  }
  if (oid === OID.ed25519) {
    if (key.length !== 32) throw new TypeError("SubjectPublicKeyInfo: Ed25519 key is not 32 bytes");
    return { algorithm: "ed25519", spki, point: key };
  }
  if (oid === OID.rsa) {
    return { algorithm: "rsa", spki, point: new Uint8Array(), rsa: rsaKey(decodeDer(key)) };
  }
  throw new TypeError(`SubjectPublicKeyInfo: unsupported key algorithm ${oid}`);
}

/**
 * Parses a PKCS#1 RSAPublicKey (DER), as the trusted root stores some CT log keys.
 *
 * @example
 * ```ts
 * import { parsePkcs1RsaPublicKey } from "./keys.ts";
 * // const key = parsePkcs1RsaPublicKey(rawBytes); key.algorithm === "rsa"
 * ```
 */
export function parsePkcs1RsaPublicKey(der: Uint8Array): PublicKey {
  const rsa = rsaKey(decodeDer(der));
  // rsaEncryption AlgorithmIdentifier with NULL parameters, then BIT STRING of the key.
  const algId = new Uint8Array([
    0x30,
    0x0d,
    0x06,
    0x09,
    0x2a,
    0x86,
    0x48,
    0x86,
    0xf7,
    0x0d,
    0x01,
    0x01,
    0x01,
    0x05,
    0x00,
  ]);
  const bitString = derTLV(0x03, concatBytes(new Uint8Array([0]), der));
  return {
    algorithm: "rsa",
    spki: derTLV(0x30, concatBytes(algId, bitString)),
    point: new Uint8Array(),
    rsa,
  };
}

/**
 * The hash a key's algorithm implies for Sigstore message signatures (none for Ed25519).
 *
 * @example
 * ```ts
 * import { defaultHash, parseSpki } from "./keys.ts";
 * // defaultHash(parseSpki(p384Spki)) === "sha384"
 * ```
 */
export function defaultHash(key: PublicKey): HashName | undefined {
  switch (key.algorithm) {
    case "ecdsa-p256":
    case "rsa":
      return "sha256";
    case "ecdsa-p384":
      return "sha384";
    case "ed25519":
      return undefined;
  }
}

// DigestInfo prefixes (RFC 8017 §9.2 note 1).
const DIGEST_INFO: Record<HashName, string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function rsaVerifyDigest(
  key: { n: bigint; e: bigint; bytes: number },
  hashName: HashName,
  digest: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (sig.length !== key.bytes) return false;
  const s = bigintOf(sig);
  if (s >= key.n) return false;
  const m = modPow(s, key.e, key.n);
  const em = new Uint8Array(key.bytes);
  let v = m;
  for (let i = key.bytes - 1; i >= 0; i--) {
    em[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const t = concatBytes(fromHex(DIGEST_INFO[hashName]), digest);
  const psLen = key.bytes - t.length - 3;
  if (psLen < 8) return false;
  const expected = concatBytes(
    new Uint8Array([0x00, 0x01]),
    new Uint8Array(psLen).fill(0xff),
    new Uint8Array([0x00]),
    t,
  );
  return bytesEqual(em, expected);
}

type EcdsaCurve = typeof p256 | typeof p384;
type CurvePoint = ReturnType<EcdsaCurve["Point"]["fromBytes"]>;

/**
 * Keys verified more than once (a trust root's Fulcio CA, CT log and Rekor keys: one
 * verification each per keyless verdict) get their point decoded once, with a wNAF precompute
 * table, so `u2⋅Q` becomes additions only. Keyed by the parsed key object, so the cache lives
 * as long as the trust root that holds it; a one-shot key (a leaf certificate's) never pays for
 * a table.
 */
const ecdsaKeys = new WeakMap<PublicKey, { uses: number; point?: CurvePoint }>();
/** Window of the per-key table: 2^(W-1) points per window, ~33 windows for P-256. */
const KEY_TABLE_WINDOW = 10;

/**
 * ECDSA verification (SEC 1 §4.1.4, no low-S rule, DER signature) over a message digest.
 * The first use of a key runs noble's `verify`; later uses of the same `PublicKey` object
 * compute `R = u1⋅G + u2⋅Q` with the precomputed base and key tables: the same equation, the
 * same range checks on r and s (noble's `Signature`), the same truncation of the digest.
 */
function ecdsaVerify(curve: EcdsaCurve, key: PublicKey, digest: Uint8Array, sig: Uint8Array) {
  let entry = ecdsaKeys.get(key);
  if (!entry) ecdsaKeys.set(key, entry = { uses: 0 });
  entry.uses++;
  if (entry.uses < 2) {
    return curve.verify(sig, digest, key.point, { prehash: false, lowS: false, format: "der" });
  }
  const { Point } = curve;
  const Fn = Point.Fn;
  if (!entry.point) {
    const q = Point.fromBytes(key.point);
    if (q.is0()) return false;
    entry.point = q.precompute(KEY_TABLE_WINDOW, false) as CurvePoint;
  }
  if (sig.length > 2 * Fn.BYTES + 16 || digest.length > 8192) return false;
  let r: bigint, s: bigint;
  try {
    ({ r, s } = curve.Signature.fromBytes(sig, "der")); // r, s in [1, n-1]
  } catch {
    return false;
  }
  let h = 0n;
  for (const b of digest) h = (h << 8n) | BigInt(b);
  const excess = digest.length * 8 - Fn.BITS;
  if (excess > 0) h >>= BigInt(excess);
  h = Fn.create(h);
  const is = Fn.inv(s);
  const u1 = Fn.create(h * is);
  const u2 = Fn.create(r * is);
  const R = Point.BASE.multiplyUnsafe(u1).add(entry.point.multiplyUnsafe(u2));
  if (R.is0()) return false;
  return Fn.create(R.toAffine().x) === r;
}

/**
 * Verifies a signature over a message digest (ECDSA DER signatures, RSA PKCS#1 v1.5).
 * Ed25519 signs whole messages, so it returns false here. Never throws on bad input.
 *
 * @example
 * ```ts
 * import { verifyDigest, parseSpki } from "./keys.ts";
 * // verifyDigest(parseSpki(spki), "sha256", sha256(data), derSignature) === true
 * ```
 */
export function verifyDigest(
  key: PublicKey,
  hashName: HashName,
  digest: Uint8Array,
  sig: Uint8Array,
): boolean {
  try {
    switch (key.algorithm) {
      case "ecdsa-p256":
        return ecdsaVerify(p256, key, digest, sig);
      case "ecdsa-p384":
        return ecdsaVerify(p384, key, digest, sig);
      case "rsa":
        return rsaVerifyDigest(key.rsa!, hashName, digest, sig);
      case "ed25519":
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * Verifies a signature over `message`, hashing it with `hashName` (ignored for Ed25519,
 * which signs the message itself). Never throws on bad input.
 *
 * @example
 * ```ts
 * import { verifyMessage, parseSpki } from "./keys.ts";
 * // verifyMessage(parseSpki(spki), "sha256", data, signature) === true
 * ```
 */
export function verifyMessage(
  key: PublicKey,
  hashName: HashName | undefined,
  message: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (key.algorithm === "ed25519") {
    try {
      return ed25519.verify(sig, message, key.point);
    } catch {
      return false;
    }
  }
  const h = hashName ?? defaultHash(key)!;
  return verifyDigest(key, h, hash(h, message), sig);
}

/** The key id (first 16 hex digits of SHA-256 of the SPKI DER); the one definition is `keyId` in `lib/cosign/key_id.ts`. */
export { keyId as keyIdOf } from "../../cosign/key_id.ts";
