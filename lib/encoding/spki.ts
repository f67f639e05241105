/**
 * The one SubjectPublicKeyInfo parser (RFC 5280 §4.1.2.7) for signer and verifier: strict DER
 * (through `lib/encoding/der.ts`), exactly `SEQUENCE { AlgorithmIdentifier, BIT STRING }`, and the key
 * material validated for its algorithm (P-256/P-384 points on the curve, Ed25519 a valid
 * point, RSA a PKCS#1 `SEQUENCE { n, e }` of at least 2048 bits with an odd `e ≥ 3`).
 *
 * @module
 */
import { p256, p384 } from "@noble/curves/nist.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { decodeDer, type DerNode, readBitString, readOid, TAG } from "./der.ts";

/** Key algorithms supported. */
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

/** Algorithm and curve OIDs of the keys supported. */
export const KEY_OIDS = {
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  ed25519: "1.3.101.112",
  rsa: "1.2.840.113549.1.1.1",
} as const;

/** Why an SPKI was refused: the structure, the algorithm, or the key material. */
export type SpkiProblem = "structure" | "unsupported" | "key";

/** A `TypeError` from {@link parseSpki}, with what went wrong. */
export class SpkiError extends TypeError {
  /** What went wrong. */
  readonly problem: SpkiProblem;
  /** Creates the error. */
  constructor(problem: SpkiProblem, message: string) {
    super(message);
    this.name = "SpkiError";
    this.problem = problem;
  }
}

function bigintOf(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/**
 * Reads a PKCS#1 RSAPublicKey node: `SEQUENCE { n INTEGER, e INTEGER }`, n of at least 2048
 * bits, e odd and at least 3. Throws {@link SpkiError} (`key`).
 *
 * @example
 * ```ts
 * import { rsaPublicKeyOf } from "./spki.ts";
 * import { decodeDer } from "./der.ts";
 * // rsaPublicKeyOf(decodeDer(pkcs1Der)).bytes === 256 for a 2048-bit key
 * ```
 */
export function rsaPublicKeyOf(seq: DerNode): { n: bigint; e: bigint; bytes: number } {
  const [nNode, eNode] = seq.children;
  if (seq.tag !== TAG.SEQUENCE || !nNode || !eNode || seq.children.length !== 2) {
    throw new SpkiError("key", "RSA public key: expected SEQUENCE { n, e }");
  }
  if (nNode.tag !== TAG.INTEGER || eNode.tag !== TAG.INTEGER) {
    throw new SpkiError("key", "RSA public key: expected INTEGERs");
  }
  const n = bigintOf(nNode.value);
  const e = bigintOf(eNode.value);
  if (n <= 0n || e < 3n || e % 2n === 0n) throw new SpkiError("key", "RSA public key: bad n or e");
  const bits = n.toString(2).length;
  if (bits < 2048) {
    throw new SpkiError("key", `RSA public key: ${bits}-bit modulus is too small`);
  }
  return { n, e, bytes: Math.ceil(bits / 8) };
}

/**
 * Parses a SubjectPublicKeyInfo (DER, or an already decoded node). Throws {@link SpkiError}
 * (a `TypeError`) for malformed or unsupported keys.
 *
 * @example
 * ```ts
 * import { parseSpki } from "./spki.ts";
 * import { p256 } from "@noble/curves/nist.js";
 * import { concatBytes, fromHex } from "./bytes.ts";
 * const pub = p256.getPublicKey(p256.utils.randomSecretKey(), false);
 * const spki = concatBytes(fromHex("3059301306072a8648ce3d020106082a8648ce3d030107034200"), pub);
 * parseSpki(spki).algorithm; // "ecdsa-p256"
 * ```
 */
export function parseSpki(spki: Uint8Array | DerNode): PublicKey {
  let root: DerNode;
  let oid: string;
  let param: string | undefined;
  let key: Uint8Array;
  try {
    root = spki instanceof Uint8Array ? decodeDer(spki) : spki;
    const [alg, bits] = root.children;
    if (
      root.tag !== TAG.SEQUENCE || root.children.length !== 2 || alg.tag !== TAG.SEQUENCE ||
      alg.children.length < 1 || alg.children.length > 2
    ) {
      throw new TypeError("bad structure");
    }
    oid = readOid(alg.children[0]);
    if (alg.children[1]?.tag === TAG.OID) param = readOid(alg.children[1]);
    key = readBitString(bits);
  } catch {
    throw new SpkiError(
      "structure",
      "SubjectPublicKeyInfo: expected DER SEQUENCE { AlgorithmIdentifier, BIT STRING }",
    );
  }
  const der = spki instanceof Uint8Array ? spki : root.raw;
  if (oid === KEY_OIDS.ecPublicKey) {
    const curve = param === KEY_OIDS.p256 ? p256 : param === KEY_OIDS.p384 ? p384 : undefined;
    if (!curve) {
      throw new SpkiError(
        "unsupported",
        `SubjectPublicKeyInfo: unsupported EC curve ${param ?? "(none)"}`,
      );
    }
    try {
      curve.Point.fromBytes(key).assertValidity();
    } catch {
      throw new SpkiError("key", "SubjectPublicKeyInfo: EC point is not on the curve");
    }
    return { algorithm: curve === p256 ? "ecdsa-p256" : "ecdsa-p384", spki: der, point: key };
  }
  if (oid === KEY_OIDS.ed25519) {
    if (key.length !== 32) {
      throw new SpkiError("key", "SubjectPublicKeyInfo: Ed25519 key is not 32 bytes");
    }
    try {
      ed25519.Point.fromBytes(key);
    } catch {
      throw new SpkiError("key", "SubjectPublicKeyInfo: Ed25519 key is not a valid point");
    }
    return { algorithm: "ed25519", spki: der, point: key };
  }
  if (oid === KEY_OIDS.rsa) {
    let seq: DerNode;
    try {
      seq = decodeDer(key);
    } catch {
      throw new SpkiError("key", "RSA public key: not DER");
    }
    return { algorithm: "rsa", spki: der, point: new Uint8Array(), rsa: rsaPublicKeyOf(seq) };
  }
  throw new SpkiError("unsupported", `SubjectPublicKeyInfo: unsupported key algorithm ${oid}`);
}
