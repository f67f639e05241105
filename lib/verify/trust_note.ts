/**
 * The trust material the kars controller uses: only the Sigstore public-good root. A
 * prediction made against other material carries a note saying so.
 *
 * @module
 */
import { toHex } from "../encoding/bytes.ts";
import type { VerifyResult } from "./result.ts";
import { productionTrustedRoot, type TrustedRoot } from "./sigstore/mod.ts";

/** `isPublicGoodRoot` answers, per loaded root object (a root lives as long as its verifier). */
const publicGood = new WeakMap<TrustedRoot, boolean>();

function rootFingerprints(root: TrustedRoot): { cas: Set<string>; logs: Set<string> } {
  const cas = new Set<string>();
  for (const ca of root.certificateAuthorities ?? []) {
    for (const c of ca.certChain ?? []) cas.add(toHex(c.raw));
  }
  const logs = new Set<string>((root.tlogs ?? []).map((t) => toHex(t.logId)));
  return { cas, logs };
}

/**
 * True when `root` trusts nothing beyond the Sigstore public-good root embedded here (every
 * Fulcio certificate and Rekor log it lists is a public-good one), as the kars controller does.
 *
 * @example
 * ```ts
 * import { isPublicGoodRoot } from "./trust_note.ts";
 * import { productionTrustedRoot } from "./sigstore/mod.ts";
 * isPublicGoodRoot(productionTrustedRoot()); // true
 * ```
 */
export function isPublicGoodRoot(root: TrustedRoot): boolean {
  const prod = productionTrustedRoot();
  if (root === prod) return true;
  // Asked per verdict (ours and the controller's) with the same loaded root: once per root.
  let answer = publicGood.get(root);
  if (answer === undefined) {
    try {
      const a = rootFingerprints(root);
      const b = rootFingerprints(prod);
      answer = [...a.cas].every((x) => b.cas.has(x)) && [...a.logs].every((x) => b.logs.has(x));
    } catch {
      answer = false;
    }
    publicGood.set(root, answer);
  }
  return answer;
}

/**
 * The note added when the trust material is not the public-good root.
 *
 * @example
 * ```ts
 * import { TRUST_ROOT_NOTE } from "./trust_note.ts";
 * TRUST_ROOT_NOTE.includes("public-good"); // true
 * ```
 */
export const TRUST_ROOT_NOTE: string =
  "the trust material used differs from the Sigstore public-good root the kars controller trusts: " +
  "there, certificates from another Fulcio or entries from another Rekor are refused " +
  "(IdentityMismatch)";

/**
 * The notes for a prediction against `root`: {@link TRUST_ROOT_NOTE} unless it is the
 * public-good root.
 *
 * @example
 * ```ts
 * import { trustNotes } from "./trust_note.ts";
 * import { productionTrustedRoot } from "./sigstore/mod.ts";
 * trustNotes(productionTrustedRoot()); // []
 * ```
 */
export function trustNotes(root: TrustedRoot): string[] {
  return isPublicGoodRoot(root) ? [] : [TRUST_ROOT_NOTE];
}

/**
 * `r` with `notes` appended (the same object when there are none).
 *
 * @example
 * ```ts
 * import { withNotes } from "./trust_note.ts";
 * import { falseResult } from "./result.ts";
 * withNotes(falseResult("Unsigned", "none"), ["n"]).notes; // ["n"]
 * ```
 */
export function withNotes(r: VerifyResult, notes: string[]): VerifyResult {
  return notes.length === 0 ? r : { ...r, notes: [...(r.notes ?? []), ...notes] };
}
