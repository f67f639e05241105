/**
 * The SignerPolicy (formats.md §5) as a value, and matching against it: who may sign an
 * egress allowlist — Fulcio issuers × SAN patterns for keyless signatures, pinned public keys
 * for key signatures. Reading it (ConfigMap, environment) is in `policy_parse.ts`.
 *
 * SAN patterns: `re:<regex>` is an anchored regular expression in RE2 syntax (the Rust
 * `regex` crate's: no backreferences or lookaround), matched by `re2js` in linear time; any
 * other pattern is a literal in which `*` matches any run of characters (including `/`), `?`
 * exactly one character, and every other character only itself, matched without
 * backtracking. Matching lives in `san_match.ts`, with its limits (pattern and SAN length,
 * number of patterns).
 *
 * @module
 */
import { bytesEqual } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import {
  compileSanPattern as compileMatcher,
  type CompileSanPatternOptions,
  compileSanPatterns,
  exactSanMatcher,
  type SanMatcher,
} from "./san_match.ts";

/** One compiled SAN pattern (whole-SAN match; see `san_match.ts`). */
export interface SanPattern extends SanMatcher {
  /**
   * The same matcher under its former name (it used to be a `RegExp`).
   *
   * @deprecated use {@link SanMatcher.test} on the pattern itself.
   */
  regex: { test(san: string): boolean };
}

/** Algorithm of a pinned public key. */
export type PublicKeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa";

/** One pinned public key from `publicKeys`. */
export interface PolicyKey {
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Key algorithm (and curve). */
  algorithm: PublicKeyAlgorithm;
  /** First 16 hex digits of SHA-256(SPKI DER): the `key:` signer id of issue 6. */
  keyId: string;
}

/** A parsed, validated SignerPolicy. */
export interface SignerPolicy {
  /** Accepted OIDC issuer URLs (exact match). */
  fulcioIssuers: string[];
  /** Accepted certificate SAN patterns. */
  sanPatterns: SanPattern[];
  /** Pinned public keys accepted for key / KMS signatures. */
  publicKeys: PolicyKey[];
  /**
   * Registries (`host[:port]`, exact) an allowlistRef may name (`data.registries`, ours; the
   * kars controller does not read it). Absent: any registry but link-local/metadata ones.
   */
  registries?: string[];
  /** Where the policy came from: the ConfigMap or the environment. */
  source: "configmap" | "env";
  /** `sha256:<hex>` over a canonical form of the policy: a cache key. */
  hash: string;
}

/** Why no usable policy is available (a verdict, not a fault). */
export interface PolicyError {
  /** `SignerPolicyMissing` or `SignerPolicyMalformed` (formats.md §6). */
  reason: "SignerPolicyMissing" | "SignerPolicyMalformed";
  /** What is wrong, naming the input and the fix. */
  message: string;
  /** Library options that would supply a policy (e.g. `signerPolicy`), for the CLI to name. */
  fixOptions?: string[];
}

/** A signer identity as read from a Fulcio certificate. */
export interface CertificateIdentity {
  /** The certificate's Subject Alternative Name (URI or email). */
  san: string;
  /** The OIDC issuer recorded in the certificate. */
  issuer: string;
}

/**
 * The error for a malformed policy: `KarsError("INPUT")` with `details.reason`
 * `SignerPolicyMalformed`, its message naming the source and what is wrong.
 *
 * @example
 * ```ts
 * import { policyMalformed } from "./policy.ts";
 * policyMalformed("ConfigMap", "missing data").details?.reason; // "SignerPolicyMalformed"
 * ```
 */
export function policyMalformed(source: string, what: string): KarsError {
  return new KarsError("INPUT", `signer policy ${source}: ${what}`, {
    details: { reason: "SignerPolicyMalformed" },
  });
}

/**
 * True when `x` is a {@link PolicyError} (rather than a {@link SignerPolicy}).
 *
 * @example
 * ```ts
 * import { isPolicyError } from "./policy.ts";
 * isPolicyError({ reason: "SignerPolicyMissing", message: "none" }); // true
 * ```
 */
export function isPolicyError(x: SignerPolicy | PolicyError): x is PolicyError {
  return (x as PolicyError).reason !== undefined && (x as SignerPolicy).fulcioIssuers === undefined;
}

/**
 * Compiles a SAN pattern as the SignerPolicy reads it: `re:<regex>` must match the whole SAN
 * (RE2 syntax, linear time); anything else is a glob where `*` is any run of characters and
 * `?` one character. The second argument is where the pattern comes from (for messages) or
 * the options of `san_match.ts`'s `compileSanPattern`. Throws `KarsError`
 * (`SignerPolicyMalformed`) on an empty, overlong or invalid pattern.
 *
 * @example
 * ```ts
 * import { compileSanPattern } from "./policy.ts";
 * const p = compileSanPattern("https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main");
 * p.test("https://github.com/acme/gitops/.github/workflows/promote.yml@refs/heads/main"); // true
 * p.test("https://github.com/acme/gitopsX.github/workflows/promote.yml@refs/heads/main"); // false
 * ```
 */
export function compileSanPattern(
  pattern: string,
  source: string | CompileSanPatternOptions = "pattern",
): SanPattern {
  const m = compileMatcher(pattern, typeof source === "string" ? { where: source } : source);
  return { ...m, regex: { test: m.test } };
}

/**
 * A SAN pattern that accepts exactly `san` (no wildcards; needs no regex engine).
 *
 * @example
 * ```ts
 * import { exactSanPattern } from "./policy.ts";
 * exactSanPattern("https://github.com/a/b/.github/workflows/x.yml@refs/heads/main").test(
 *   "https://github.com/a/b/.github/workflows/x.yml@refs/heads/main",
 * ); // true
 * ```
 */
export function exactSanPattern(san: string): SanPattern {
  const m = exactSanMatcher(san);
  return { ...m, regex: { test: m.test } };
}

/**
 * Compiles a SignerPolicy's SAN patterns (each with where it comes from, for messages).
 * Throws `KarsError` (`SignerPolicyMalformed`) on an empty, overlong or invalid pattern, or
 * on too many patterns.
 *
 * @example
 * ```ts
 * import { compilePolicyPatterns } from "./policy.ts";
 * compilePolicyPatterns([{ where: "line 1", text: "*@acme.example" }], "ConfigMap")[0]
 *   .test("dev@acme.example"); // true
 * ```
 */
export function compilePolicyPatterns(
  list: { where: string; text: string }[],
  source: string,
): SanPattern[] {
  return compileSanPatterns(list, { where: source }).map((m) => ({
    ...m,
    regex: { test: m.test },
  }));
}

/**
 * True when the certificate identity is accepted: its issuer is one of `fulcioIssuers`
 * (exact match) and its SAN matches one of `sanPatterns`.
 *
 * @example
 * ```ts
 * import { matchIdentity } from "./policy.ts";
 * import { signerPolicyFromEnv } from "./policy_parse.ts";
 * const policy = signerPolicyFromEnv({
 *   KARS_SIGNER_FULCIO_ISSUERS: "https://token.actions.githubusercontent.com",
 *   KARS_SIGNER_SAN_PATTERNS: "https://github.com/acme/*",
 * });
 * matchIdentity(policy, { san: "https://github.com/acme/x", issuer: "https://token.actions.githubusercontent.com" }); // true
 * ```
 */
export function matchIdentity(policy: SignerPolicy, id: CertificateIdentity): boolean {
  if (typeof id.san !== "string" || typeof id.issuer !== "string") return false;
  if (!policy.fulcioIssuers.includes(id.issuer)) return false;
  return policy.sanPatterns.some((p) => p.test(id.san));
}

/**
 * The pinned key whose SPKI DER equals `spki` (byte for byte), or `undefined`.
 *
 * @example
 * ```ts
 * import { matchKey } from "./policy.ts";
 * import { signerPolicyFromEnv } from "./policy_parse.ts";
 * const policy = signerPolicyFromEnv({ KARS_SIGNER_FULCIO_ISSUERS: "https://a.example", KARS_SIGNER_SAN_PATTERNS: "x" });
 * matchKey(policy, new Uint8Array([1, 2])); // undefined
 * ```
 */
export function matchKey(policy: SignerPolicy, spki: Uint8Array): PolicyKey | undefined {
  return policy.publicKeys.find((k) => bytesEqual(k.spki, spki));
}
