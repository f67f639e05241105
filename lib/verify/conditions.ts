/**
 * The `AllowlistVerified` condition (formats.md §6), as the kars controller reports it.
 *
 * A verdict has status `True` (reason `Verified`) or `False` (one of the reasons below).
 * A transient fault (network, 5xx, timeouts) is NOT a verdict: it is reported with status
 * `Unknown` and reason `TransientError` (or `Error` for an unclassified failure), so a caller
 * never mistakes "could not check" for "checked and refused" — and never for "verified".
 *
 * @module
 */

/** Condition type. */
export const ALLOWLIST_VERIFIED = "AllowlistVerified";

/** Reasons of a `False` verdict, exactly as formats.md §6 lists them. */
export const FALSE_REASONS = [
  "Unsigned",
  "SignerPolicyMissing",
  "SignerPolicyMalformed",
  "InvalidRef",
  "Unauthorized",
  "NotFound",
  "DigestMismatch",
  "SignatureVerifyFailed",
  "IdentityMismatch",
  "CanonicalFormViolation",
] as const;

/** A reason of a `False` verdict. */
export type FalseReason = typeof FALSE_REASONS[number];

/** Reasons of an `Unknown` status (not a verdict). */
export type UnknownReason = "TransientError" | "Error";

/** Any reason the condition may carry. */
export type ConditionReason = "Verified" | FalseReason | UnknownReason;

/** The `AllowlistVerified` condition. */
export type AllowlistVerifiedCondition =
  | { type: "AllowlistVerified"; status: "True"; reason: "Verified"; message: string }
  | { type: "AllowlistVerified"; status: "False"; reason: FalseReason; message: string }
  | { type: "AllowlistVerified"; status: "Unknown"; reason: UnknownReason; message: string };

/**
 * The `True` condition; message exactly `digest=<d>, generation=<n>`.
 *
 * @example
 * ```ts
 * import { verifiedCondition } from "./conditions.ts";
 * verifiedCondition("sha256:" + "a".repeat(64), 3).message; // "digest=sha256:aaa…, generation=3"
 * ```
 */
export function verifiedCondition(digest: string, generation: number): AllowlistVerifiedCondition {
  return {
    type: ALLOWLIST_VERIFIED,
    status: "True",
    reason: "Verified",
    message: `digest=${digest}, generation=${generation}`,
  };
}

/**
 * A `False` condition with one of the §6 reasons.
 *
 * @example
 * ```ts
 * import { falseCondition } from "./conditions.ts";
 * falseCondition("Unsigned", "inline allowlist, no allowlistRef").status; // "False"
 * ```
 */
export function falseCondition(reason: FalseReason, message: string): AllowlistVerifiedCondition {
  if (!(FALSE_REASONS as readonly string[]).includes(reason)) {
    throw new TypeError(`not an AllowlistVerified reason: ${reason}`);
  }
  return { type: ALLOWLIST_VERIFIED, status: "False", reason, message };
}

/**
 * An `Unknown` condition: verification could not be carried out (not a verdict).
 *
 * @example
 * ```ts
 * import { unknownCondition } from "./conditions.ts";
 * unknownCondition("TransientError", "registry unreachable").status; // "Unknown"
 * ```
 */
export function unknownCondition(
  reason: UnknownReason,
  message: string,
): AllowlistVerifiedCondition {
  return { type: ALLOWLIST_VERIFIED, status: "Unknown", reason, message };
}

/**
 * One-line rendering: `AllowlistVerified=True/Verified: digest=…, generation=…`.
 *
 * @example
 * ```ts
 * import { formatCondition, falseCondition } from "./conditions.ts";
 * formatCondition(falseCondition("NotFound", "no such manifest"));
 * // "AllowlistVerified=False/NotFound: no such manifest"
 * ```
 */
export function formatCondition(c: AllowlistVerifiedCondition): string {
  return `${c.type}=${c.status}/${c.reason}: ${c.message}`;
}
