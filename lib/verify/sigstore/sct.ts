/**
 * Signed certificate timestamps (RFC 6962 §3) embedded in Fulcio certificates: the
 * precertificate TBS is rebuilt (the SCT list extension removed) and each SCT is verified
 * against the CT logs of the trusted root.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { decodeDer, derTLV, TAG } from "../../encoding/der.ts";
import { bytesEqual, concatBytes } from "../../encoding/bytes.ts";
import { type HashName, verifyMessage } from "./keys.ts";
import { inRange, type TrustedRoot } from "./trust_root.ts";
import { type Certificate, findExtension, X509_OID } from "./x509.ts";

/** One parsed SCT. */
export interface Sct {
  version: number;
  logId: Uint8Array;
  /** Milliseconds since the epoch. */
  timestamp: bigint;
  extensions: Uint8Array;
  hashAlgorithm: number;
  signatureAlgorithm: number;
  signature: Uint8Array;
}

/**
 * Parses the SCT list extension of a certificate (empty when absent). Throws `TypeError`
 * when malformed.
 *
 * @example
 * ```ts
 * import { parseScts } from "./sct.ts";
 * // parseScts(leaf).length
 * ```
 */
export function parseScts(cert: Certificate): Sct[] {
  const ext = findExtension(cert, X509_OID.sctList);
  if (!ext) return [];
  const inner = decodeDer(ext.value);
  if (inner.tag !== TAG.OCTET_STRING) throw new TypeError("SCT list is not an OCTET STRING");
  const b = inner.value;
  const u16 = (o: number) => (b[o] << 8) | b[o + 1];
  if (b.length < 2 || u16(0) !== b.length - 2) throw new TypeError("SCT list length mismatch");
  const out: Sct[] = [];
  let p = 2;
  while (p < b.length) {
    const len = u16(p);
    const end = p + 2 + len;
    if (end > b.length) throw new TypeError("SCT truncated");
    let q = p + 2;
    const version = b[q++];
    const logId = b.subarray(q, q + 32);
    q += 32;
    let timestamp = 0n;
    for (let i = 0; i < 8; i++) timestamp = (timestamp << 8n) | BigInt(b[q++]);
    const extLen = u16(q);
    q += 2;
    const extensions = b.subarray(q, q + extLen);
    q += extLen;
    const hashAlgorithm = b[q++];
    const signatureAlgorithm = b[q++];
    const sigLen = u16(q);
    q += 2;
    const signature = b.subarray(q, q + sigLen);
    q += sigLen;
    if (q !== end) throw new TypeError("SCT length mismatch");
    out.push({
      version,
      logId,
      timestamp,
      extensions,
      hashAlgorithm,
      signatureAlgorithm,
      signature,
    });
    p = end;
  }
  return out;
}

/**
 * The precertificate TBSCertificate: the leaf's TBS with the SCT list extension removed.
 *
 * @example
 * ```ts
 * import { precertTbs } from "./sct.ts";
 * // precertTbs(leaf)
 * ```
 */
export function precertTbs(cert: Certificate): Uint8Array {
  const fields = cert.tbsNode.children.map((f) => {
    if (f.tag !== 0xa3) return f.raw;
    const exts = f.children[0].children.filter((e) => {
      const oid = e.children[0];
      return !(oid && oid.tag === TAG.OID && bytesEqual(oid.raw, OID_SCT_DER));
    });
    return derTLV(0xa3, derTLV(TAG.SEQUENCE, concatBytes(...exts.map((e) => e.raw))));
  });
  return derTLV(TAG.SEQUENCE, concatBytes(...fields));
}

// DER of OID 1.3.6.1.4.1.11129.2.4.2
const OID_SCT_DER = new Uint8Array([
  0x06,
  0x0a,
  0x2b,
  0x06,
  0x01,
  0x04,
  0x01,
  0xd6,
  0x79,
  0x02,
  0x04,
  0x02,
]);

function u16be(n: number): Uint8Array {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

function u24be(n: number): Uint8Array {
  return new Uint8Array([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/**
 * Counts the certificate's SCTs that verify against a CT log of the trusted root (log key
 * valid at the SCT's time). `issuer` is the certificate that issued `cert`.
 *
 * @example
 * ```ts
 * import { verifiedSctCount } from "./sct.ts";
 * // verifiedSctCount(leaf, intermediate, trustedRoot) >= 1
 * ```
 */
export function verifiedSctCount(
  cert: Certificate,
  issuer: Certificate,
  root: TrustedRoot,
): number {
  const scts = parseScts(cert);
  if (scts.length === 0) return 0;
  const tbs = precertTbs(cert);
  const issuerKeyHash = sha256(issuer.spki);
  let n = 0;
  for (const sct of scts) {
    if (sct.version !== 0) continue;
    const log = root.ctlogs.find((l) => bytesEqual(l.logId, sct.logId));
    if (!log?.key) continue;
    if (!inRange(log.validFor, new Date(Number(sct.timestamp)))) continue;
    const hashName: HashName | undefined = {
      4: "sha256",
      5: "sha384",
      6: "sha512",
    }[sct.hashAlgorithm] as
      | HashName
      | undefined;
    if (!hashName) continue;
    const ts = new Uint8Array(8);
    let t = sct.timestamp;
    for (let i = 7; i >= 0; i--) {
      ts[i] = Number(t & 0xffn);
      t >>= 8n;
    }
    const signed = concatBytes(
      new Uint8Array([0, 0]), // version v1, signature_type certificate_timestamp
      ts,
      u16be(1), // entry_type precert_entry
      issuerKeyHash,
      u24be(tbs.length),
      tbs,
      u16be(sct.extensions.length),
      sct.extensions,
    );
    if (verifyMessage(log.key, hashName, signed, sct.signature)) n++;
  }
  return n;
}
