/**
 * Explains a SignerPolicy under both readings: ours (formats.md §5: anchored `re:`, globs
 * over any SAN, `publicKeys` for key signatures) and the kars controller's (formats.md §8:
 * exact `http(s)` URIs, email patterns exact or unanchored `re:`, `publicKeys` ignored). An
 * entry the two read differently is flagged with what the difference means and the fix.
 *
 * @module
 */
import { controllerPatternKind } from "./controller_san.ts";
import type { SignerPolicy } from "./policy.ts";

/** One linted entry of the policy. */
export interface LintEntry {
  /** Which data key and entry (`sanPatterns[2]`, `fulcioIssuers[1]`, `publicKeys`). */
  where: string;
  /** The entry as written (for `publicKeys`: the number of keys). */
  value: string;
  /** How our verifier reads it. */
  ours: string;
  /** How the kars controller reads it. */
  controller: string;
  /** True when both readings accept the same signers. */
  consistent: boolean;
  /** What the difference means (when not consistent). */
  problem?: string;
  /** What to change (when not consistent). */
  fix?: string;
}

/** The lint of one policy. */
export interface PolicyLint {
  /** Every entry, in policy order: issuers, SAN patterns, then publicKeys. */
  entries: LintEntry[];
  /** True when the controller reads every entry as we do. */
  consistent: boolean;
}

const GLOB_CHARS = /[*?]/;

function looksLikeUriRegex(body: string): boolean {
  return body.includes("://") || /^\^?\(?\??:?https?/.test(body);
}

function anchored(body: string): boolean {
  return body.startsWith("^") && body.endsWith("$") && !body.endsWith("\\$") &&
    !body.includes("|");
}

function anchoredForm(body: string): string {
  const core = body.replace(/^\^/, "").replace(/([^\\])\$$/, "$1");
  return core.includes("|") ? `re:^(?:${core})$` : `re:^${core}$`;
}

/**
 * Lints one SAN pattern under both readings.
 *
 * @example
 * ```ts
 * import { lintSanPattern } from "./policy_lint.ts";
 * lintSanPattern("https://github.com/acme/*", 1).consistent; // false
 * lintSanPattern("https://github.com/acme/gitops/.github/workflows/a.yml@refs/heads/main", 1).consistent; // true
 * ```
 */
export function lintSanPattern(pattern: string, index: number): LintEntry {
  const where = `sanPatterns[${index}]`;
  const kind = controllerPatternKind(pattern);
  const base = { where, value: pattern };
  if (pattern.startsWith("re:")) {
    const body = pattern.slice(3);
    const ours = `anchored regular expression ^(?:${body})$ over any SAN (URI or email)`;
    const controller = `unanchored regular expression over email SANs only (Rust regex syntax)`;
    if (looksLikeUriRegex(body)) {
      return {
        ...base,
        ours,
        controller,
        consistent: false,
        problem: "a regular expression for URI SANs: the controller applies re: to email SANs " +
          "only, so it never accepts a workflow (URI) identity through it",
        fix: "list each exact https:// SAN instead",
      };
    }
    if (!anchored(body)) {
      return {
        ...base,
        ours,
        controller,
        consistent: false,
        problem: "not anchored: the controller accepts any email SAN that merely contains a " +
          "match, a wider set than ours",
        fix: `anchor it, as we read it: ${anchoredForm(body)}`,
      };
    }
    return {
      ...base,
      ours,
      controller,
      consistent: true,
    };
  }
  if (kind === "uri-exact") {
    const ours = GLOB_CHARS.test(pattern)
      ? "glob over any SAN (* = any run of characters, ? = one character)"
      : "exact string";
    const controller = "exact URI SAN (* and ? are literal characters)";
    if (GLOB_CHARS.test(pattern)) {
      return {
        ...base,
        ours,
        controller,
        consistent: false,
        problem: "a glob the controller reads literally: it accepts no real signer through it",
        fix: "list each signer's exact SAN (e.g. each workflow file and ref) on its own line",
      };
    }
    return { ...base, ours, controller, consistent: true };
  }
  // other patterns: emails only, exact, on the controller
  const ours = GLOB_CHARS.test(pattern)
    ? "glob over any SAN (* = any run of characters, ? = one character)"
    : "exact string";
  const controller = "exact email SAN (* and ? are literal characters)";
  if (GLOB_CHARS.test(pattern)) {
    return {
      ...base,
      ours,
      controller,
      consistent: false,
      problem: "a glob the controller reads literally: it accepts no real signer through it",
      fix: `list each exact email, or use an anchored regular expression (re:^…$)`,
    };
  }
  if (!/^[^@\s:]+@[^@\s]+$/.test(pattern)) {
    return {
      ...base,
      ours,
      controller,
      consistent: false,
      problem: pattern.includes("://")
        ? "a URI that is not http(s): the controller matches such patterns against email SANs only"
        : "not an email address: the controller matches it against email SANs only",
      fix: "use the exact https:// SAN or email of the signer",
    };
  }
  return { ...base, ours, controller, consistent: true };
}

/**
 * Lints a parsed SignerPolicy: issuers (read alike), every SAN pattern, and `publicKeys`
 * (ignored by the controller).
 *
 * @example
 * ```ts
 * import { lintSignerPolicy } from "./policy_lint.ts";
 * import { signerPolicyFromEnv } from "./policy_parse.ts";
 * const lint = lintSignerPolicy(signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
 *   KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
 * }));
 * lint.consistent; // false
 * ```
 */
export function lintSignerPolicy(policy: SignerPolicy): PolicyLint {
  const entries: LintEntry[] = [];
  policy.fulcioIssuers.forEach((issuer, i) =>
    entries.push({
      where: `fulcioIssuers[${i + 1}]`,
      value: issuer,
      ours: "exact OIDC issuer",
      controller: "exact OIDC issuer",
      consistent: true,
    })
  );
  policy.sanPatterns.forEach((p, i) => entries.push(lintSanPattern(p.source, i + 1)));
  if (policy.publicKeys.length > 0) {
    entries.push({
      where: "publicKeys",
      value: `${policy.publicKeys.length} key(s): ${
        policy.publicKeys.map((k) => k.keyId).join(", ")
      }`,
      ours: "accepted for key and KMS signatures",
      controller: "ignored: only keyless signatures are accepted",
      consistent: false,
      problem: "key and KMS signatures verify here but are refused by the controller " +
        "(IdentityMismatch)",
      fix: "sign keylessly and list the signer's exact SAN; drop publicKeys for a cluster",
    });
  }
  return { entries, consistent: entries.every((e) => e.consistent) };
}

/**
 * The signing-time warnings for a policy the controller reads differently: one line per
 * entry, saying what it means and the fix.
 *
 * @example
 * ```ts
 * import { controllerPolicyWarnings } from "./policy_lint.ts";
 * import { signerPolicyFromEnv } from "./policy_parse.ts";
 * controllerPolicyWarnings(signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
 *   KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
 * }), "policy.yaml").length; // 1
 * ```
 */
export function controllerPolicyWarnings(policy: SignerPolicy, source: string): string[] {
  return lintSignerPolicy(policy).entries.filter((e) => !e.consistent).map((e) =>
    `⚠ SignerPolicy ${source} ${e.where} (${e.value}): the kars controller reads it ` +
    `differently: ${e.problem}; ${e.fix}`
  );
}
