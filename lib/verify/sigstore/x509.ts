/**
 * A small X.509 certificate reader: the fields Sigstore verification needs (validity,
 * names, key, extensions, signature) and the checks on them. Built on `lib/encoding/der.ts`.
 *
 * @module
 */
import { decodeDer, type DerNode, readBitString, readOid, TAG } from "../../encoding/der.ts";
import { bytesEqual, fromUtf8 } from "../../encoding/bytes.ts";
import { type HashName, parseSpki, type PublicKey, verifyMessage } from "./keys.ts";

/** One certificate extension. */
export interface Extension {
  /** Dotted OID. */
  oid: string;
  /** Whether it is marked critical. */
  critical: boolean;
  /** The extnValue OCTET STRING content. */
  value: Uint8Array;
  /** The whole Extension element's encoding. */
  raw: Uint8Array;
}

/** A parsed X.509 certificate. */
export interface Certificate {
  /** The certificate's DER encoding. */
  raw: Uint8Array;
  /** The TBSCertificate's DER encoding (what the issuer signed). */
  tbs: Uint8Array;
  /** The TBSCertificate node. */
  tbsNode: DerNode;
  /** Serial number content octets. */
  serial: Uint8Array;
  /** Issuer Name, DER. */
  issuer: Uint8Array;
  /** Subject Name, DER. */
  subject: Uint8Array;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity (inclusive). */
  notAfter: Date;
  /** SubjectPublicKeyInfo, DER. */
  spki: Uint8Array;
  /** Signature algorithm OID of the issuer's signature. */
  signatureAlgorithm: string;
  /** The issuer's signature. */
  signature: Uint8Array;
  /** Extensions, in order. */
  extensions: Extension[];
}

/**
 * OIDs of extensions and EKUs the verifier reads.
 *
 * @example
 * ```ts
 * import { X509_OID } from "./x509.ts";
 * X509_OID.ekuCodeSigning; // "1.3.6.1.5.5.7.3.3"
 * ```
 */
export const X509_OID = {
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  sctList: "1.3.6.1.4.1.11129.2.4.2",
  fulcioIssuerV1: "1.3.6.1.4.1.57264.1.1",
  fulcioIssuerV2: "1.3.6.1.4.1.57264.1.8",
  fulcioOtherName: "1.3.6.1.4.1.57264.1.7",
  ekuCodeSigning: "1.3.6.1.5.5.7.3.3",
  ekuTimeStamping: "1.3.6.1.5.5.7.3.8",
} as const;

/**
 * Reads a UTCTime or GeneralizedTime node (UTC, `Z` only).
 *
 * @example
 * ```ts
 * import { readTime } from "./x509.ts";
 * import { decodeDer } from "../../encoding/der.ts";
 * readTime(decodeDer(new Uint8Array([0x17, 13, ...new TextEncoder().encode("230712155636Z")])));
 * ```
 */
export function readTime(node: DerNode): Date {
  const s = fromUtf8(node.value);
  let m: RegExpMatchArray | null;
  if (node.tag === TAG.UTC_TIME) {
    m = s.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!m) throw new TypeError(`X.509: bad UTCTime ${s}`);
    const yy = Number(m[1]);
    const year = yy >= 50 ? 1900 + yy : 2000 + yy;
    return new Date(Date.UTC(year, Number(m[2]) - 1, +m[3], +m[4], +m[5], +m[6]));
  }
  if (node.tag === TAG.GENERALIZED_TIME) {
    m = s.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/);
    if (!m) throw new TypeError(`X.509: bad GeneralizedTime ${s}`);
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms));
  }
  throw new TypeError("X.509: expected a time");
}

/**
 * Parses a DER certificate. Throws `TypeError` when it is malformed.
 *
 * @example
 * ```ts
 * import { parseCertificate } from "./x509.ts";
 * // const cert = parseCertificate(der); cert.notAfter
 * ```
 */
export function parseCertificate(der: Uint8Array): Certificate {
  const root = decodeDer(der);
  const [tbsNode, algNode, sigNode] = root.children;
  if (root.tag !== TAG.SEQUENCE || root.children.length !== 3 || tbsNode.tag !== TAG.SEQUENCE) {
    throw new TypeError(
      "X.509: expected SEQUENCE { tbsCertificate, signatureAlgorithm, signature }",
    );
  }
  const f = tbsNode.children;
  let i = 0;
  if (f[i]?.tag === 0xa0) i++; // version
  const serial = f[i++];
  i++; // signature algorithm inside TBS
  const issuer = f[i++];
  const validity = f[i++];
  const subject = f[i++];
  const spki = f[i++];
  if (!serial || serial.tag !== TAG.INTEGER || !issuer || !validity || !subject || !spki) {
    throw new TypeError("X.509: truncated TBSCertificate");
  }
  const extensions: Extension[] = [];
  for (; i < f.length; i++) {
    if (f[i].tag !== 0xa3) continue;
    const seq = f[i].children[0];
    if (!seq || seq.tag !== TAG.SEQUENCE) throw new TypeError("X.509: bad extensions");
    for (const ext of seq.children) {
      const oid = readOid(ext.children[0]);
      const critical = ext.children.length === 3 && ext.children[1].tag === TAG.BOOLEAN &&
        ext.children[1].value[0] !== 0;
      const val = ext.children[ext.children.length - 1];
      if (val.tag !== TAG.OCTET_STRING) {
        throw new TypeError(`X.509: extension ${oid} not OCTET STRING`);
      }
      extensions.push({ oid, critical, value: val.value, raw: ext.raw });
    }
  }
  return {
    raw: root.raw,
    tbs: tbsNode.raw,
    tbsNode,
    serial: serial.value,
    issuer: issuer.raw,
    subject: subject.raw,
    notBefore: readTime(validity.children[0]),
    notAfter: readTime(validity.children[1]),
    spki: spki.raw,
    signatureAlgorithm: readOid(algNode.children[0]),
    signature: readBitString(sigNode),
    extensions,
  };
}

/** Signature algorithm OIDs to the hash they use (`undefined` for Ed25519). */
const SIG_ALGS: Record<string, { hash?: HashName; family: "ecdsa" | "rsa" | "ed25519" }> = {
  "1.2.840.10045.4.3.2": { hash: "sha256", family: "ecdsa" },
  "1.2.840.10045.4.3.3": { hash: "sha384", family: "ecdsa" },
  "1.2.840.10045.4.3.4": { hash: "sha512", family: "ecdsa" },
  "1.2.840.113549.1.1.11": { hash: "sha256", family: "rsa" },
  "1.2.840.113549.1.1.12": { hash: "sha384", family: "rsa" },
  "1.2.840.113549.1.1.13": { hash: "sha512", family: "rsa" },
  "1.3.101.112": { family: "ed25519" },
};

/**
 * Verifies `data` signed with the named signature algorithm OID (X.509 / CMS style).
 * Returns false for unknown algorithms (RSA-PSS included) and key/algorithm mismatches.
 *
 * @example
 * ```ts
 * import { verifyWithAlgorithm } from "./x509.ts";
 * // verifyWithAlgorithm(issuerKey, "1.2.840.10045.4.3.3", cert.tbs, cert.signature)
 * ```
 */
export function verifyWithAlgorithm(
  key: PublicKey,
  algorithmOid: string,
  data: Uint8Array,
  sig: Uint8Array,
): boolean {
  const alg = SIG_ALGS[algorithmOid];
  if (!alg) return false;
  const family = key.algorithm.startsWith("ecdsa") ? "ecdsa" : key.algorithm;
  if (family !== alg.family) return false;
  return verifyMessage(key, alg.hash, data, sig);
}

/**
 * True when `issuer` signed `cert` (names chain and the signature verifies).
 *
 * @example
 * ```ts
 * import { isIssuedBy } from "./x509.ts";
 * // isIssuedBy(leaf, intermediate)
 * ```
 */
export function isIssuedBy(cert: Certificate, issuer: Certificate): boolean {
  if (!bytesEqual(cert.issuer, issuer.subject)) return false;
  let key: PublicKey;
  try {
    key = certificateKey(issuer);
  } catch {
    return false;
  }
  return verifyWithAlgorithm(key, cert.signatureAlgorithm, cert.tbs, cert.signature);
}

/** Parsed keys of certificates, so an issuer parsed once (a trust root's CA) keeps one key. */
const certificateKeys = new WeakMap<Certificate, PublicKey>();

/**
 * The certificate's public key, parsed once per `Certificate` object (throws like
 * `parseSpki`). Stable identity lets the key's verification state be reused across verdicts.
 *
 * @example
 * ```ts
 * import { certificateKey } from "./x509.ts";
 * // certificateKey(caCert).algorithm === "ecdsa-p384"
 * ```
 */
export function certificateKey(cert: Certificate): PublicKey {
  let key = certificateKeys.get(cert);
  if (!key) certificateKeys.set(cert, key = parseSpki(cert.spki));
  return key;
}

/**
 * The extension with this OID, if present.
 *
 * @example
 * ```ts
 * import { findExtension, X509_OID } from "./x509.ts";
 * // findExtension(cert, X509_OID.subjectAltName)?.critical
 * ```
 */
export function findExtension(cert: Certificate, oid: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === oid);
}

/**
 * True when `t` lies within the certificate's validity (both ends inclusive).
 *
 * @example
 * ```ts
 * import { validAt } from "./x509.ts";
 * // validAt(cert, new Date())
 * ```
 */
export function validAt(cert: Certificate, t: Date): boolean {
  return cert.notBefore.getTime() <= t.getTime() && t.getTime() <= cert.notAfter.getTime();
}

/**
 * basicConstraints cA flag (false when the extension is absent).
 *
 * @example
 * ```ts
 * import { isCA } from "./x509.ts";
 * // isCA(fulcioIntermediate) === true
 * ```
 */
export function isCA(cert: Certificate): boolean {
  const ext = findExtension(cert, X509_OID.basicConstraints);
  if (!ext) return false;
  const seq = decodeDer(ext.value);
  const first = seq.children[0];
  return first?.tag === TAG.BOOLEAN && first.value[0] !== 0;
}

/**
 * Extended key usage OIDs (empty when the extension is absent).
 *
 * @example
 * ```ts
 * import { extKeyUsages, X509_OID } from "./x509.ts";
 * // extKeyUsages(leaf).includes(X509_OID.ekuCodeSigning)
 * ```
 */
export function extKeyUsages(cert: Certificate): string[] {
  const ext = findExtension(cert, X509_OID.extKeyUsage);
  if (!ext) return [];
  return decodeDer(ext.value).children.map(readOid);
}

/**
 * Subject alternative names: URIs, e-mail addresses and Fulcio's otherName usernames, as
 * strings in certificate order.
 *
 * @example
 * ```ts
 * import { subjectAltNames } from "./x509.ts";
 * // subjectAltNames(cert) // ["https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main"]
 * ```
 */
export function subjectAltNames(cert: Certificate): string[] {
  const ext = findExtension(cert, X509_OID.subjectAltName);
  if (!ext) return [];
  const out: string[] = [];
  for (const gn of decodeDer(ext.value).children) {
    if (gn.tag === 0x81 || gn.tag === 0x86) out.push(fromUtf8(gn.value)); // rfc822Name, URI
    else if (gn.tag === 0xa0) {
      // otherName: type-id OID, [0] EXPLICIT value (UTF8String for Fulcio usernames)
      const oid = readOid(gn.children[0]);
      const inner = gn.children[1]?.children[0];
      if (oid === X509_OID.fulcioOtherName && inner?.tag === TAG.UTF8_STRING) {
        out.push(fromUtf8(inner.value));
      }
    }
  }
  return out;
}

/**
 * The OIDC issuer of a Fulcio certificate: extension 1.3.6.1.4.1.57264.1.8 (DER UTF8String),
 * else the legacy 1.3.6.1.4.1.57264.1.1 (raw string).
 *
 * @example
 * ```ts
 * import { fulcioIssuer } from "./x509.ts";
 * // fulcioIssuer(cert) === "https://token.actions.githubusercontent.com"
 * ```
 */
export function fulcioIssuer(cert: Certificate): string | undefined {
  const v2 = findExtension(cert, X509_OID.fulcioIssuerV2);
  if (v2) {
    const n = decodeDer(v2.value);
    if (n.tag !== TAG.UTF8_STRING) throw new TypeError("Fulcio issuer extension is not UTF8String");
    return fromUtf8(n.value);
  }
  const v1 = findExtension(cert, X509_OID.fulcioIssuerV1);
  return v1 ? fromUtf8(v1.value) : undefined;
}
