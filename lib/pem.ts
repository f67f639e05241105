/**
 * PEM (RFC 7468) encoding and decoding of DER blocks.
 *
 * @module
 */
import { fromBase64, toBase64 } from "./bytes.ts";

/** One PEM block: its label (e.g. `CERTIFICATE`) and DER bytes. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes. */
  label: string;
  /** The decoded body. */
  der: Uint8Array;
}

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/**
 * Encodes DER as a PEM block (64-character lines, trailing newline).
 *
 * @example
 * ```ts
 * import { pemEncode } from "./pem.ts";
 * pemEncode("PUBLIC KEY", new Uint8Array([1, 2]));
 * // "-----BEGIN PUBLIC KEY-----\nAQI=\n-----END PUBLIC KEY-----\n"
 * ```
 */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Decodes every PEM block in `text`, in order (text outside blocks is ignored).
 * Throws `TypeError` when a block's body is not base64.
 *
 * @example
 * ```ts
 * import { pemDecodeAll, pemEncode } from "./pem.ts";
 * pemDecodeAll(pemEncode("CERTIFICATE", new Uint8Array([1])))[0].label; // "CERTIFICATE"
 * ```
 */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK_RE)) {
    out.push({ label: m[1], der: fromBase64(m[2].replace(/\s+/g, "")) });
  }
  return out;
}

/**
 * Decodes the single PEM block in `text`; `null` when there is none.
 *
 * @example
 * ```ts
 * import { pemDecode, pemEncode } from "./pem.ts";
 * pemDecode(pemEncode("PUBLIC KEY", new Uint8Array([7])))?.der; // Uint8Array [7]
 * ```
 */
export function pemDecode(text: string): PemBlock | null {
  const all = pemDecodeAll(text);
  return all.length === 0 ? null : all[0];
}
