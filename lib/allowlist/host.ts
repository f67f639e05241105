/**
 * Host name normalisation and validation for allowlist entries (formats.md §2).
 *
 * A canonical host is lowercase ASCII `[a-z0-9.-]`, at most 253 characters, labels of
 * 1–63 characters, or an IPv4 literal written as four decimal octets. Internationalised
 * names are converted to punycode with UTS-46 exactly as the WHATWG URL parser does
 * (`new URL("http://" + host).hostname`), after pre-checks that reject what the URL parser
 * would otherwise silently repair or reinterpret.
 *
 * Decisions where the spec is silent (documented and tested):
 * - IPv4 is accepted only in canonical dotted-quad form (`127.0.0.1`). The WHATWG parser
 *   also turns `0x7f.1`, `1.2.3`, `010.0.0.1` or `2130706433` into addresses; such forms,
 *   and any name whose last label is numeric but which is not a canonical dotted quad,
 *   are rejected so the allowlist never names an address the operator did not write.
 * - A non-ASCII input that maps to an IPv4 address (fullwidth digits) is rejected.
 * - `%`, `_`, `/`, `@`, `:` and every other ASCII character outside `[A-Za-z0-9.-]` are
 *   rejected before the URL parser sees them (it would percent-decode or split on them).
 * - Hyphens at the start or end of a label are allowed (the spec's character set permits
 *   them); `xn--` labels are always validated through the URL parser.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { quoteForMessage } from "../encoding/quote.ts";

/** Longest host name accepted (DNS limit, without trailing dot). */
export const MAX_HOST_LENGTH = 253;
/** Longest label accepted. */
export const MAX_LABEL_LENGTH = 63;

/** Result of {@link checkHost}: the canonical host, or why the input is rejected. */
export type HostCheck = { ok: true; host: string } | { ok: false; reason: string };

const ASCII_HOST = /^[A-Za-z0-9.-]+$/;
const CANONICAL_CHARS = /^[a-z0-9.-]+$/;
const DOTTED_QUAD =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const WHITESPACE = /[\s\u200b\u2060\ufeff]/u;

/** WHATWG "ends in a number": the last label is all digits or `0x`-hex (then it is IPv4). */
function endsInNumber(h: string): boolean {
  let end = h.length;
  if (h.charCodeAt(end - 1) === 46 /* . */) end--;
  const start = h.lastIndexOf(".", end - 1) + 1;
  if (start >= end) return false;
  const last = h.slice(start, end);
  return /^[0-9]+$/.test(last) || /^0[xX][0-9a-fA-F]*$/.test(last);
}

/** Structural checks on an ASCII candidate (dots, lengths, IPv4 form). */
function checkAscii(h: string): string | undefined {
  if (h.charCodeAt(0) === 46) return "leading dot";
  if (h.charCodeAt(h.length - 1) === 46) return "trailing dot (write the name without it)";
  if (h.length > MAX_HOST_LENGTH) {
    return `name is ${h.length} characters, more than ${MAX_HOST_LENGTH}`;
  }
  let labelStart = 0;
  for (let i = 0; i <= h.length; i++) {
    if (i === h.length || h.charCodeAt(i) === 46) {
      const len = i - labelStart;
      if (len === 0) return "empty label (double dot)";
      if (len > MAX_LABEL_LENGTH) {
        return `label "${
          h.slice(labelStart, labelStart + 20)
        }…" is ${len} characters, more than ${MAX_LABEL_LENGTH}`;
      }
      labelStart = i + 1;
    }
  }
  if (endsInNumber(h) && !DOTTED_QUAD.test(h)) {
    return "not a canonical IPv4 address (write four decimal octets without leading zeros, like 192.0.2.1)";
  }
  return undefined;
}

/**
 * Checks and normalises one host without throwing.
 *
 * @example
 * ```ts
 * import { checkHost } from "./host.ts";
 * checkHost("Bücher.Example"); // { ok: true, host: "xn--bcher-kva.example" }
 * checkHost("*.example.com"); // { ok: false, reason: "wildcards are not allowed in v1 ..." }
 * ```
 */
export function checkHost(raw: string): HostCheck {
  const bad = (reason: string): HostCheck => ({ ok: false, reason });
  if (raw.length === 0) return bad("host is empty");
  // Fast path: plain ASCII names (the overwhelmingly common case) never touch the URL parser.
  if (ASCII_HOST.test(raw)) {
    const h = CANONICAL_CHARS.test(raw) ? raw : raw.toLowerCase();
    if (!h.includes("xn--")) {
      const why = checkAscii(h);
      return why ? bad(why) : { ok: true, host: h };
    }
  }
  if (raw.length > 4 * MAX_HOST_LENGTH) {
    return bad(`name is far longer than ${MAX_HOST_LENGTH} characters`);
  }
  if (WHITESPACE.test(raw)) return bad("contains whitespace");
  if (CONTROL.test(raw)) return bad("contains a control character");
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw)) {
    return bad("is a URL; give the bare host name (and the port in the port field)");
  }
  if (raw.includes("*")) return bad("wildcards are not allowed in v1; list each host explicitly");
  if (raw.startsWith("[") || (raw.match(/:/g) ?? []).length >= 2) {
    return bad("IPv6 literals are not allowed in v1");
  }
  if (raw.includes(":")) {
    return bad("contains ':'; give the port in the port field, not in the host");
  }
  if (/[\/?#@\\]/.test(raw)) {
    return bad("contains URL syntax (/ ? # @ \\); give the bare host name");
  }
  const odd = raw.match(/[\x21-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/);
  if (odd) return bad(`contains the character '${odd[0]}', which is not allowed in a host name`);
  // Pre-check dots on the raw text too (the URL parser maps U+3002 etc. to '.').
  const pre = raw.startsWith(".")
    ? "leading dot"
    : raw.endsWith(".")
    ? "trailing dot (write the name without it)"
    : raw.includes("..")
    ? "empty label (double dot)"
    : undefined;
  if (pre) return bad(pre);
  let h: string;
  try {
    h = new URL(`http://${raw}/`).hostname;
  } catch {
    return bad("is not a valid internationalised domain name (UTS-46 conversion failed)");
  }
  if (!CANONICAL_CHARS.test(h)) return bad("is not a valid domain name");
  if (!ASCII_HOST.test(raw) && DOTTED_QUAD.test(h)) {
    return bad("IPv4 addresses must be written in ASCII digits");
  }
  const why = checkAscii(h);
  return why ? bad(why) : { ok: true, host: h };
}

/**
 * True when `h` is already a canonical host (what {@link normaliseHost} returns unchanged).
 *
 * @example
 * ```ts
 * import { isCanonicalHost } from "./host.ts";
 * isCanonicalHost("api.github.com"); // true
 * isCanonicalHost("API.github.com"); // false
 * ```
 */
export function isCanonicalHost(h: string): boolean {
  if (!CANONICAL_CHARS.test(h)) return false;
  if (!h.includes("xn--")) return checkAscii(h) === undefined;
  const r = checkHost(h);
  return r.ok && r.host === h;
}

/**
 * Normalises one host or throws `KarsError("INPUT")` naming it and why it is rejected.
 *
 * @example
 * ```ts
 * import { normaliseHost } from "./host.ts";
 * normaliseHost("API.GitHub.com"); // "api.github.com"
 * normaliseHost("münchen.de"); // "xn--mnchen-3ya.de"
 * ```
 */
export function normaliseHost(raw: string): string {
  const r = checkHost(raw);
  if (!r.ok) {
    throw new KarsError("INPUT", `host ${quoteForMessage(raw)}: ${r.reason}`, {
      details: { host: raw, reason: r.reason },
    });
  }
  return r.host;
}

/** Re-exported from lib/encoding/quote.ts (the one helper for quoting input in errors). */
export { quoteForMessage };

/** Exact message for a URL given where `host[:port]` is expected. */
export const NOT_A_URL_MESSAGE = "domain must be a bare host[:port], not a URL";

/**
 * Parses `host[:port]` (an approved endpoint): host normalised, port 1–65535,
 * default 443. Throws `KarsError("INPUT")`; a URL gets {@link NOT_A_URL_MESSAGE}.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./host.ts";
 * parseHostPort("API.example.com:8443"); // { host: "api.example.com", port: 8443 }
 * parseHostPort("example.com"); // { host: "example.com", port: 443 }
 * ```
 */
export function parseHostPort(arg: string): { host: string; port: number } {
  const fail = (msg: string): never => {
    throw new KarsError("INPUT", msg, { details: { argument: arg } });
  };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(arg) || /[\/?#@]/.test(arg)) {
    fail(`${NOT_A_URL_MESSAGE}: ${quoteForMessage(arg)}`);
  }
  if (arg.startsWith("[") || (arg.match(/:/g) ?? []).length >= 2) {
    fail(`${quoteForMessage(arg)}: IPv6 literals are not allowed in v1`);
  }
  let hostPart = arg;
  let port = 443;
  const colon = arg.indexOf(":");
  if (colon >= 0) {
    hostPart = arg.slice(0, colon);
    const p = arg.slice(colon + 1);
    if (!/^[0-9]{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535 || /^0/.test(p)) {
      fail(`${quoteForMessage(arg)}: port must be an integer 1-65535`);
    }
    port = Number(p);
  }
  const r = checkHost(hostPart);
  if (!r.ok) fail(`${quoteForMessage(arg)}: ${r.reason}`);
  return { host: (r as { host: string }).host, port };
}
