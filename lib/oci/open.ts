/**
 * Target strings and the right {@link Target} for them: `oci:<dir>` is an OCI image layout on
 * disk, anything else a remote registry `host[:port]` (strict; never a link-local or cloud
 * metadata address).
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import type { RegistryClient, RegistryClientOptions } from "./client.ts";
import { LayoutTarget } from "./layout.ts";
import { validateRepository } from "./reference.ts";
import { checkRegistryAllowed, parseRegistryHost } from "./registry_host.ts";
import { RegistryTarget } from "./registry.ts";
import type { Target } from "./types.ts";

/** A parsed target string: a remote registry, or an OCI image layout on disk. */
export type TargetSpec =
  | {
    /** A remote registry. */
    kind: "registry";
    /** `host[:port]`, lower-cased, never link-local or a cloud metadata address. */
    host: string;
  }
  | {
    /** An OCI image layout on disk (`oci:<dir>`). */
    kind: "layout";
    /** The directory as given (a relative path is resolved by the caller). */
    path: string;
  };

/**
 * A strict registry `host[:port]` (lower-cased), never a link-local or cloud metadata
 * address. Throws `KarsError("USAGE")` naming `what` and the expected form.
 *
 * @example
 * ```ts
 * import { targetHost } from "./open.ts";
 * targetHost("Registry.Example:5000", "registry"); // "registry.example:5000"
 * ```
 */
export function targetHost(value: string, what: string): string {
  let host: string;
  try {
    host = parseRegistryHost(value, what);
  } catch (e) {
    throw new KarsError("USAGE", (e as Error).message, { cause: e });
  }
  const allowed = checkRegistryAllowed(host, undefined);
  if (!allowed.ok) throw new KarsError("USAGE", `${what}: ${allowed.why}`);
  return host;
}

/**
 * The one reader of target strings: `oci:<dir>` is an OCI image layout, anything else a
 * strict registry `host[:port]` ({@link targetHost}). Throws `KarsError("USAGE")` naming
 * `what` and the fix.
 *
 * @example
 * ```ts
 * import { parseTargetSpec } from "./open.ts";
 * parseTargetSpec("oci:./layout", "registry"); // { kind: "layout", path: "./layout" }
 * parseTargetSpec("Registry.Example", "registry"); // { kind: "registry", host: "registry.example" }
 * ```
 */
export function parseTargetSpec(value: string, what: string): TargetSpec {
  if (value.startsWith("oci:")) {
    const path = value.slice("oci:".length);
    if (path === "") {
      throw new KarsError("USAGE", `${what} oci: needs a directory, e.g. oci:./layout`);
    }
    return { kind: "layout", path };
  }
  return { kind: "registry", host: targetHost(value, what) };
}

/** Options of {@link openTarget} (registry options; ignored for layouts). */
export type OpenTargetOptions = Omit<RegistryClientOptions, "registry"> & {
  /** Share one client across repositories of the same registry. */
  client?: RegistryClient;
  /** See `RegistryTargetOptions.singlePostUpload`. */
  singlePostUpload?: boolean;
};

/**
 * Opens `spec`/`repository`; a string is read by {@link parseTargetSpec}. For `oci:<dir>` the
 * directory itself is the OCI image layout (as for `skopeo copy oci:<dir>:<tag>` and
 * `oras --oci-layout <dir>`); `repository` is then only validated — one layout holds one
 * repository's tags, so use one directory per repository when tags such as `latest` must not
 * be shared.
 *
 * @example
 * ```ts
 * import { openTarget } from "./open.ts";
 * const remote = openTarget("127.0.0.1:5000", "policy/egress-allowlist/web");
 * const local = openTarget({ kind: "layout", path: "./layout" }, "policy/egress-allowlist/web");
 * ```
 */
export function openTarget(
  spec: string | TargetSpec,
  repository: string,
  opts: OpenTargetOptions = {},
): Target {
  validateRepository(repository);
  const s = typeof spec === "string" ? parseTargetSpec(spec, "registry") : spec;
  if (s.kind === "layout") return new LayoutTarget(s.path);
  // A spec built by hand gets the same host checks as a parsed string.
  return new RegistryTarget({ ...opts, registry: targetHost(s.host, "registry"), repository });
}
