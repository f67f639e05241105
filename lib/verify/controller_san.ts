/**
 * SAN patterns as the kars controller reads them (formats.md §8): an `http(s)://` pattern is
 * an exact URI (a `*` or `?` is a literal character), `re:…` an UNANCHORED regular expression
 * over email SANs (RE2 syntax, linear time), anything else an exact email.
 *
 * @module
 */
import type { SignerPolicy } from "./policy.ts";
import { compileSanPattern, type SanMatcher, sanRegexEngineLoaded } from "./san_match.ts";

/**
 * True when `regex` matches somewhere in `text` (unanchored search, as Rust's
 * `Regex::is_match`). The one place the controller profile runs a regular expression.
 */
function regexFind(regex: string, text: string): boolean {
  let m = regexCache.get(regex);
  if (m === undefined) {
    try {
      // re2js (RE2 = the Rust regex crate's syntax), linear in the SAN: the SAN is chosen by
      // the signer, so no backtracking engine may see it.
      m = compileSanPattern(`re:${regex}`, { anchored: false });
    } catch {
      if (!sanRegexEngineLoaded()) return false; // never reached: the policy loaded it
      m = null; // an expression that does not compile matches nothing
    }
    if (regexCache.size >= 1000) regexCache.clear();
    regexCache.set(regex, m);
  }
  return m !== null && m.test(text);
}

const regexCache = new Map<string, SanMatcher | null>();

// ---- SAN patterns as the controller reads them --------------------------------------------

/** How the controller reads one SAN pattern. */
export type ControllerPatternKind = "uri-exact" | "email-exact" | "email-regex";

/**
 * The controller's reading of a SAN pattern: `http(s)://…` is an exact URI, `re:…` an
 * unanchored regex over email SANs, anything else an exact email.
 *
 * @example
 * ```ts
 * import { controllerPatternKind } from "./controller_san.ts";
 * controllerPatternKind("https://github.com/acme/*"); // "uri-exact"
 * controllerPatternKind("re:@acme\\.example$"); // "email-regex"
 * ```
 */
export function controllerPatternKind(pattern: string): ControllerPatternKind {
  if (pattern.startsWith("https://") || pattern.startsWith("http://")) return "uri-exact";
  if (pattern.startsWith("re:")) return "email-regex";
  return "email-exact";
}

/**
 * True when a certificate SAN is an email address (an rfc822Name), not a URI.
 *
 * @example
 * ```ts
 * import { isEmailSan } from "./controller_san.ts";
 * isEmailSan("dev@acme.example"); // true
 * isEmailSan("https://github.com/acme/x/.github/workflows/a.yml@refs/heads/main"); // false
 * ```
 */
export function isEmailSan(san: string): boolean {
  return !san.includes(":") && /^[^@\s]+@[^@\s]+$/.test(san);
}

/**
 * True when the controller's reading of `pattern` accepts `san`.
 *
 * @example
 * ```ts
 * import { controllerSanMatches } from "./controller_san.ts";
 * const san = "https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main";
 * controllerSanMatches(san, san); // true
 * controllerSanMatches("https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main", san); // false
 * controllerSanMatches("re:@acme\\.example", "dev@acme.example.org"); // true (unanchored)
 * ```
 */
export function controllerSanMatches(pattern: string, san: string): boolean {
  switch (controllerPatternKind(pattern)) {
    case "uri-exact":
      return !isEmailSan(san) && san === pattern;
    case "email-regex":
      return isEmailSan(san) && regexFind(pattern.slice(3), san);
    default:
      return isEmailSan(san) && san === pattern;
  }
}

/**
 * True when the controller accepts the identity: issuer listed (exact) and SAN matched by
 * one pattern under the controller's reading.
 *
 * @example
 * ```ts
 * import { controllerMatchIdentity } from "./controller_san.ts";
 * import { signerPolicyFromEnv } from "./policy_parse.ts";
 * const policy = signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
 *   KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
 * });
 * controllerMatchIdentity(policy, { san: "https://github.com/acme/x",
 *   issuer: "https://token.actions.githubusercontent.com" }); // false: the glob is literal there
 * ```
 */
export function controllerMatchIdentity(
  policy: SignerPolicy,
  id: { san: string; issuer: string },
): boolean {
  if (!policy.fulcioIssuers.includes(id.issuer)) return false;
  return policy.sanPatterns.some((p) => controllerSanMatches(p.source, id.san));
}
