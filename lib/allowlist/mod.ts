/**
 * The allowlist in its canonical form, the bytes that get signed: host normalisation
 * (lowercase, punycode, default port 443), {@link canonicalizeEndpoints} and
 * {@link emitCanonicalAllowlist} / {@link parseCanonicalAllowlist} (strict), the generation
 * rule, approve/deny edits, and the diff between two allowlists.
 *
 * @example
 * ```ts
 * import { canonicalizeEndpoints, diffAllowlists, normaliseHost } from "jsr:@kars/egress/allowlist";
 *
 * normaliseHost("münchen.de"); // "xn--mnchen-3ya.de"
 * const before = canonicalizeEndpoints([{ host: "a.example" }]);
 * const after = canonicalizeEndpoints([{ host: "a.example", port: 8443 }]);
 * console.log(diffAllowlists(before, after).added); // [{ host: "a.example", port: 8443 }]
 * ```
 *
 * @module
 */

export {
  canonicalizeEndpoints,
  emitCanonicalAllowlist,
  parseCanonicalAllowlist,
} from "./canonical.ts";
export { applyApproveDeny, chooseGeneration } from "./edit.ts";
export type { Allowlist, EmitOptions, Endpoint } from "./canonical.ts";
export { diffAllowlists, renderDiffText } from "./diff.ts";
export type { AllowlistDiff } from "./diff.ts";
export { normaliseHost, parseHostPort } from "./host.ts";
