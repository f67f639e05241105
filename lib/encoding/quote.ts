/**
 * Quoting untrusted input inside error messages: the one helper every error path that echoes
 * input uses, so that no message carries more than a bounded excerpt of it, and nothing
 * invisible or terminal-controlling reaches a log.
 *
 * @module
 */

/** Most characters (code points) of input an error message quotes (a full 253-character host name fits). */
export const MAX_QUOTED_CHARS = 256;

const UNSAFE = /[\p{C}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/gu;

/**
 * Quotes untrusted text for an error message: JSON string syntax, with control, format,
 * lone-surrogate and non-space whitespace characters escaped as `\uXXXX`, cut after
 * `maxChars` code points (default {@link MAX_QUOTED_CHARS}) with a note of the full length.
 *
 * @example
 * ```ts
 * import { quoteForMessage } from "./quote.ts";
 * quoteForMessage("a\u007fb"); // "\"a\\u007fb\""
 * quoteForMessage("x".repeat(1000), 3); // "\"xxx\"… (1000 characters)"
 * ```
 */
export function quoteForMessage(s: string, maxChars: number = MAX_QUOTED_CHARS): string {
  let cut = s;
  let truncated = false;
  if (s.length > maxChars) {
    // Walk code points only as far as needed (s may be megabytes long).
    let i = 0;
    let n = 0;
    while (i < s.length && n < maxChars) {
      const c = s.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
          s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff
        ? 2
        : 1;
      n++;
    }
    if (i < s.length) {
      cut = s.slice(0, i);
      truncated = true;
    }
  }
  const quoted = JSON.stringify(cut).replace(
    UNSAFE,
    (c) => "\\u" + c.codePointAt(0)!.toString(16).padStart(4, "0"),
  );
  return truncated ? `${quoted}… (${s.length} characters)` : quoted;
}

/**
 * A message from a third-party parser (which may embed input) made safe to show: control
 * and invisible characters escaped and the text cut to about `maxChars` code points.
 *
 * @example
 * ```ts
 * import { sanitizeMessage } from "./quote.ts";
 * sanitizeMessage("bad \u001b[31m token"); // "bad \\u001b[31m token"
 * ```
 */
export function sanitizeMessage(message: string, maxChars: number = 2 * MAX_QUOTED_CHARS): string {
  const q = quoteForMessage(message, maxChars);
  // Drop the JSON quotes (and unescape the quote/backslash escapes JSON added) for prose.
  const close = q.lastIndexOf('"');
  return q.slice(1, close).replace(/\\(["\\])/g, "$1") + q.slice(close + 1);
}

/**
 * Describes a value read from untrusted input for an error message: strings quoted with
 * {@link quoteForMessage}, numbers, booleans and null as written, collections by kind only
 * (a collection may be arbitrarily large).
 *
 * @example
 * ```ts
 * import { describeInput } from "./quote.ts";
 * describeInput("v2"); // "\"v2\""
 * describeInput([1, 2]); // "a list"
 * ```
 */
export function describeInput(v: unknown): string {
  if (typeof v === "string") return quoteForMessage(v);
  if (v === null || typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}
