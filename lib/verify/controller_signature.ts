/**
 * The kars controller's judgement of one signature found (formats.md §8): the legacy `.sig`
 * layout only, keyless only (a Fulcio certificate with a Rekor bundle), the payload naming
 * the digest, and the signer read under the controller's SAN rules.
 *
 * @module
 */
import { ANNOTATION_CERTIFICATE, ANNOTATION_REKOR_BUNDLE } from "../cosign/vocabulary.ts";
import { checkSimpleSigningDigest } from "../cosign/simple_signing.ts";
import { quoteForMessage } from "../encoding/quote.ts";
import { isSignatureFault } from "./signature_check.ts";
import { EXACT_SAN_FIX, KEYLESS_ONLY, LEGACY_ONLY, REKOR_REQUIRED } from "./controller_advice.ts";
import { controllerMatchIdentity, controllerPatternKind } from "./controller_san.ts";
import type { Candidate } from "./discover.ts";
import type { AllowlistMaterial } from "./material.ts";
import type { VerifyAllowlistOptions } from "./options.ts";
import type { SignerPolicy } from "./policy.ts";
import type { SignatureReport, SignerIdentity } from "./result.ts";
import { verifyBundle } from "./sigstore/mod.ts";

/**
 * The controller's outcome for one signature candidate: `accepted`, `identity-mismatch` or
 * `invalid` (with the reason it refuses). Throws only faults of the whole run (`TRANSIENT`,
 * `AUTH`).
 *
 * @example
 * ```ts
 * import { controllerCheckCandidate } from "./controller_signature.ts";
 * import type { Candidate } from "./discover.ts";
 * import type { AllowlistMaterial } from "./material.ts";
 * import type { VerifyAllowlistOptions } from "./options.ts";
 * import type { SignerPolicy } from "./policy.ts";
 * declare const c: Candidate, m: AllowlistMaterial, p: SignerPolicy, o: VerifyAllowlistOptions;
 * (await controllerCheckCandidate(c, m, p, o)).outcome; // "accepted" | "identity-mismatch" | "invalid"
 * ```
 */
export async function controllerCheckCandidate(
  c: Candidate,
  material: AllowlistMaterial,
  policy: SignerPolicy,
  options: VerifyAllowlistOptions,
): Promise<SignatureReport> {
  const digest = material.digest;
  const where = c.where;
  if (c.format !== "legacy") {
    return {
      where,
      outcome: "invalid",
      message: `a Sigstore bundle (referrer); ${LEGACY_ONLY}`,
    };
  }
  const a = c.annotations;
  if (!a[ANNOTATION_CERTIFICATE]?.trim()) {
    return { where, outcome: "invalid", message: `a key signature; ${KEYLESS_ONLY}` };
  }
  if (!a[ANNOTATION_REKOR_BUNDLE]?.trim()) {
    return {
      where,
      outcome: "invalid",
      message: `keyless signature without a Rekor bundle; ${REKOR_REQUIRED}`,
    };
  }
  const verifier = options.verifier ?? verifyBundle;
  try {
    const v = await material.verifyLegacyCertificate(c, verifier, {
      trustedRoot: options.trustedRoot,
      ...(options.now ? { now: options.now } : {}),
    });
    if (v.kind !== "certificate" || typeof v.san !== "string" || typeof v.issuer !== "string") {
      return { where, outcome: "invalid", message: "no certificate identity" };
    }
    if (v.tlog !== "verified") {
      return { where, outcome: "invalid", message: "no verified Rekor entry" };
    }
    checkSimpleSigningDigest(c.payload, digest);
    const signer: SignerIdentity = {
      kind: "keyless",
      san: v.san,
      issuer: v.issuer,
      format: "legacy",
      id: `keyless:${v.san}`,
    };
    if (controllerMatchIdentity(policy, { san: v.san, issuer: v.issuer })) {
      return {
        where,
        outcome: "accepted",
        message: `signed by ${v.san} (issuer ${v.issuer})`,
        signer,
      };
    }
    return {
      where,
      outcome: "identity-mismatch",
      message:
        `signer ${v.san} (issuer ${v.issuer}) is not accepted under the controller's reading ` +
        `of the SignerPolicy (${identityHint(policy, v.san, v.issuer)})`,
      signer,
    };
  } catch (e) {
    if (!isSignatureFault(e)) throw e;
    return { where, outcome: "invalid", message: (e as Error).message };
  }
}

function identityHint(policy: SignerPolicy, san: string, issuer: string): string {
  if (!policy.fulcioIssuers.includes(issuer)) return `issuer ${issuer} is not in fulcioIssuers`;
  const ours = policy.sanPatterns.find((p) => p.test(san));
  if (ours) {
    const kind = controllerPatternKind(ours.source);
    const reading = kind === "uri-exact"
      ? "an exact string there (no globs)"
      : kind === "email-regex"
      ? "a regular expression over email SANs only there"
      : "an exact email there";
    return `our reading matches it through ${quoteForMessage(ours.source)}, which is ${reading}; ` +
      `${EXACT_SAN_FIX} ${quoteForMessage(san)}`;
  }
  return "no sanPatterns entry names it";
}
