/**
 * One repository of a registry as the distribution API addresses it: the `/v2/<name>/…`
 * paths, the token scopes a request needs, and `Link` pagination. Shared by the parts of
 * `RegistryTarget` (blob upload, manifests, tags).
 *
 * @module
 */
import { quoteForMessage } from "../encoding/quote.ts";
import { KarsError } from "../errors.ts";
import { repositoryScope } from "./auth.ts";
import type { RegistryClient } from "./client.ts";

/** The kinds of path under `/v2/<repository>/`. */
export type EndpointKind = "blobs" | "manifests" | "tags" | "referrers";

/**
 * A repository of a registry reached through a (shareable) {@link RegistryClient}.
 *
 * @example
 * ```ts
 * import { RegistryClient } from "./client.ts";
 * import { RepositoryEndpoint } from "./endpoint.ts";
 * const ep = new RepositoryEndpoint(new RegistryClient({ registry: "127.0.0.1:5000" }), "a/b");
 * ep.path("manifests", "latest"); // "/v2/a/b/manifests/latest"
 * ep.scopes(); // ["repository:a/b:pull"]
 * ```
 */
export class RepositoryEndpoint {
  /** The HTTP client of the registry. */
  readonly client: RegistryClient;
  /** Repository path, e.g. `policy/egress-allowlist/web`. */
  readonly repository: string;
  /** `host[:port]/repository`, for messages. */
  readonly location: string;
  #push = false;

  /**
   * Addresses `repository` through `client` (the name is not validated here).
   *
   * @param client the registry's HTTP client
   * @param repository the repository path
   */
  constructor(client: RegistryClient, repository: string) {
    this.client = client;
    this.repository = repository;
    this.location = `${client.registry}/${repository}`;
  }

  /**
   * Declares that the repository will be written: every token is then requested with
   * `pull,push`, saving a second token round trip.
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * import { RepositoryEndpoint } from "./endpoint.ts";
   * const ep = new RepositoryEndpoint(new RegistryClient({ registry: "127.0.0.1:5000" }), "a/b");
   * ep.willPush();
   * ep.scopes(); // ["repository:a/b:pull,push"]
   * ```
   */
  willPush(): void {
    this.#push = true;
  }

  /**
   * Token scopes for a request: `pull`, with `push` when `push` is set or the repository was
   * declared written, followed by `extra` (e.g. the source of a cross-repository mount).
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * import { RepositoryEndpoint } from "./endpoint.ts";
   * const ep = new RepositoryEndpoint(new RegistryClient({ registry: "127.0.0.1:5000" }), "a/b");
   * ep.scopes(true, ["repository:c/d:pull"]); // ["repository:a/b:pull,push", "repository:c/d:pull"]
   * ```
   */
  scopes(push = false, extra: string[] = []): string[] {
    return [
      repositoryScope(this.repository, push || this.#push ? ["pull", "push"] : ["pull"]),
      ...extra,
    ];
  }

  /**
   * The API path `/v2/<repository>/<kind>/<ref>`.
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * import { RepositoryEndpoint } from "./endpoint.ts";
   * const ep = new RepositoryEndpoint(new RegistryClient({ registry: "127.0.0.1:5000" }), "a/b");
   * ep.path("blobs", "uploads/"); // "/v2/a/b/blobs/uploads/"
   * ```
   */
  path(kind: EndpointKind, ref = ""): string {
    return `/v2/${this.repository}/${kind}/${ref}`;
  }
}

/**
 * The `rel="next"` target of a `Link` header, if any, as a path on the registry that sent it.
 * The header comes from the registry (possibly hostile): the link is resolved against
 * `requestUrl` (the absolute URL of the request that got the response) and must stay on its
 * origin — another host, scheme or a `file:` URL is refused with `KarsError("REGISTRY")`
 * (`details.reason` `"LinkOffOrigin"`), never followed. So is a same-origin link whose path
 * begins with `//`, which a resolver would read as another host. The path returned (with its
 * query) always begins with a single `/`, so it cannot change origin when resolved against
 * the registry's base URL. Without a usable `requestUrl` only a link that is a path is taken.
 *
 * @example
 * ```ts
 * import { nextLink } from "./endpoint.ts";
 * nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', "https://r.example/v2/a/tags/list");
 * // "/v2/a/tags/list?n=2&last=b"
 * nextLink('<https://r.example/v2/a/tags/list?last=c>; rel="next"', "https://r.example/v2/a/tags/list");
 * // "/v2/a/tags/list?last=c"
 * ```
 */
export function nextLink(link: string | null, requestUrl: string): string | undefined {
  if (!link) return undefined;
  let base: URL;
  try {
    base = new URL(requestUrl);
  } catch {
    // No request URL: resolve against a placeholder origin, so only a path can stay on it.
    base = new URL(NO_ORIGIN);
  }
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m || !/rel="?next"?/i.test(m[2])) continue;
    let url: URL;
    try {
      url = new URL(m[1], base);
    } catch {
      throw offOrigin(m[1]);
    }
    if (url.origin !== base.origin || url.origin === "null") throw offOrigin(m[1]);
    // "//host/…" as a path would name another host to whoever resolves it next.
    if (!url.pathname.startsWith("/") || url.pathname.startsWith("//")) throw offOrigin(m[1]);
    return url.pathname + url.search;
  }
  return undefined;
}

const NO_ORIGIN = "http://no-origin.invalid/";

function offOrigin(link: string): KarsError {
  return new KarsError(
    "REGISTRY",
    `the registry's pagination Link ${
      quoteForMessage(link, 200)
    } points outside the registry; refusing to follow it`,
    { details: { reason: "LinkOffOrigin" } },
  );
}

/** Most pages, and most entries, one list operation reads (a registry can paginate forever). */
export const LIST_LIMITS: { readonly pages: number; readonly entries: number } = {
  pages: 1000,
  entries: 100_000,
};

/**
 * Refuses a list that has gone past {@link LIST_LIMITS} (`pages` read so far, `entries`
 * collected): `KarsError("REGISTRY")`, never a silently partial answer.
 *
 * @example
 * ```ts
 * import { checkListLimits } from "./endpoint.ts";
 * checkListLimits(3, 250, "r.example/a: list tags"); // within the limits: returns
 * ```
 */
export function checkListLimits(pages: number, entries: number, what: string): void {
  if (pages < LIST_LIMITS.pages && entries <= LIST_LIMITS.entries) return;
  throw new KarsError(
    "REGISTRY",
    `${what}: the registry's list goes past ${LIST_LIMITS.pages} pages or ${LIST_LIMITS.entries} entries; refusing a partial answer`,
    { details: { reason: "ListTooLong" } },
  );
}
