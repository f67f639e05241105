/**
 * Name validators shared by every reader and writer: Kubernetes object names and namespaces
 * (RFC 1123 subdomain and label, as the API server checks them) and OCI repository names
 * (the distribution spec's path grammar).
 *
 * @module
 */

/** RFC 1123 label: lowercase alphanumerics and `-`, alphanumeric at both ends (length unchecked). */
export const DNS1123_LABEL_RE: RegExp = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: dot-separated {@link DNS1123_LABEL_RE} labels (length unchecked). */
export const DNS1123_SUBDOMAIN_RE: RegExp =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** OCI repository name: lowercase path components of `[a-z0-9]` joined by `.`, `_`, `__`, `-`+, `/`. */
export const REPOSITORY_RE: RegExp =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** Longest RFC 1123 label (namespace names). */
export const DNS1123_LABEL_MAX = 63;
/** Longest RFC 1123 subdomain (object names). */
export const DNS1123_SUBDOMAIN_MAX = 253;
/** Longest repository name accepted. */
export const REPOSITORY_MAX = 255;

/**
 * True for an RFC 1123 label of at most 63 characters (a namespace name).
 *
 * @example
 * ```ts
 * import { isDnsLabel } from "./names.ts";
 * isDnsLabel("kars-my-agent"); // true
 * isDnsLabel("a.b"); // false
 * ```
 */
export function isDnsLabel(s: unknown): s is string {
  return typeof s === "string" && s.length <= DNS1123_LABEL_MAX && DNS1123_LABEL_RE.test(s);
}

/**
 * True for an RFC 1123 subdomain of at most 253 characters (an object name).
 *
 * @example
 * ```ts
 * import { isDnsSubdomain } from "./names.ts";
 * isDnsSubdomain("my-agent.v2"); // true
 * isDnsSubdomain("My_Agent"); // false
 * ```
 */
export function isDnsSubdomain(s: unknown): s is string {
  return typeof s === "string" && s.length <= DNS1123_SUBDOMAIN_MAX &&
    DNS1123_SUBDOMAIN_RE.test(s);
}

/**
 * True for a valid OCI repository name of at most 255 characters.
 *
 * @example
 * ```ts
 * import { isRepositoryName } from "./names.ts";
 * isRepositoryName("policy/egress-allowlist/web"); // true
 * isRepositoryName("Policy/Web"); // false
 * ```
 */
export function isRepositoryName(s: unknown): s is string {
  return typeof s === "string" && s.length > 0 && s.length <= REPOSITORY_MAX &&
    REPOSITORY_RE.test(s);
}
