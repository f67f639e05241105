/**
 * Online refresh of the trusted root through the Sigstore TUF repository, with
 * `@sigstore/tuf`. Loaded lazily (dynamic import) so offline verification never pulls the
 * TUF client (and its Node dependencies) into the module graph; not used by tests, which run
 * offline.
 *
 * @module
 */
import { KarsError } from "../../errors.ts";
import { parseTrustedRoot, type TrustedRoot } from "./trust_root.ts";

/** Options of {@link refreshTrustedRoot}. */
export interface RefreshOptions {
  /** TUF mirror URL (default: the Sigstore public-good mirror). */
  mirrorURL?: string;
  /** Directory for TUF metadata cache (default: `@sigstore/tuf`'s). */
  cachePath?: string;
  /** Initial root.json of a private TUF repository (path). */
  rootPath?: string;
}

/**
 * Fetches the text of one target of the Sigstore TUF repository (public-good by default),
 * verified by `@sigstore/tuf` against the TUF metadata. A failure is `TRANSIENT`.
 *
 * @example
 * ```ts
 * import { fetchTufTarget } from "./tuf.ts";
 * // const text = await fetchTufTarget("signing_config.v0.2.json");
 * ```
 */
export async function fetchTufTarget(name: string, options: RefreshOptions = {}): Promise<string> {
  let tuf: {
    initTUF(o?: Record<string, unknown>): Promise<{ getTarget(name: string): Promise<string> }>;
  };
  try {
    tuf = await import("@sigstore/tuf");
  } catch (e) {
    throw new KarsError(
      "UNAVAILABLE",
      "TUF refresh needs @sigstore/tuf, which could not be loaded",
      {
        cause: e,
      },
    );
  }
  try {
    const client = await tuf.initTUF({ ...options, force: true });
    return await client.getTarget(name);
  } catch (e) {
    throw new KarsError("TRANSIENT", `TUF refresh of ${name} failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Fetches the current trusted root through TUF (network required) and parses it.
 * Throws `KarsError("UNAVAILABLE")` when the TUF client cannot be loaded and
 * `KarsError("TRANSIENT")` when the refresh fails.
 *
 * @example
 * ```ts
 * import { refreshTrustedRoot } from "./tuf.ts";
 * // const root = await refreshTrustedRoot(); // online only
 * ```
 */
export async function refreshTrustedRoot(options: RefreshOptions = {}): Promise<TrustedRoot> {
  return parseTrustedRoot(await fetchTufTarget("trusted_root.json", options));
}
