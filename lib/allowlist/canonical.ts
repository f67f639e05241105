/**
 * The canonical allowlist (formats.md §2): normalise, validate, deduplicate, sort, emit the
 * exact signed bytes, and parse them back strictly.
 *
 * The emitter is hand-rolled; the strict parser accepts only bytes byte-identical to what the
 * emitter writes (it parses with a tiny line parser, re-emits, and compares bytes). Changing a
 * list (approve/deny, the generation rule) is `edit.ts`'s.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { bytesEqual, utf8 } from "../encoding/bytes.ts";
import { checkHost, isCanonicalHost, quoteForMessage } from "./host.ts";
import { scalar } from "../encoding/yaml_emit.ts";

import type { Endpoint } from "../model/sandbox.ts";

export type { Endpoint } from "../model/sandbox.ts";

/** A canonical allowlist: its generation and its sorted, unique endpoints. */
export interface Allowlist {
  /** Positive integer generation. */
  generation: number;
  /**
   * Sorted by host (byte order) then port, no duplicates. Empty only for a deny-all
   * allowlist, emitted only when asked for explicitly (`allowEmpty`).
   */
  endpoints: Endpoint[];
}

/** Port used when an entry has none. */
export const DEFAULT_PORT = 443;

/**
 * Most endpoints in one allowlist: one limit shared by the signer (the canonical emitter and
 * {@link canonicalizeEndpoints}), every verifier (the canonical parser) and `migrate`, so
 * nothing is ever signed that a verifier would refuse.
 */
export const MAX_ENDPOINTS = 100_000;

/** The message for a list over MAX_ENDPOINTS. */
function tooManyEndpointsMessage(count: number | string, what = "allowlist"): string {
  return `${what} has ${count} endpoints, more than the ${MAX_ENDPOINTS} an allowlist may hold (one limit for signing and verification); remove endpoints or split the workload`;
}

/** Most invalid entries listed one by one in an error message; the rest are counted. */
const MAX_LISTED_ERRORS = 20;

/** Exact message when asked to emit an allowlist with no endpoints (without `allowEmpty`). */
export const EMPTY_ALLOWLIST_MESSAGE = "refusing to sign empty allowlist";

/** `details.reason` of the error refusing an empty allowlist (the CLI names its flag). */
export const EMPTY_ALLOWLIST_REASON = "EmptyAllowlist";

/** The line a deny-all allowlist ends with (formats.md §2). */
const DENY_ALL_LINE = "  endpoints: []";

/** Options of {@link emitCanonicalAllowlist}. */
export interface EmitOptions {
  /** Emit an empty list as the deny-all `endpoints: []` instead of refusing it. */
  allowEmpty?: boolean;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the string ${quoteForMessage(v)}`;
  if (typeof v === "number") return String(v);
  return `a ${typeof v}`;
}

function portProblem(port: unknown): string | undefined {
  if (typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535) {
    return undefined;
  }
  return `port must be an integer 1-65535, got ${describe(port)}`;
}

/**
 * Orders endpoints by host (byte order; hosts are ASCII) then port (numeric).
 *
 * @example
 * ```ts
 * import { compareEndpoints } from "./canonical.ts";
 * [{ host: "b", port: 1 }, { host: "a", port: 2 }].sort(compareEndpoints); // a first
 * ```
 */
export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.port - b.port;
}

/**
 * Normalises and validates raw entries (`{host, port?}` from a KarsSandbox), then
 * deduplicates on (host, port) and sorts. Every bad entry is reported, each with its index
 * and reason, in one `KarsError("INPUT")` (details.errors lists them).
 *
 * @param raw the entries as read (unknown types are checked here)
 * @param options.source prefix for messages, e.g. `sandbox.yaml spec.networkPolicy.allowedEndpoints`
 *
 * @example
 * ```ts
 * import { canonicalizeEndpoints } from "./canonical.ts";
 * canonicalizeEndpoints([{ host: "B.example" }, { host: "a.example", port: 80 }, { host: "b.example", port: 443 }]);
 * // [{ host: "a.example", port: 80 }, { host: "b.example", port: 443 }]
 * ```
 */
export function canonicalizeEndpoints(
  raw: readonly { host?: unknown; port?: unknown }[],
  options: { source?: string } = {},
): Endpoint[] {
  const source = options.source ?? "allowedEndpoints";
  const errors: { index: number; host: unknown; reason: string }[] = [];
  const out: Endpoint[] = [];
  for (let i = 0; i < raw.length; i++) {
    const entry = raw[i] as unknown;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      errors.push({
        index: i,
        host: undefined,
        reason: `entry must be a mapping {host, port?}, got ${describe(entry)}`,
      });
      continue;
    }
    const { host, port } = entry as { host?: unknown; port?: unknown };
    const p = port === undefined ? DEFAULT_PORT : port;
    let hostReason: string | undefined;
    let h = "";
    if (typeof host !== "string") {
      hostReason = host === undefined
        ? "host is missing"
        : `host must be a string, got ${describe(host)}`;
    } else {
      const r = checkHost(host);
      if (r.ok) h = r.host;
      else hostReason = r.reason;
    }
    const portReason = portProblem(p);
    if (hostReason || portReason) {
      const reason = hostReason && portReason
        ? `${hostReason}; ${portReason}`
        : (hostReason ?? portReason)!;
      errors.push({ index: i, host, reason });
    } else out.push({ host: h, port: p as number });
  }
  if (errors.length > 0) {
    const n = errors.length;
    const lines = errors.slice(0, MAX_LISTED_ERRORS).map((e) =>
      `  - ${source}[${e.index}]${
        typeof e.host === "string" ? ` host ${quoteForMessage(e.host)}` : ""
      }: ${e.reason}`
    );
    if (n > MAX_LISTED_ERRORS) lines.push(`  - … and ${n - MAX_LISTED_ERRORS} more`);
    throw new KarsError(
      "INPUT",
      `${n} invalid allowlist ${n === 1 ? "entry" : "entries"} (fix or remove ${
        n === 1 ? "it" : "them"
      }):\n${lines.join("\n")}`,
      { details: { errors } },
    );
  }
  const list = sortEndpoints(out);
  if (list.length > MAX_ENDPOINTS) {
    throw new KarsError("INPUT", tooManyEndpointsMessage(list.length, source), {
      details: { limit: MAX_ENDPOINTS, count: list.length },
    });
  }
  return list;
}

/**
 * Sorts valid endpoints in place (host byte order, then port) and drops duplicates: the
 * order and uniqueness of a canonical list. Returns the (possibly new) list.
 *
 * @example
 * ```ts
 * import { sortEndpoints } from "./canonical.ts";
 * sortEndpoints([{ host: "b.example", port: 443 }, { host: "a.example", port: 443 }, { host: "b.example", port: 443 }]);
 * // [{ host: "a.example", port: 443 }, { host: "b.example", port: 443 }]
 * ```
 */
export function sortEndpoints(eps: Endpoint[]): Endpoint[] {
  // Lists written by this tool are already canonical: one linear pass, no sort.
  let i = 1;
  while (i < eps.length && compareEndpoints(eps[i - 1], eps[i]) < 0) i++;
  if (i >= eps.length) return eps;
  eps.sort(compareEndpoints);
  const out: Endpoint[] = [];
  let prev: Endpoint | undefined;
  for (const e of eps) {
    if (prev && prev.host === e.host && prev.port === e.port) continue;
    out.push(e);
    prev = e;
  }
  return out;
}

/**
 * Checks an allowlist generation: a positive safe integer, else `KarsError("INPUT")` naming
 * `what` (and carrying `details`, e.g. the option it came from).
 *
 * @example
 * ```ts
 * import { checkGeneration } from "./canonical.ts";
 * checkGeneration(3, "generation"); // 3
 * ```
 */
export function checkGeneration(
  g: unknown,
  what: string,
  details?: Record<string, unknown>,
): number {
  if (typeof g !== "number" || !Number.isSafeInteger(g) || g < 1) {
    throw new KarsError(
      "INPUT",
      `${what} must be a positive integer, got ${describe(g)}`,
      details ? { details } : {},
    );
  }
  return g;
}

/**
 * `scalar()` for a canonical host, with a shortcut: a host of more than 5 characters that
 * starts with a letter other than `e` is never a YAML number or reserved word (those start
 * with a digit, sign, `.` or `e`, or are at most 5 characters long), so it is written plain.
 */
function hostScalar(h: string): string {
  const c0 = h.charCodeAt(0);
  return h.length > 5 && c0 >= 97 && c0 <= 122 && c0 !== 101 ? h : scalar(h);
}

function emitText(generation: number, endpoints: readonly Endpoint[]): string {
  let out = "apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: " +
    String(generation) + "\nspec:\n" +
    (endpoints.length === 0 ? `${DENY_ALL_LINE}\n` : "  endpoints:\n");
  for (const e of endpoints) {
    out += "    - host: " + hostScalar(e.host) + "\n      port: " + e.port + "\n";
  }
  return out;
}

/**
 * Emits the canonical allowlist bytes (formats.md §2). The endpoints must already be
 * canonical (as returned by {@link canonicalizeEndpoints}); anything else is refused, as is
 * an empty list (`refusing to sign empty allowlist`, `details.reason` `EmptyAllowlist`)
 * unless `allowEmpty` is set: then it is the deny-all allowlist, `  endpoints: []`.
 *
 * @example
 * ```ts
 * import { emitCanonicalAllowlist } from "./canonical.ts";
 * const bytes = emitCanonicalAllowlist({ generation: 1, endpoints: [{ host: "api.github.com", port: 443 }] });
 * new TextDecoder().decode(bytes).endsWith("      port: 443\n"); // true
 * ```
 */
export function emitCanonicalAllowlist(list: Allowlist, options: EmitOptions = {}): Uint8Array {
  const generation = checkGeneration(list.generation, "allowlist generation");
  const eps = list.endpoints;
  if (eps.length === 0) {
    if (options.allowEmpty === true) return utf8(emitText(generation, eps));
    throw new KarsError("INPUT", EMPTY_ALLOWLIST_MESSAGE, {
      details: { reason: EMPTY_ALLOWLIST_REASON },
    });
  }
  if (eps.length > MAX_ENDPOINTS) {
    throw new KarsError("INPUT", tooManyEndpointsMessage(eps.length), {
      details: { limit: MAX_ENDPOINTS, count: eps.length },
    });
  }
  for (let i = 0; i < eps.length; i++) {
    const e = eps[i];
    if (!isCanonicalHost(e.host) || portProblem(e.port)) {
      throw new KarsError(
        "INPUT",
        `endpoint ${i} (host ${quoteForMessage(String(e.host))}, port ${
          quoteForMessage(String(e.port))
        }) is not canonical; pass it through canonicalizeEndpoints first`,
      );
    }
    if (i > 0 && compareEndpoints(eps[i - 1], e) >= 0) {
      throw new KarsError(
        "INPUT",
        `endpoint ${i} (${e.host}:${e.port}) is out of order or duplicated; pass the list through canonicalizeEndpoints first`,
      );
    }
  }
  return utf8(emitText(generation, eps));
}

const HEADER = [
  "apiVersion: kars.dev/v1alpha1",
  "kind: EgressAllowlist",
  "metadata:",
  null, // generation
  "spec:",
  "  endpoints:",
];

/**
 * Parses canonical allowlist bytes STRICTLY: only bytes byte-identical to what
 * {@link emitCanonicalAllowlist} writes are accepted (including the deny-all
 * `  endpoints: []`). Anything else throws
 * `KarsError("VERIFY", …, {details: {reason: "CanonicalFormViolation"}})` saying what is wrong.
 *
 * @example
 * ```ts
 * import { emitCanonicalAllowlist, parseCanonicalAllowlist } from "./canonical.ts";
 * const bytes = emitCanonicalAllowlist({ generation: 2, endpoints: [{ host: "a.example", port: 443 }] });
 * parseCanonicalAllowlist(bytes); // { generation: 2, endpoints: [{ host: "a.example", port: 443 }] }
 * ```
 */
export function parseCanonicalAllowlist(bytes: Uint8Array): Allowlist {
  const fail = (why: string): never => {
    throw new KarsError("VERIFY", `allowlist is not in canonical form: ${why}`, {
      details: { reason: "CanonicalFormViolation", problem: why },
    });
  };
  if (bytes.length === 0) fail("it is empty");
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    fail("it starts with a byte-order mark");
  }
  // Six header lines, then two lines per endpoint: refuse an over-long list before parsing it.
  const maxLines = HEADER.length + 2 * MAX_ENDPOINTS;
  let newlines = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0a && ++newlines > maxLines) {
      fail(
        `it holds more than ${MAX_ENDPOINTS} endpoints, the most an allowlist may hold (one limit for signing and verification)`,
      );
    }
    if (b === 0x0d) fail(`carriage return at byte ${i} (line endings must be LF, not CRLF)`);
    if (b === 0x09) fail(`tab at byte ${i} (indentation must be spaces)`);
    if (b >= 0x80) fail(`non-ASCII byte at offset ${i}`);
    if (b < 0x20 && b !== 0x0a) fail(`control byte 0x${b.toString(16)} at offset ${i}`);
  }
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  if (!text.endsWith("\n")) fail("missing trailing newline");
  if (text.endsWith("\n\n")) {
    fail("blank line at the end (exactly one trailing newline is allowed)");
  }
  const lines = text.slice(0, -1).split("\n");
  const at = (n: number, expected: string) =>
    fail(
      `line ${n + 1}: expected ${expected}, found ${
        lines[n] === undefined ? "<end of file>" : quoteForMessage(lines[n])
      }`,
    );
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n];
    if (/^\s*#/.test(l) || / #/.test(l)) fail(`line ${n + 1}: comments are not allowed`);
    if (l.endsWith(" ")) fail(`line ${n + 1}: trailing whitespace`);
    if (l === "") fail(`line ${n + 1}: blank line`);
  }
  let generation = 0;
  const denyAll = lines.length === HEADER.length && lines[HEADER.length - 1] === DENY_ALL_LINE;
  for (let n = 0; n < HEADER.length; n++) {
    if (denyAll && n === HEADER.length - 1) break;
    const want = HEADER[n];
    if (want === null) {
      const m = /^ {2}generation: ([1-9][0-9]{0,15})$/.exec(lines[n] ?? "");
      if (!m || !Number.isSafeInteger(Number(m[1]))) at(n, '"  generation: <positive integer>"');
      generation = Number(m![1]);
    } else if (lines[n] !== want) at(n, JSON.stringify(want));
  }
  const endpoints: Endpoint[] = [];
  if (denyAll) return { generation, endpoints };
  let n = HEADER.length;
  if (n >= lines.length) {
    fail(
      `the endpoint list is empty (a deny-all allowlist is written ${
        JSON.stringify(DENY_ALL_LINE)
      })`,
    );
  }
  for (; n < lines.length; n += 2) {
    const hm = /^ {4}- host: ("?)([a-z0-9.-]+)\1$/.exec(lines[n]);
    if (!hm) at(n, '"    - host: <canonical host>"');
    const pm = /^ {6}port: ([1-9][0-9]{0,4})$/.exec(lines[n + 1] ?? "");
    if (!pm) at(n + 1, '"      port: <1-65535>"');
    const host = hm![2];
    const port = Number(pm![1]);
    if (!isCanonicalHost(host)) {
      fail(`line ${n + 1}: host ${quoteForMessage(host)} is not a canonical host`);
    }
    if (port > 65535) fail(`line ${n + 2}: port ${port} is out of range`);
    if ((hm![1] === '"') !== (hostScalar(host) !== host)) {
      fail(
        `line ${n + 1}: host ${quoteForMessage(host)} is ${
          hm![1] ? "quoted but must be plain" : "plain but must be quoted"
        }`,
      );
    }
    const e = { host, port };
    const prev = endpoints[endpoints.length - 1];
    if (prev) {
      const c = compareEndpoints(prev, e);
      if (c === 0) fail(`line ${n + 1}: duplicate entry ${host}:${port}`);
      if (c > 0) {
        fail(
          `line ${n + 1}: entries are not sorted (${host}:${port} after ${prev.host}:${prev.port})`,
        );
      }
    }
    endpoints.push(e);
  }
  // Belt and braces: the bytes must be exactly what the emitter writes.
  if (!bytesEqual(utf8(emitText(generation, endpoints)), bytes)) {
    fail("bytes differ from the canonical emission");
  }
  return { generation, endpoints };
}
