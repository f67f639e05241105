/**
 * Small helpers over `Uint8Array`: UTF-8, hex, base64, comparison, concatenation.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a string as UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { utf8 } from "./bytes.ts";
 * utf8("hi"); // Uint8Array [104, 105]
 * ```
 */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * Decodes UTF-8 bytes, throwing `TypeError` on invalid UTF-8.
 *
 * @example
 * ```ts
 * import { fromUtf8 } from "./bytes.ts";
 * fromUtf8(new Uint8Array([104, 105])); // "hi"
 * ```
 */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/**
 * Lowercase hex of bytes.
 *
 * @example
 * ```ts
 * import { toHex } from "./bytes.ts";
 * toHex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}

/**
 * Parses hex (either case) into bytes; throws `TypeError` on odd length or a non-hex digit.
 *
 * @example
 * ```ts
 * import { fromHex } from "./bytes.ts";
 * fromHex("01ff"); // Uint8Array [1, 255]
 * ```
 */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new TypeError("invalid hex string");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Standard base64 (with padding) of bytes.
 *
 * @example
 * ```ts
 * import { toBase64 } from "./bytes.ts";
 * toBase64(new Uint8Array([104, 105])); // "aGk="
 * ```
 */
export function toBase64(b: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * Decodes standard or URL-safe base64 (padding optional); throws `TypeError` on bad input.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./bytes.ts";
 * fromBase64("aGk="); // Uint8Array [104, 105]
 * ```
 */
export function fromBase64(s: string): Uint8Array {
  const std = s.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(std) || std.replace(/=+$/, "").length % 4 === 1) {
    throw new TypeError("invalid base64 string");
  }
  const padded = std.replace(/=+$/, "");
  const bin = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Constant-structure byte equality (length first, then every byte).
 *
 * @example
 * ```ts
 * import { bytesEqual } from "./bytes.ts";
 * bytesEqual(new Uint8Array([1]), new Uint8Array([1])); // true
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * concatBytes(new Uint8Array([1]), new Uint8Array([2])); // Uint8Array [1, 2]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
