/**
 * What to tell a user about the kars controller's refusals: the reasons its per-signature
 * outcomes carry, the fixes a `False` prediction calls for, and the signing-time warnings for
 * signers and formats it refuses.
 *
 * @module
 */
import type { VerifyResult } from "./result.ts";

/**
 * Why the controller refuses a bundle-only signature.
 *
 * @example
 * ```ts
 * import { LEGACY_ONLY } from "./controller_advice.ts";
 * LEGACY_ONLY.includes(".sig"); // true
 * ```
 */
export const LEGACY_ONLY = "the kars controller reads only the legacy .sig signatures";
/**
 * Why the controller refuses a keyless signature without a Rekor bundle.
 *
 * @example
 * ```ts
 * import { REKOR_REQUIRED } from "./controller_advice.ts";
 * `keyless signature without a Rekor bundle; ${REKOR_REQUIRED}`;
 * ```
 */
export const REKOR_REQUIRED = "the kars controller requires one";
/**
 * The fix for a SAN the controller reads differently.
 *
 * @example
 * ```ts
 * import { EXACT_SAN_FIX } from "./controller_advice.ts";
 * `${EXACT_SAN_FIX} "https://github.com/acme/x"`;
 * ```
 */
export const EXACT_SAN_FIX = "list the exact SAN";

/**
 * Why the controller refuses a key signature.
 *
 * @example
 * ```ts
 * import { KEYLESS_ONLY } from "./controller_advice.ts";
 * KEYLESS_ONLY.includes("keyless"); // true
 * ```
 */
export const KEYLESS_ONLY: string =
  "the kars controller accepts only keyless signatures (a Fulcio certificate with a Rekor entry); " +
  "key and KMS signatures, and the SignerPolicy publicKeys, are ignored there";

/** What to do about a controller refusal. */
export type ControllerFix = "keyless" | "legacy-format" | "rekor" | "exact-san" | "issuer";

/**
 * The fixes a controller `False` verdict calls for, read from its per-signature outcomes:
 * sign keylessly, sign in the legacy `.sig` format, keep the Rekor entry, list exact SANs, or
 * list the issuer.
 *
 * @example
 * ```ts
 * import { controllerFixes } from "./controller_advice.ts";
 * import { falseCondition } from "./conditions.ts";
 * controllerFixes({ condition: falseCondition("IdentityMismatch", "x"), verdict: true,
 *   signatures: [{ where: "l0", outcome: "invalid", message: "a key signature" }] }); // []
 * ```
 */
export function controllerFixes(r: VerifyResult): ControllerFix[] {
  const out = new Set<ControllerFix>();
  if (r.condition.status !== "False" || r.condition.reason !== "IdentityMismatch") return [];
  for (const s of r.signatures) {
    if (s.message.includes(KEYLESS_ONLY)) out.add("keyless");
    else if (s.message.includes(LEGACY_ONLY)) out.add("legacy-format");
    else if (s.message.includes(REKOR_REQUIRED)) out.add("rekor");
    else if (s.outcome === "identity-mismatch") {
      out.add(s.message.includes("is not in fulcioIssuers") ? "issuer" : "exact-san");
    }
  }
  if (r.signatures.length === 0) out.add("keyless");
  return [...out];
}

/**
 * The signing-time warning for a key or KMS signer (`keyRef`: a key file path or an
 * `azurekms://` URI): the kars controller refuses such signatures.
 *
 * @example
 * ```ts
 * import { controllerSignerWarning } from "./controller_advice.ts";
 * controllerSignerWarning("cosign.key").includes("keyless"); // true
 * ```
 */
export function controllerSignerWarning(keyRef: string): string {
  const what = keyRef.startsWith("azurekms://") ? "an Azure Key Vault key" : "a key file";
  return `⚠ signing with ${what}: the kars controller accepts only keyless signatures, so a ` +
    "cluster will refuse this artifact (AllowlistVerified=False/IdentityMismatch) whatever the " +
    "SignerPolicy says; sign keylessly (an OIDC identity through Fulcio, with a Rekor entry) " +
    "and list that identity's exact SAN in the SignerPolicy";
}

/**
 * The signing-time warning for a bundle-only signature (the controller reads `.sig` only).
 *
 * @example
 * ```ts
 * import { CONTROLLER_FORMAT_WARNING } from "./controller_advice.ts";
 * CONTROLLER_FORMAT_WARNING.startsWith("⚠"); // true
 * ```
 */
export const CONTROLLER_FORMAT_WARNING: string =
  "⚠ storing only a Sigstore bundle: the kars controller reads only the legacy " +
  "sha256-<hex>.sig signatures, so a cluster will refuse this artifact " +
  "(AllowlistVerified=False/IdentityMismatch); store the legacy format too";
