/**
 * kars-egress: turn an agent sandbox's egress allowlist into a signed,
 * content-addressed OCI artifact and hand the result to GitOps.
 *
 * @module
 */
export { isKarsError, KarsError } from "./lib/errors.ts";
export type { ErrorCode } from "./lib/errors.ts";
export { digestBytes, digestStream, isDigest } from "./lib/digest.ts";
export type { Digest } from "./lib/digest.ts";
