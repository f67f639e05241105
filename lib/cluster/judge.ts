/**
 * One judgement of an `allowlistRef` for the cluster commands: our verdict and the kars
 * controller's predicted verdict (formats.md §8), side by side.
 *
 * Until `verifyBoth` of `lib/verify/controller.ts` (contract C2) is available here, the
 * prediction is derived from our result: the controller accepts keyless legacy signatures only,
 * matches `http(s)` SAN patterns exactly and email patterns exactly or as unanchored `re:`
 * regexes, and reports an invalid or missing signature as `IdentityMismatch`; where it cannot
 * be told (it does not re-hash, it does not check indentation) the prediction is null.
 *
 * @module
 */
import { type AllowlistVerifiedCondition, falseCondition } from "../verify/conditions.ts";
import { isPolicyError, type PolicyError, type SignerPolicy } from "../verify/policy.ts";
import {
  verifyAllowlist,
  type VerifyAllowlistOptions,
  type VerifyResult,
} from "../verify/verdict.ts";

/** Both verdicts on one ref. */
export interface Judgement {
  /** Ours (strict). */
  ours: VerifyResult;
  /** The controller's, predicted; null when it cannot be told. */
  controller: { condition: AllowlistVerifiedCondition } | null;
}

/** A judge: verifies one ref both ways. */
export type Judge = (options: VerifyAllowlistOptions) => Promise<Judgement>;

function controllerSanMatches(pattern: string, san: string): boolean {
  if (/^https?:\/\//i.test(pattern)) return pattern === san;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(san)) return false; // email patterns match email SANs only
  if (pattern.startsWith("re:")) {
    try {
      return new RegExp(pattern.slice(3), "u").test(san);
    } catch {
      return false;
    }
  }
  return pattern === san;
}

/**
 * The controller's verdict predicted from ours (see the module doc).
 *
 * @example
 * ```ts
 * import { predictFromOurs } from "./judge.ts";
 * import { falseCondition } from "../verify/conditions.ts";
 * predictFromOurs({ condition: falseCondition("SignatureVerifyFailed", "x"), verdict: true, signatures: [] },
 *   { reason: "SignerPolicyMissing", message: "none" })?.condition.reason; // "IdentityMismatch"
 * ```
 */
export function predictFromOurs(
  ours: VerifyResult,
  policy: SignerPolicy | PolicyError,
): { condition: AllowlistVerifiedCondition } | null {
  const c = ours.condition;
  if (c.status === "Unknown") return null;
  if (c.status === "False") {
    if (c.reason === "SignatureVerifyFailed") {
      return { condition: falseCondition("IdentityMismatch", `no valid signature: ${c.message}`) };
    }
    if (c.reason === "DigestMismatch" || c.reason === "CanonicalFormViolation") return null;
    return { condition: c };
  }
  if (isPolicyError(policy)) return { condition: c };
  const s = ours.signer;
  if (!s) return null;
  if (s.kind === "key") {
    return {
      condition: falseCondition(
        "IdentityMismatch",
        `signed by key ${s.keyId}: the kars controller accepts only keyless signatures`,
      ),
    };
  }
  if (s.format === "bundle") {
    return {
      condition: falseCondition(
        "IdentityMismatch",
        "signed as a Sigstore bundle only: the kars controller reads the legacy .sig layout",
      ),
    };
  }
  const ok = policy.fulcioIssuers.includes(s.issuer) &&
    policy.sanPatterns.some((p) => controllerSanMatches(p.source, s.san));
  if (!ok) {
    return {
      condition: falseCondition(
        "IdentityMismatch",
        `signer ${s.san} matches the SignerPolicy only through a glob or anchored regex; the kars controller matches http(s) SANs exactly`,
      ),
    };
  }
  return { condition: c };
}

/**
 * The default judge: our verdict, and the controller's predicted from it.
 *
 * @example
 * ```ts
 * import { judgeBoth } from "./judge.ts";
 * // const { ours, controller } = await judgeBoth({ ref, policy, trustedRoot, cache });
 * ```
 */
export const judgeBoth: Judge = async (options) => {
  const ours = await verifyAllowlist(options);
  return { ours, controller: predictFromOurs(ours, options.policy) };
};
