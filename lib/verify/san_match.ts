/**
 * Matching certificate SANs against SignerPolicy patterns in time linear in the SAN.
 *
 * The SAN is chosen by whoever signs, so nothing here backtracks:
 * - a glob (any pattern not starting with `re:`) is matched by the classic two-pointer
 *   algorithm over code points: `*` matches any run of characters (newlines and `/`
 *   included), `?` exactly one code point, every other character only itself. Its cost is
 *   at most (|SAN| + 1) × (|pattern| + 1) steps, and linear in the SAN for a given pattern;
 * - `re:<regex>` is compiled by `re2js` (a port of RE2: automata, no backtracking), so its
 *   syntax is RE2's, which is also the Rust `regex` crate's that the kars controller uses:
 *   no backreferences, no lookaround.
 *
 * The regex engine is loaded on demand ({@link loadSanRegexEngine}, or `loadSignerPolicyAsync`
 * in policy.ts, which loads it when the policy holds a `re:` pattern): a policy of globs
 * never pays for it (its tables cost some 10–25 MB of memory).
 *
 * Limits (refused as `SignerPolicyMalformed`, or — for a SAN — never matched):
 * {@link MAX_SAN_PATTERN_LENGTH}, {@link MAX_SAN_LENGTH}, {@link MAX_SAN_PATTERNS},
 * {@link MAX_REGEX_PROGRAM_SIZE}, {@link MAX_SAN_PATTERNS_TOTAL_LENGTH},
 * {@link MAX_SAN_PATTERNS_TOTAL_SIZE}.
 *
 * @module
 */
import type { RE2JS } from "re2js";
import { KarsError } from "../errors.ts";
import { quoteForMessage, sanitizeMessage } from "../encoding/quote.ts";

/** Longest SAN pattern accepted, in characters (UTF-16 code units). */
export const MAX_SAN_PATTERN_LENGTH = 1024;
/** Longest certificate SAN ever matched, in characters; a longer SAN matches no pattern. */
export const MAX_SAN_LENGTH = 4096;
/** Most SAN patterns in one SignerPolicy. */
export const MAX_SAN_PATTERNS = 1000;
/**
 * Largest compiled `re:` pattern, in RE2 program instructions (about one per literal
 * character; counted repetitions multiply). Keeps compile and match cost per pattern small.
 */
export const MAX_REGEX_PROGRAM_SIZE = 5000;
/** Most characters of all SAN patterns of one policy together (checked before compiling). */
export const MAX_SAN_PATTERNS_TOTAL_LENGTH = 64 * 1024;
/**
 * Largest total size of one policy's compiled patterns (glob tokens plus RE2 instructions).
 * Matching one SAN costs at most about (SAN length + 1) × this many steps.
 */
export const MAX_SAN_PATTERNS_TOTAL_SIZE = 64 * 1024;

/** A compiled SAN pattern. */
export interface SanMatcher {
  /** The pattern as written (`re:...` or a glob). */
  source: string;
  /** `glob` for a literal with `*`/`?`, `regex` for `re:`, `exact` from {@link exactSanMatcher}. */
  kind: "glob" | "regex" | "exact";
  /** Whether a `re:` pattern must match the whole SAN (globs always do). */
  anchored: boolean;
  /** Cost measure: RE2 program instructions, or glob tokens. */
  programSize: number;
  /** True when `san` matches. A SAN longer than the `maxSanLength` option never matches. */
  test(san: string): boolean;
}

/** Options of {@link compileSanPattern}. */
export interface CompileSanPatternOptions {
  /**
   * `re:` patterns must match the whole SAN (default true; ours and formats.md §5). The
   * kars controller's email regexes are unanchored (formats.md §8): pass false for those.
   */
  anchored?: boolean;
  /** Where the pattern comes from, for messages (e.g. `ConfigMap: data.sanPatterns line 3`). */
  where?: string;
  /** SANs longer than this never match (default {@link MAX_SAN_LENGTH}). */
  maxSanLength?: number;
}

/** Step counter for {@link globMatch} (tests use it to show linear cost). */
export interface GlobStats {
  /** Loop iterations of the matcher, accumulated across calls. */
  steps: number;
}

let engine: typeof RE2JS | undefined;

/**
 * Loads the regular-expression engine (`re2js`) used for `re:` patterns; call (and await) it
 * once before compiling a `re:` pattern synchronously. Idempotent.
 *
 * @example
 * ```ts
 * import { compileSanPattern, loadSanRegexEngine } from "./san_match.ts";
 * await loadSanRegexEngine();
 * compileSanPattern("re:ci-[a-z]+@acme\\.example").test("ci-bot@acme.example"); // true
 * ```
 */
export async function loadSanRegexEngine(): Promise<void> {
  engine ??= (await import("re2js")).RE2JS;
}

/**
 * Runs `parse` (a signer-policy parse of `text`) with the regex engine loaded when the policy
 * needs it: loaded first when `text` spells `re:`, and loaded then parsed again when the parse
 * met a `re:` pattern the raw text hid (a YAML or JSON escape such as `\x72e:`).
 *
 * @example
 * ```ts
 * import { withSanRegexEngine } from "./san_match.ts";
 * import { parseSignerPolicy } from "./policy_parse.ts";
 * const text = "fulcioIssuers: https://accounts.google.com\nsanPatterns: re:[a-z]+@acme\\.example\n";
 * await withSanRegexEngine(text, () => parseSignerPolicy(text, "policy.yaml"));
 * ```
 */
export async function withSanRegexEngine<T>(text: string, parse: () => T): Promise<T> {
  if (text.includes("re:")) await loadSanRegexEngine();
  try {
    return parse();
  } catch (e) {
    if (engine !== undefined || !isEngineMissing(e)) throw e;
    await loadSanRegexEngine();
    return parse();
  }
}

function isEngineMissing(e: unknown): boolean {
  return e instanceof KarsError && e.details?.reason === "RegexEngineNotLoaded";
}

/**
 * True when the regular-expression engine is loaded.
 *
 * @example
 * ```ts
 * import { sanRegexEngineLoaded } from "./san_match.ts";
 * typeof sanRegexEngineLoaded(); // "boolean"
 * ```
 */
export function sanRegexEngineLoaded(): boolean {
  return engine !== undefined;
}

const STAR = -1;
const ANY = -2;

function malformed(where: string, what: string): KarsError {
  return new KarsError("INPUT", `signer policy ${where}: ${what}`, {
    details: { reason: "SignerPolicyMalformed" },
  });
}

/**
 * Compiles a glob into tokens: code points, `*` (runs collapsed: `**` is `*`) and `?`.
 *
 * @example
 * ```ts
 * import { compileGlob } from "./san_match.ts";
 * compileGlob("a**?").length; // 3
 * ```
 */
export function compileGlob(pattern: string): Int32Array {
  const out: number[] = [];
  for (const ch of pattern) {
    const t = ch === "*" ? STAR : ch === "?" ? ANY : ch.codePointAt(0)!;
    if (t === STAR && out[out.length - 1] === STAR) continue;
    out.push(t);
  }
  return Int32Array.from(out);
}

/**
 * Whole-string glob match without backtracking (two pointers; on a mismatch after a `*`,
 * only that last `*` absorbs one more character). `pattern` is a string or the tokens of
 * {@link compileGlob}. Pass `stats` to count steps.
 *
 * @example
 * ```ts
 * import { globMatch } from "./san_match.ts";
 * const stats = { steps: 0 };
 * globMatch("https://github.com/*.yml@refs/heads/main", "https://github.com/a/b.yml@refs/heads/main", stats); // true
 * stats.steps > 0; // true
 * ```
 */
export function globMatch(
  pattern: string | Int32Array,
  text: string,
  stats?: GlobStats,
): boolean {
  const p = typeof pattern === "string" ? compileGlob(pattern) : pattern;
  // Walk the text by code point over its UTF-16 indices (no copy of the SAN).
  const n = text.length;
  const width = (i: number) => {
    const c = text.charCodeAt(i);
    return c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
      ? 2
      : 1;
  };
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  let steps = 0;
  let result: boolean | undefined;
  while (ti < n) {
    steps++;
    const tok = pi < p.length ? p[pi] : undefined;
    if (tok === STAR) {
      star = pi++;
      mark = ti;
      continue;
    }
    const w = width(ti);
    if (tok !== undefined && (tok === ANY || tok === text.codePointAt(ti))) {
      pi++;
      ti += w;
    } else if (star >= 0) {
      pi = star + 1;
      mark += width(mark);
      ti = mark;
    } else {
      result = false;
      break;
    }
  }
  if (result === undefined) {
    while (pi < p.length && p[pi] === STAR) {
      steps++;
      pi++;
    }
    result = pi === p.length;
  }
  if (stats) stats.steps += steps;
  return result;
}

/**
 * A matcher that accepts exactly `san` (no wildcards, no engine): for "this very signer".
 *
 * @example
 * ```ts
 * import { exactSanMatcher } from "./san_match.ts";
 * exactSanMatcher("a?b@example.com").test("a?b@example.com"); // true
 * exactSanMatcher("a?b@example.com").test("axb@example.com"); // false
 * ```
 */
export function exactSanMatcher(san: string): SanMatcher {
  return {
    source: san,
    kind: "exact",
    anchored: true,
    programSize: san.length,
    test: (s) => s === san,
  };
}

const UNSUPPORTED = /\(\?[=!]|\(\?<[=!]|\\[1-9]|\\[gk]/;

/**
 * Compiles one SAN pattern (see the module doc for the syntax); a `re:` pattern needs
 * {@link loadSanRegexEngine} to have been awaited. Throws `KarsError("INPUT")`
 * with `details.reason === "SignerPolicyMalformed"` for an empty or overlong pattern, an
 * invalid or unsupported regex (backreferences, lookaround), or one that compiles to more
 * than {@link MAX_REGEX_PROGRAM_SIZE} instructions.
 *
 * @example
 * ```ts
 * import { compileSanPattern, loadSanRegexEngine } from "./san_match.ts";
 * await loadSanRegexEngine();
 * const p = compileSanPattern("https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main");
 * p.test("https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main"); // true
 * compileSanPattern("re:[a-z]+@acme\\.example", { anchored: false }).test("ci-bot@acme.example"); // true
 * ```
 */
export function compileSanPattern(
  pattern: string,
  options: CompileSanPatternOptions = {},
): SanMatcher {
  const where = options.where ?? "pattern";
  const anchored = options.anchored ?? true;
  const maxSan = options.maxSanLength ?? MAX_SAN_LENGTH;
  if (typeof pattern !== "string" || pattern.length === 0) {
    throw malformed(where, "empty SAN pattern");
  }
  if (pattern.length > MAX_SAN_PATTERN_LENGTH) {
    throw malformed(
      where,
      `SAN pattern ${
        quoteForMessage(pattern, 60)
      } is longer than ${MAX_SAN_PATTERN_LENGTH} characters`,
    );
  }
  if (!pattern.startsWith("re:")) {
    const tokens = compileGlob(pattern);
    return {
      source: pattern,
      kind: "glob",
      anchored: true,
      programSize: tokens.length,
      test: (san) => typeof san === "string" && san.length <= maxSan && globMatch(tokens, san),
    };
  }
  const body = pattern.slice(3);
  if (body.length === 0) {
    throw malformed(where, `SAN pattern "re:" has an empty regular expression`);
  }
  if (engine === undefined) {
    throw new KarsError(
      "INTERNAL",
      "the regular-expression engine for re: SAN patterns is not loaded; await loadSanRegexEngine() (or load the policy with loadSignerPolicyAsync) first",
      { details: { reason: "RegexEngineNotLoaded" } },
    );
  }
  let re: RE2JS;
  try {
    re = engine.compile(anchored ? `(?:${body})` : body);
  } catch (e) {
    const why = (e as Error).message.replace(/^error parsing regexp: /, "");
    const hint = UNSUPPORTED.test(body) ? "backreferences and lookaround are not supported; " : "";
    throw malformed(
      where,
      `invalid regular expression in SAN pattern ${quoteForMessage(pattern)}: ${
        sanitizeMessage(why, 120)
      } (${hint}SAN regexes use RE2 syntax, as the Rust regex crate does)`,
    );
  }
  const size = re.programSize();
  if (size > MAX_REGEX_PROGRAM_SIZE) {
    throw malformed(
      where,
      `regular expression in SAN pattern ${
        quoteForMessage(pattern, 60)
      } is too large (${size} RE2 instructions, limit ${MAX_REGEX_PROGRAM_SIZE}); use fewer or smaller counted repetitions`,
    );
  }
  return {
    source: pattern,
    kind: "regex",
    anchored,
    programSize: size,
    test: (san) =>
      typeof san === "string" && san.length <= maxSan &&
      (anchored ? re.testExact(san) : re.test(san)),
  };
}

/**
 * Compiles the SAN patterns of one policy under the policy-wide limits: at most
 * {@link MAX_SAN_PATTERNS} patterns of at most {@link MAX_SAN_PATTERNS_TOTAL_LENGTH}
 * characters together (both checked before anything is compiled), compiling to at most
 * {@link MAX_SAN_PATTERNS_TOTAL_SIZE} in total. `where` names the policy in messages; each
 * item's `where` names its line. Throws like {@link compileSanPattern}.
 *
 * @example
 * ```ts
 * import { compileSanPatterns, loadSanRegexEngine } from "./san_match.ts";
 * await loadSanRegexEngine();
 * const ps = compileSanPatterns([{ text: "re:.*@acme\\.example", where: "line 1" }], { where: "policy" });
 * ps[0].test("bot@acme.example"); // true
 * ```
 */
export function compileSanPatterns(
  items: readonly { text: string; where: string }[],
  options: { where: string; anchored?: boolean; maxSanLength?: number },
): SanMatcher[] {
  if (items.length > MAX_SAN_PATTERNS) {
    throw malformed(
      options.where,
      `${items.length} SAN patterns, more than the ${MAX_SAN_PATTERNS} allowed; merge them into fewer patterns`,
    );
  }
  let length = 0;
  for (const it of items) length += it.text.length;
  if (length > MAX_SAN_PATTERNS_TOTAL_LENGTH) {
    throw malformed(
      options.where,
      `SAN patterns total ${length} characters, more than the ${MAX_SAN_PATTERNS_TOTAL_LENGTH} allowed`,
    );
  }
  const out: SanMatcher[] = [];
  let size = 0;
  for (const it of items) {
    const m = compileSanPattern(it.text, {
      where: it.where,
      anchored: options.anchored,
      maxSanLength: options.maxSanLength,
    });
    size += m.programSize;
    if (size > MAX_SAN_PATTERNS_TOTAL_SIZE) {
      throw malformed(
        options.where,
        `SAN patterns compile to more than ${MAX_SAN_PATTERNS_TOTAL_SIZE} instructions in total (limit reached at ${it.where}); use fewer or simpler patterns`,
      );
    }
    out.push(m);
  }
  return out;
}
