/**
 * One repository of a registry as the distribution API addresses it: the `/v2/<name>/…`
 * paths, the token scopes a request needs, and `Link` pagination. Shared by the parts of
 * `RegistryTarget` (blob upload, manifests, tags).
 *
 * @module
 */
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
 * The `rel="next"` target of a `Link` header, if any.
 *
 * @example
 * ```ts
 * import { nextLink } from "./endpoint.ts";
 * nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'); // "/v2/a/tags/list?n=2&last=b"
 * ```
 */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /rel="?next"?/i.test(m[2])) return m[1];
  }
  return undefined;
}
