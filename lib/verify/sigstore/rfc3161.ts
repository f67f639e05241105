/**
 * RFC 3161 timestamps: parse a TimeStampToken (CMS SignedData over a TSTInfo), check the
 * message imprint, and verify the signature with a timestamp authority from the trusted
 * root whose chain and validity hold at the timestamp's time. Certificates embedded in the
 * token are ignored: trust comes only from the trusted root.
 *
 * @module
 */
import { decodeDer, type DerNode, readOid, TAG } from "../../encoding/der.ts";
import { bytesEqual, concatBytes } from "../../encoding/bytes.ts";
import { verifyError } from "./fail.ts";
import { hash, HASH_OIDS, type HashName, parseSpki } from "./keys.ts";
import { KEY_OIDS } from "../../encoding/spki.ts";
import { type CertificateAuthority, inRange, type TrustedRoot } from "./trust_root.ts";
import {
  extKeyUsages,
  isIssuedBy,
  readTime,
  validAt,
  verifyWithAlgorithm,
  X509_OID,
} from "./x509.ts";

const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_TST_INFO = "1.2.840.113549.1.9.16.1.4";
const OID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: string = KEY_OIDS.ecPublicKey;

/** A parsed RFC 3161 timestamp token. */
export interface Timestamp {
  /** genTime of the TSTInfo. */
  time: Date;
  /** Hash algorithm of the message imprint. */
  imprintHash: HashName;
  /** The hashed message. */
  imprint: Uint8Array;
  /** DER of the TSTInfo (the eContent). */
  tstInfo: Uint8Array;
  /** Digest algorithm of the signer. */
  signerDigest: HashName;
  /** DER of the signed attributes, re-tagged as SET (what was signed), when present. */
  signedAttrs?: Uint8Array;
  /** The messageDigest signed attribute. */
  messageDigest?: Uint8Array;
  /** Signature algorithm OID of the signer. */
  signatureAlgorithm: string;
  /** The signature. */
  signature: Uint8Array;
}

function tsFail(message: string, cause?: unknown): never {
  throw verifyError("TimestampInvalid", `RFC 3161 timestamp: ${message}`, cause);
}

function hashOf(alg: DerNode | undefined): HashName {
  const oid = alg?.children[0] ? readOid(alg.children[0]) : "";
  const h = HASH_OIDS[oid];
  if (!h) throw new TypeError(`unsupported hash algorithm ${oid}`);
  return h;
}

/**
 * Parses a TimeStampToken (or a TimeStampResp holding one). Throws `TypeError` when malformed.
 *
 * @example
 * ```ts
 * import { parseTimestamp } from "./rfc3161.ts";
 * // parseTimestamp(signedTimestamp).time
 * ```
 */
export function parseTimestamp(der: Uint8Array): Timestamp {
  let top = decodeDer(der);
  // TimeStampResp: SEQUENCE { PKIStatusInfo SEQUENCE, timeStampToken ContentInfo }
  if (top.children[0]?.tag === TAG.SEQUENCE) {
    const status = top.children[0].children[0];
    if (
      !status || status.tag !== TAG.INTEGER || !(status.value.length === 1 && status.value[0] <= 1)
    ) {
      throw new TypeError("TimeStampResp status is not granted");
    }
    top = top.children[1];
    if (!top) throw new TypeError("TimeStampResp has no token");
  }
  if (readOid(top.children[0]) !== OID_SIGNED_DATA) throw new TypeError("not a CMS SignedData");
  const sd = top.children[1]?.children[0];
  if (!sd || sd.tag !== TAG.SEQUENCE) throw new TypeError("SignedData missing");
  const [, , encap, ...rest] = sd.children;
  if (readOid(encap.children[0]) !== OID_TST_INFO) {
    throw new TypeError("eContentType is not TSTInfo");
  }
  const eContent = encap.children[1]?.children[0];
  if (!eContent || eContent.tag !== TAG.OCTET_STRING) throw new TypeError("eContent missing");
  const signerInfos = rest[rest.length - 1];
  if (!signerInfos || signerInfos.tag !== TAG.SET || signerInfos.children.length !== 1) {
    throw new TypeError("expected exactly one SignerInfo");
  }
  const si = signerInfos.children[0].children;
  // SignerInfo: version, sid, digestAlgorithm, [0] signedAttrs?, signatureAlgorithm, signature
  let i = 2;
  const signerDigest = hashOf(si[i++]);
  let signedAttrs: Uint8Array | undefined;
  let messageDigest: Uint8Array | undefined;
  let contentTypeOk = true;
  if (si[i]?.tag === 0xa0) {
    const attrs = si[i++];
    signedAttrs = concatBytes(new Uint8Array([TAG.SET]), attrs.raw.subarray(1));
    contentTypeOk = false;
    for (const a of attrs.children) {
      const oid = readOid(a.children[0]);
      const v = a.children[1]?.children[0];
      if (oid === OID_MESSAGE_DIGEST && v?.tag === TAG.OCTET_STRING) messageDigest = v.value;
      if (oid === OID_CONTENT_TYPE && v && readOid(v) === OID_TST_INFO) contentTypeOk = true;
    }
  }
  if (!contentTypeOk) throw new TypeError("signed contentType attribute is not TSTInfo");
  const sigAlg = si[i++];
  const sig = si[i++];
  if (!sigAlg || !sig || sig.tag !== TAG.OCTET_STRING) throw new TypeError("SignerInfo truncated");

  const tst = decodeDer(eContent.value);
  const [, , imprintNode, , genTime] = tst.children;
  if (!imprintNode || !genTime) throw new TypeError("TSTInfo truncated");
  const imprint = imprintNode.children[1];
  if (!imprint || imprint.tag !== TAG.OCTET_STRING) throw new TypeError("messageImprint malformed");
  return {
    time: readTime(genTime),
    imprintHash: hashOf(imprintNode.children[0]),
    imprint: imprint.value,
    tstInfo: eContent.value,
    signerDigest,
    signedAttrs,
    messageDigest,
    signatureAlgorithm: readOid(sigAlg.children[0]),
    signature: sig.value,
  };
}

/** Maps CMS signature algorithms that name only the key type to full algorithm OIDs. */
function signatureOid(alg: string, digest: HashName): string {
  const byHash = { sha256: 0, sha384: 1, sha512: 2 }[digest];
  if (alg === OID_RSA_ENCRYPTION) {
    return ["1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13"][byHash];
  }
  if (alg === OID_EC_PUBLIC_KEY) {
    return ["1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4"][byHash];
  }
  return alg;
}

function chainValid(ca: CertificateAuthority, t: Date): boolean {
  const chain = ca.certChain;
  for (let i = 0; i < chain.length; i++) {
    if (!validAt(chain[i], t)) return false;
    const issuer = chain[i + 1] ?? chain[i];
    if (!isIssuedBy(chain[i], issuer)) return false;
  }
  return true;
}

function signedBy(ts: Timestamp, ca: CertificateAuthority): boolean {
  const leaf = ca.certChain[0];
  let key;
  try {
    key = parseSpki(leaf.spki);
  } catch {
    return false;
  }
  const alg = signatureOid(ts.signatureAlgorithm, ts.signerDigest);
  if (ts.signedAttrs) {
    if (!ts.messageDigest || !bytesEqual(ts.messageDigest, hash(ts.signerDigest, ts.tstInfo))) {
      return false;
    }
    return verifyWithAlgorithm(key, alg, ts.signedAttrs, ts.signature);
  }
  return verifyWithAlgorithm(key, alg, ts.tstInfo, ts.signature);
}

/**
 * Verifies a timestamp over `signature` against the trusted root's timestamp authorities and
 * returns its time. Throws reason `TimestampInvalid`.
 *
 * @example
 * ```ts
 * import { verifyTimestamp } from "./rfc3161.ts";
 * // const t = verifyTimestamp(signedTimestamp, bundleSignature, trustedRoot);
 * ```
 */
export function verifyTimestamp(der: Uint8Array, signature: Uint8Array, root: TrustedRoot): Date {
  let ts: Timestamp;
  try {
    ts = parseTimestamp(der);
  } catch (e) {
    tsFail(`malformed: ${(e as Error).message}`, e);
  }
  if (!bytesEqual(ts.imprint, hash(ts.imprintHash, signature))) {
    tsFail("message imprint is not the hash of the bundle's signature");
  }
  for (const ca of root.timestampAuthorities) {
    if (!inRange(ca.validFor, ts.time)) continue;
    if (!signedBy(ts, ca)) continue;
    const leaf = ca.certChain[0];
    if (!extKeyUsages(leaf).includes(X509_OID.ekuTimeStamping)) continue;
    if (!chainValid(ca, ts.time)) continue;
    return ts.time;
  }
  tsFail(`no trusted timestamp authority signed it validly at ${ts.time.toISOString()}`);
}
