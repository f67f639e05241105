/**
 * Parsing of registry references (`registry/repository[:tag][@digest]`) with the
 * validation rules of the Docker/OCI distribution grammar.
 *
 * @module
 */
import { type Digest, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { parseRegistryHost } from "./registry_host.ts";
import { REPOSITORY_RE as MODEL_REPOSITORY_RE } from "../model/names.ts";

/** A parsed reference. */
export interface Reference {
  /** `host[:port]`, lower-cased. */
  registry: string;
  /** Repository path, e.g. `policy/egress-allowlist/web`. */
  repository: string;
  /** Tag, when given. */
  tag?: string;
  /** Digest, when given. */
  digest?: Digest;
}

/**
 * Repository name grammar of the distribution spec.
 *
 * @example
 * ```ts
 * import { REPOSITORY_RE } from "./reference.ts";
 * REPOSITORY_RE.test("policy/egress-allowlist/web"); // true
 * ```
 */
export const REPOSITORY_RE: RegExp = MODEL_REPOSITORY_RE;
/**
 * Tag grammar of the distribution spec.
 *
 * @example
 * ```ts
 * import { TAG_RE } from "./reference.ts";
 * TAG_RE.test("latest"); // true
 * ```
 */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * True when `host` is a valid strict `host[:port]` (names, dotted-decimal IPv4, bracketed
 * IPv6; see {@link parseRegistryHost}: no userinfo, path, or numeric host spellings).
 *
 * @example
 * ```ts
 * import { isRegistryHost } from "./reference.ts";
 * isRegistryHost("127.0.0.1:5000"); // true
 * ```
 */
export function isRegistryHost(host: string): boolean {
  try {
    parseRegistryHost(host, "registry");
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a repository name; throws `KarsError("INPUT")` naming the rule broken.
 *
 * @example
 * ```ts
 * import { validateRepository } from "./reference.ts";
 * validateRepository("policy/egress-allowlist/web");
 * ```
 */
export function validateRepository(repository: string): void {
  if (repository.length === 0 || repository.length > 255 || !REPOSITORY_RE.test(repository)) {
    throw new KarsError(
      "INPUT",
      `invalid repository name ${
        JSON.stringify(repository)
      }: use lower-case path components of [a-z0-9] separated by '.', '_', '__' or '-', joined by '/'`,
    );
  }
}

/**
 * Checks a tag; throws `KarsError("INPUT")` when invalid.
 *
 * @example
 * ```ts
 * import { validateTag } from "./reference.ts";
 * validateTag("latest");
 * ```
 */
export function validateTag(tag: string): void {
  if (!TAG_RE.test(tag)) {
    throw new KarsError(
      "INPUT",
      `invalid tag ${
        JSON.stringify(tag)
      }: a tag is 1-128 characters of [A-Za-z0-9_.-] and does not start with '.' or '-'`,
    );
  }
}

/**
 * Parses `registry/repository[:tag][@digest]`. The registry part is mandatory (no Docker Hub
 * defaulting): the first path component must look like a host (contain `.` or `:`, or be
 * `localhost`).
 *
 * @example
 * ```ts
 * import { parseReference } from "./reference.ts";
 * parseReference("127.0.0.1:5000/policy/egress-allowlist/web:latest");
 * // { registry: "127.0.0.1:5000", repository: "policy/egress-allowlist/web", tag: "latest" }
 * ```
 */
export function parseReference(ref: string): Reference {
  const bad = (why: string) =>
    new KarsError(
      "INPUT",
      `invalid reference ${
        JSON.stringify(ref)
      }: ${why}; expected registry/repository[:tag][@sha256:<hex>]`,
    );
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad(`${JSON.stringify(d)} is not a sha256 digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf("/");
  if (slash <= 0) throw bad("no registry host");
  const registry = rest.slice(0, slash);
  if (
    !isRegistryHost(registry) ||
    !(registry.includes(".") || registry.includes(":") || registry === "localhost")
  ) {
    throw bad(`${JSON.stringify(registry)} is not a registry host`);
  }
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(":");
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`${JSON.stringify(tag)} is not a valid tag`);
  }
  if (!REPOSITORY_RE.test(path) || path.length > 255) {
    throw bad(`${JSON.stringify(path)} is not a valid repository name`);
  }
  const out: Reference = { registry: registry.toLowerCase(), repository: path };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/**
 * Formats a {@link Reference} back to a string.
 *
 * @example
 * ```ts
 * import { formatReference } from "./reference.ts";
 * formatReference({ registry: "r.io", repository: "a/b", tag: "v1" }); // "r.io/a/b:v1"
 * ```
 */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ""}${
    r.digest ? `@${r.digest}` : ""
  }`;
}
