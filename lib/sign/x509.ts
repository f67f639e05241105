/**
 * The few X.509 certificate fields a signer needs: the subject public key, the subject
 * alternative names (URI / email) and the Fulcio OIDC issuer extension.
 *
 * @module
 */
import { fromUtf8 } from "../encoding/bytes.ts";
import { decodeDer, type DerNode, readOid, TAG } from "../encoding/der.ts";

/** Fields of a parsed certificate. */
export interface CertificateInfo {
  /** SubjectPublicKeyInfo DER. */
  spkiDer: Uint8Array;
  /** URI SANs. */
  uris: string[];
  /** Email (rfc822Name) SANs. */
  emails: string[];
  /** Fulcio OIDC issuer (extension 1.3.6.1.4.1.57264.1.8, else 1.1), if present. */
  issuer?: string;
}

const OID_SAN = "2.5.29.17";
const OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";
const OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";

/**
 * Parses the fields above from a DER certificate; throws `TypeError` when malformed.
 *
 * @example
 * ```ts
 * import { parseCertificate } from "./x509.ts";
 * declare const der: Uint8Array;
 * parseCertificate(der).uris; // ["https://github.com/acme/…"]
 * ```
 */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  const cert = decodeDer(der);
  const tbs = cert.children[0];
  if (cert.tag !== TAG.SEQUENCE || tbs?.tag !== TAG.SEQUENCE) {
    throw new TypeError("not an X.509 certificate");
  }
  const base = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
  const spki = tbs.children[base + 5];
  if (spki?.tag !== TAG.SEQUENCE) throw new TypeError("certificate: missing public key");
  const info: CertificateInfo = { spkiDer: spki.raw.slice(), uris: [], emails: [] };
  const extsWrap = tbs.children.find((c) => c.tag === 0xa3);
  const exts: DerNode[] = extsWrap?.children[0]?.children ?? [];
  let issuerV1: string | undefined;
  for (const ext of exts) {
    const oid = readOid(ext.children[0]);
    const value = ext.children[ext.children.length - 1].value;
    if (oid === OID_SAN) {
      for (const gn of decodeDer(value).children) {
        if (gn.tag === 0x86) info.uris.push(fromUtf8(gn.value));
        else if (gn.tag === 0x81) info.emails.push(fromUtf8(gn.value));
      }
    } else if (oid === OID_ISSUER_V2) {
      info.issuer = fromUtf8(decodeDer(value).value);
    } else if (oid === OID_ISSUER_V1) {
      issuerV1 = fromUtf8(value);
    }
  }
  info.issuer ??= issuerV1;
  return info;
}
