/**
 * What each `AllowlistVerified` reason means and how to fix it — the walkthrough's
 * troubleshooting rows, completed for every reason of formats.md §6, and the meaning of the
 * controller's other two conditions. Shared by `kars egress status`, `audit` and the webhook.
 *
 * @module
 */

/** The fix for a `False` reason of `AllowlistVerified` (undefined for unknown reasons). */
export const REASON_FIXES: Readonly<Record<string, string>> = {
  SignerPolicyMissing:
    "No SignerPolicy ConfigMap on the cluster: install kars-signer-policy in the controller's namespace (see Helm value controller.signerPolicy.enabled)",
  SignerPolicyMalformed:
    "The kars-signer-policy ConfigMap cannot be parsed: fix it (fulcioIssuers and sanPatterns, newline-separated) and check it with kars signer-policy lint",
  IdentityMismatch:
    "Signer identity not allowlisted in SignerPolicy: update the SignerPolicy SAN/issuer allowlist (or sign with an allowed keyless identity; the controller accepts only keyless signatures)",
  InvalidRef:
    "spec.networkPolicy.allowlistRef is malformed (registry without '/', digest sha256:<64 hex>, artifactType application/vnd.kars.egress-allowlist.v1+yaml) or names a registry that is not allowed: re-create it with kars egress (GitOps manifest)",
  Unsigned:
    "No allowlistRef: the inline allowlist is not authoritative; sign it with kars egress in enforce mode, emit the GitOps manifest and commit it",
  Unauthorized:
    "The controller cannot pull the artifact: give it pull access to the registry (imagePullSecret or workload identity)",
  NotFound:
    "The artifact or its signature is not in the registry: check registry/repository/digest, or re-run kars egress to push and sign it",
  DigestMismatch:
    "The registry served bytes that do not hash to the digest: the artifact was tampered with or the registry is broken; re-push with kars egress and investigate",
  SignatureVerifyFailed:
    "No valid signature for this digest: re-sign with kars egress (keyless, with a Rekor entry)",
  CanonicalFormViolation:
    "The artifact is not a canonical allowlist: re-create it with kars egress (do not push hand-made artifacts)",
};

/** Meaning of each condition type and reason the kars controller writes (formats.md §6). */
export const CONDITION_MEANINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  AllowlistVerified: {
    Verified: "the allowlistRef's artifact verified: digest, canonical form and an allowed signer",
    ...Object.fromEntries(Object.entries(REASON_FIXES).map(([k, v]) => [k, v])),
  },
  AllowlistAuthoritative: {
    Verified: "enforcement uses the verified artifact",
    Inline: "no allowlistRef: the inline endpoints are in force",
    StaleLKG: "verification failed: the last known good allowlist is in force",
    FailedClosed: "verification failed and there is no last known good allowlist: egress denied",
  },
  AllowlistDrift: {
    InlineDiffersFromArtifact: "the inline endpoints disagree with the signed artifact",
    InlineCleared: "the inline endpoints were removed after the artifact took over",
  },
};

/**
 * The fix for a reason, or a generic hint.
 *
 * @example
 * ```ts
 * import { fixFor } from "./fixes.ts";
 * fixFor("IdentityMismatch").startsWith("Signer identity"); // true
 * ```
 */
export function fixFor(reason: string): string {
  return REASON_FIXES[reason] ??
    `see the controller's message; run kars egress verify on the same reference for details`;
}
