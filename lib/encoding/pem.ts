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

/** One PEM block as found in text, before decoding (see {@link pemScan}). */
export interface PemMatch {
  /** The label after `BEGIN `. */
  label: string;
  /** The label after `END ` (a well-formed block has the same). */
  endLabel: string;
  /** The body between the lines, as written. */
  body: string;
  /** Offset of `-----BEGIN` in the text. */
  start: number;
  /** Offset just past the closing dashes. */
  end: number;
}

/**
 * The one PEM scanner every reader uses: each `-----BEGIN X-----` … `-----END Y-----` block
 * in `text`, in order, with where it starts and ends (so a strict caller can refuse text
 * between blocks and a mismatched `END`).
 *
 * @example
 * ```ts
 * import { pemEncode, pemScan } from "./pem.ts";
 * [...pemScan(pemEncode("CERTIFICATE", new Uint8Array([1])))][0].label; // "CERTIFICATE"
 * ```
 */
export function* pemScan(text: string): Generator<PemMatch> {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    yield { label: m[1], endLabel: m[3], body: m[2], start: m.index, end: m.index + m[0].length };
  }
}

/**
 * The DER bytes of a PEM body (base64 with any whitespace); throws `TypeError` when it is not
 * base64.
 *
 * @example
 * ```ts
 * import { pemBody } from "./pem.ts";
 * pemBody("\nAQI=\n"); // Uint8Array [1, 2]
 * ```
 */
export function pemBody(body: string): Uint8Array {
  return fromBase64(body.replace(/\s+/g, ""));
}

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
 * Throws `TypeError` when a block's body is not base64; a block whose `END` label differs is
 * not a block and is skipped.
 *
 * @example
 * ```ts
 * import { pemDecodeAll, pemEncode } from "./pem.ts";
 * pemDecodeAll(pemEncode("CERTIFICATE", new Uint8Array([1])))[0].label; // "CERTIFICATE"
 * ```
 */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of pemScan(text)) {
    if (m.endLabel !== m.label) continue; // not a block: BEGIN and END labels differ
    out.push({ label: m.label, der: pemBody(m.body) });
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
