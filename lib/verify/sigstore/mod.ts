/**
 * Sigstore bundle verification with cryptography on noble: the public API.
 *
 * @example
 * ```ts
 * import { productionTrustedRoot, verifyBundle } from "./mod.ts";
 * // await verifyBundle(bundleJson, { bytes }, { trustedRoot: productionTrustedRoot(), identity });
 * ```
 *
 * @module
 */
export {
  type ArtifactInput,
  type VerifiedSignature,
  verifyBundle,
  type VerifyBundleOptions,
} from "./verify.ts";
export {
  type CertificateAuthority,
  loadTrustedRoot,
  parseTrustedRoot,
  productionTrustedRoot,
  type TimeRange,
  type TransparencyLog,
  type TrustedRoot,
} from "./trust_root.ts";
export { type VerifyReason } from "./fail.ts";
export { refreshTrustedRoot } from "./tuf.ts";
export { parseBundle, type ParsedBundle } from "./bundle.ts";
