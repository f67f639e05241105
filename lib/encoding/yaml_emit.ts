/**
 * Tiny helpers for the hand-rolled YAML emitters (the canonical allowlist and the GitOps
 * manifest). No YAML library is used on the write path, so output is byte-stable across
 * library and runtime versions.
 *
 * Scalar rule: a string is written plain when a YAML 1.1 *and* a YAML 1.2 (core schema)
 * reader both read it back as that same string; otherwise it is double-quoted with escapes.
 * Both versions are checked because cluster-side readers differ (go-yaml v2 behind
 * `sigs.k8s.io/yaml` is YAML 1.1: `yes`, `on`, `0777`, `1_000` are not strings there).
 *
 * @module
 */

/** Characters allowed anywhere in a plain scalar we write (a deliberately small set). */
const PLAIN_CHARS = /^[A-Za-z0-9._\/][A-Za-z0-9._\/:@+=-]*$/;

const SIMPLE = /^[a-z0-9.-]+$/;

/** Plain scalars that YAML 1.1 or 1.2 resolve to null or a boolean. */
const RESERVED_WORDS = new Set([
  "~",
  "null",
  "Null",
  "NULL",
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "true",
  "True",
  "TRUE",
  "false",
  "False",
  "FALSE",
  "on",
  "On",
  "ON",
  "off",
  "Off",
  "OFF",
]);

/**
 * Plain scalars that YAML 1.1 or 1.2 resolve to a number: decimal, octal (`0o17`, `017`),
 * hex, binary, underscores (1.1), sexagesimal (1.1, `1:20`), floats and exponents, `.inf`,
 * `.nan`, and what lenient 1.1 readers take for floats (`.`, `e8`, `1.`). Deliberately broad:
 * a false positive only costs a pair of quotes.
 */
const NUMBER_LIKE =
  /^[-+]?(0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|[0-9_]*\.?[0-9_]*([eE][-+]?[0-9]+)?|\.(inf|Inf|INF)|\.(nan|NaN|NAN))$/;

/**
 * Plain scalars that YAML 1.1 resolves to a timestamp (`2001-12-14`, `2001-12-14t21:59:43.10-05:00`):
 * go-yaml v2 behind `sigs.k8s.io/yaml` would not read them back as strings.
 */
const TIMESTAMP_LIKE = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t]|$)/;

/**
 * True when `s` may be written as a plain (unquoted) scalar and is read back as the same
 * string by YAML 1.1 and 1.2 readers.
 *
 * @example
 * ```ts
 * import { isPlainSafe } from "./yaml_emit.ts";
 * isPlainSafe("api.github.com"); // true
 * isPlainSafe("true"); // false
 * isPlainSafe("1e5"); // false
 * ```
 */
export function isPlainSafe(s: string): boolean {
  // Fast path for the common case (host names): starts with a letter, only [a-z0-9.-].
  const c0 = s.charCodeAt(0);
  // (`e8` is the one number-like form that starts with a letter.)
  if (c0 >= 97 && c0 <= 122 && c0 !== 101 && SIMPLE.test(s)) return !RESERVED_WORDS.has(s);
  if (!PLAIN_CHARS.test(s) || s.endsWith(":")) return false;
  if (RESERVED_WORDS.has(s) || NUMBER_LIKE.test(s) || TIMESTAMP_LIKE.test(s)) return false;
  return true;
}

/**
 * Writes a string as a YAML double-quoted scalar (JSON-compatible escapes for `"`, `\`
 * and control characters; also escapes U+0085, U+2028, U+2029 and U+FEFF, which some
 * readers treat as line breaks or byte-order marks).
 *
 * @example
 * ```ts
 * import { doubleQuoted } from "./yaml_emit.ts";
 * doubleQuoted('a"b'); // "\"a\\\"b\""
 * ```
 */
export function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      out += "\\x" + c.toString(16).padStart(2, "0");
    } else if (c === 0x2028 || c === 0x2029 || c === 0xfeff) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else out += ch;
  }
  return out + '"';
}

/**
 * Writes a string scalar: plain when {@link isPlainSafe}, else double-quoted.
 *
 * @example
 * ```ts
 * import { scalar } from "./yaml_emit.ts";
 * scalar("my-agent"); // "my-agent"
 * scalar("true"); // "\"true\""
 * ```
 */
export function scalar(s: string): string {
  return isPlainSafe(s) ? s : doubleQuoted(s);
}
