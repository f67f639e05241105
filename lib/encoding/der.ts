/**
 * A minimal ASN.1 DER reader and writer over `Uint8Array`: enough for X.509 fields,
 * PKCS#8 / SEC1 / SPKI keys, ECDSA signatures and RFC 3161 messages. Generic: no
 * knowledge of any particular structure lives here.
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";

/** Universal tag numbers used by the helpers below. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One decoded DER element. */
export interface DerNode {
  /** The full identifier octet (class, constructed bit and tag number; low-tag form only). */
  tag: number;
  /** The content octets. */
  value: Uint8Array;
  /** The whole encoding (identifier, length and content). */
  raw: Uint8Array;
  /** Children, when the element is constructed. */
  children: DerNode[];
}

/**
 * Decodes exactly one DER element spanning all of `bytes` (throws `TypeError` otherwise).
 *
 * The reader enforces DER, not BER, as a verifier must (a lenient parser is where differential
 * attacks on signature verification start): definite minimal lengths (the short form below 128,
 * no leading zero length octets), low-tag-number form only, at most 64 levels of nesting, no
 * trailing bytes, universal primitive types primitive and SEQUENCE/SET constructed, and for the
 * universal types it knows: BOOLEAN one octet of 00 or FF, NULL empty, INTEGER non-empty and
 * minimal (no redundant leading 00 or FF octet), OBJECT IDENTIFIER non-empty with minimal,
 * complete sub-identifiers, BIT STRING with 0–7 unused bits that are zero.
 *
 * @example
 * ```ts
 * import { decodeDer } from "./der.ts";
 * decodeDer(new Uint8Array([0x02, 0x01, 0x05])).value; // Uint8Array [5]
 * // decodeDer(new Uint8Array([0x02, 0x81, 0x01, 0x05])) throws: non-minimal length
 * ```
 */
export function decodeDer(bytes: Uint8Array): DerNode {
  const [node, end] = readNode(bytes, 0, 0);
  if (end !== bytes.length) throw new TypeError("DER: trailing bytes after element");
  return node;
}

/** Maximum nesting depth {@link decodeDer} accepts. */
export const MAX_DER_DEPTH = 64;

function readNode(b: Uint8Array, off: number, depth: number): [DerNode, number] {
  if (depth > MAX_DER_DEPTH) throw new TypeError("DER: nesting too deep");
  if (off + 2 > b.length) throw new TypeError("DER: truncated element");
  const tag = b[off];
  if ((tag & 0x1f) === 0x1f) throw new TypeError("DER: high tag numbers not supported");
  if (tag === 0) throw new TypeError("DER: end-of-contents octets are not DER");
  let len = b[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new TypeError("DER: indefinite length is not DER");
    if (n > 4) throw new TypeError("DER: length too large");
    if (p + n > b.length) throw new TypeError("DER: truncated length");
    if (b[p] === 0) throw new TypeError("DER: non-minimal length (leading zero octet)");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
    if (len < 0x80) throw new TypeError("DER: non-minimal length (long form below 128)");
    p += n;
  }
  const end = p + len;
  if (end > b.length) throw new TypeError("DER: truncated content");
  const value = b.subarray(p, end);
  const constructed = (tag & 0x20) !== 0;
  if ((tag & 0xc0) === 0) checkUniversal(tag & 0x1f, constructed, value);
  const children: DerNode[] = [];
  if (constructed) {
    let q = p;
    while (q < end) {
      const [child, next] = readNode(b.subarray(0, end), q, depth + 1);
      children.push(child);
      q = next;
    }
  }
  return [{ tag, value, raw: b.subarray(off, end), children }, end];
}

/** Universal tags that DER always encodes constructed (SEQUENCE, SET). */
const CONSTRUCTED_UNIVERSAL = new Set([0x10, 0x11]);

function checkUniversal(n: number, constructed: boolean, v: Uint8Array): void {
  if (CONSTRUCTED_UNIVERSAL.has(n)) {
    if (!constructed) throw new TypeError("DER: SEQUENCE/SET must be constructed");
    return;
  }
  if (constructed) throw new TypeError(`DER: universal tag ${n} must be primitive`);
  switch (n) {
    case TAG.BOOLEAN:
      if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) {
        throw new TypeError("DER: BOOLEAN must be one octet, 00 or FF");
      }
      return;
    case TAG.NULL:
      if (v.length !== 0) throw new TypeError("DER: NULL must be empty");
      return;
    case TAG.INTEGER:
    case 0x0a: // ENUMERATED
      if (v.length === 0) throw new TypeError("DER: empty INTEGER");
      if (
        v.length > 1 && ((v[0] === 0 && !(v[1] & 0x80)) || (v[0] === 0xff && (v[1] & 0x80)))
      ) throw new TypeError("DER: non-minimal INTEGER (redundant leading octet)");
      return;
    case TAG.OID:
      if (v.length === 0) throw new TypeError("DER: empty OBJECT IDENTIFIER");
      if (v[v.length - 1] & 0x80) throw new TypeError("DER: truncated OBJECT IDENTIFIER");
      for (let i = 0; i < v.length; i++) {
        const startsArc = i === 0 || !(v[i - 1] & 0x80);
        if (startsArc && v[i] === 0x80) {
          throw new TypeError("DER: non-minimal OBJECT IDENTIFIER sub-identifier");
        }
      }
      return;
    case TAG.BIT_STRING: {
      if (v.length === 0 || v[0] > 7) throw new TypeError("DER: malformed BIT STRING");
      if (v.length === 1 && v[0] !== 0) {
        throw new TypeError("DER: empty BIT STRING with unused bits");
      }
      const unused = v[0];
      if (unused && (v[v.length - 1] & ((1 << unused) - 1))) {
        throw new TypeError("DER: BIT STRING unused bits must be zero");
      }
      return;
    }
  }
}

/**
 * Encodes one element from its identifier octet and content.
 *
 * @example
 * ```ts
 * import { derTLV } from "./der.ts";
 * derTLV(0x05, new Uint8Array()); // Uint8Array [5, 0]
 * ```
 */
export function derTLV(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let len: Uint8Array;
  if (n < 0x80) len = new Uint8Array([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = new Uint8Array([0x80 | bytes.length, ...bytes]);
  }
  return concatBytes(new Uint8Array([tag]), len, content);
}

/**
 * SEQUENCE of already-encoded elements.
 *
 * @example
 * ```ts
 * import { derNull, derSeq } from "./der.ts";
 * derSeq(derNull()); // Uint8Array [0x30, 2, 5, 0]
 * ```
 */
export function derSeq(...items: Uint8Array[]): Uint8Array {
  return derTLV(TAG.SEQUENCE, concatBytes(...items));
}

/**
 * NULL.
 *
 * @example
 * ```ts
 * import { derNull } from "./der.ts";
 * derNull(); // Uint8Array [5, 0]
 * ```
 */
export function derNull(): Uint8Array {
  return derTLV(TAG.NULL, new Uint8Array());
}

/**
 * BOOLEAN.
 *
 * @example
 * ```ts
 * import { derBool } from "./der.ts";
 * derBool(true); // Uint8Array [1, 1, 255]
 * ```
 */
export function derBool(v: boolean): Uint8Array {
  return derTLV(TAG.BOOLEAN, new Uint8Array([v ? 0xff : 0]));
}

/**
 * OCTET STRING.
 *
 * @example
 * ```ts
 * import { derOctets } from "./der.ts";
 * derOctets(new Uint8Array([1])); // Uint8Array [4, 1, 1]
 * ```
 */
export function derOctets(b: Uint8Array): Uint8Array {
  return derTLV(TAG.OCTET_STRING, b);
}

/**
 * Context-specific tag `[n]`, constructed (explicit) by default.
 *
 * @example
 * ```ts
 * import { derContext, derNull } from "./der.ts";
 * derContext(0, derNull()); // Uint8Array [0xa0, 2, 5, 0]
 * ```
 */
export function derContext(n: number, content: Uint8Array, constructed = true): Uint8Array {
  return derTLV(0x80 | (constructed ? 0x20 : 0) | n, content);
}

/**
 * INTEGER from a non-negative bigint, or from unsigned big-endian magnitude bytes.
 *
 * @example
 * ```ts
 * import { derInt } from "./der.ts";
 * derInt(255n); // Uint8Array [2, 2, 0, 255]
 * ```
 */
export function derInt(v: bigint | number | Uint8Array): Uint8Array {
  let mag: Uint8Array;
  if (v instanceof Uint8Array) mag = v;
  else {
    let n = BigInt(v);
    if (n < 0n) throw new RangeError("derInt: negative integers not supported");
    const bytes: number[] = [];
    while (n > 0n) {
      bytes.unshift(Number(n & 0xffn));
      n >>= 8n;
    }
    mag = new Uint8Array(bytes);
  }
  let i = 0;
  while (i < mag.length - 1 && mag[i] === 0) i++;
  mag = mag.subarray(i);
  if (mag.length === 0) mag = new Uint8Array([0]);
  if (mag[0] & 0x80) mag = concatBytes(new Uint8Array([0]), mag);
  return derTLV(TAG.INTEGER, mag);
}

/**
 * Reads an INTEGER's content octets as an unsigned bigint (throws on a negative value).
 *
 * @example
 * ```ts
 * import { decodeDer, derInt, readInt } from "./der.ts";
 * readInt(decodeDer(derInt(300n))); // 300n
 * ```
 */
export function readInt(node: DerNode): bigint {
  if (node.tag !== TAG.INTEGER) throw new TypeError("DER: expected INTEGER");
  if (node.value.length === 0 || node.value[0] & 0x80) {
    throw new TypeError("DER: negative or empty INTEGER");
  }
  let n = 0n;
  for (const byte of node.value) n = (n << 8n) | BigInt(byte);
  return n;
}

/**
 * OBJECT IDENTIFIER from dotted form.
 *
 * @example
 * ```ts
 * import { derOid } from "./der.ts";
 * derOid("1.2.840.10045.2.1"); // Uint8Array [6, 7, 42, 134, 72, 206, 61, 2, 1]
 * ```
 */
export function derOid(oid: string): Uint8Array {
  const parts = oid.split(".").map((p) => BigInt(p));
  if (parts.length < 2) throw new TypeError(`invalid OID ${oid}`);
  const arcs = [parts[0] * 40n + parts[1], ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    let v = arc >> 7n;
    while (v > 0n) {
      chunk.unshift(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(...chunk);
  }
  return derTLV(TAG.OID, new Uint8Array(out));
}

/**
 * Dotted form of an OBJECT IDENTIFIER node.
 *
 * @example
 * ```ts
 * import { decodeDer, derOid, readOid } from "./der.ts";
 * readOid(decodeDer(derOid("2.5.29.17"))); // "2.5.29.17"
 * ```
 */
export function readOid(node: DerNode): string {
  if (node.tag !== TAG.OID) throw new TypeError("DER: expected OBJECT IDENTIFIER");
  if (node.value.length === 0 || node.value[node.value.length - 1] & 0x80) {
    throw new TypeError("DER: truncated or empty OBJECT IDENTIFIER");
  }
  const arcs: bigint[] = [];
  let v = 0n;
  for (const byte of node.value) {
    v = (v << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(v);
      v = 0n;
    }
  }
  if (arcs.length === 0) throw new TypeError("DER: empty OBJECT IDENTIFIER");
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join(".");
}

/**
 * BIT STRING with zero unused bits.
 *
 * @example
 * ```ts
 * import { derBitString } from "./der.ts";
 * derBitString(new Uint8Array([4])); // Uint8Array [3, 2, 0, 4]
 * ```
 */
export function derBitString(b: Uint8Array): Uint8Array {
  return derTLV(TAG.BIT_STRING, concatBytes(new Uint8Array([0]), b));
}

/**
 * Content of a BIT STRING with zero unused bits (throws otherwise).
 *
 * @example
 * ```ts
 * import { decodeDer, derBitString, readBitString } from "./der.ts";
 * readBitString(decodeDer(derBitString(new Uint8Array([4])))); // Uint8Array [4]
 * ```
 */
export function readBitString(node: DerNode): Uint8Array {
  if (node.tag !== TAG.BIT_STRING || node.value[0] !== 0) {
    throw new TypeError("DER: expected BIT STRING without unused bits");
  }
  return node.value.subarray(1);
}
