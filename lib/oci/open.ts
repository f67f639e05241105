/**
 * Opens the right {@link Target} for a `--registry` value: `oci:<dir>` is an OCI image
 * layout on disk, anything else a remote registry `host[:port]` (strict; never a link-local or
 * cloud metadata address).
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import type { RegistryClient, RegistryClientOptions } from "./client.ts";
import { LayoutTarget } from "./layout.ts";
import { isRegistryHost, validateRepository } from "./reference.ts";
import { checkRegistryAllowed } from "./registry_host.ts";
import { RegistryTarget } from "./registry.ts";
import type { Target } from "./types.ts";

/** Options of {@link openTarget} (registry options; ignored for layouts). */
export type OpenTargetOptions = Omit<RegistryClientOptions, "registry"> & {
  /** Share one client across repositories of the same registry. */
  client?: RegistryClient;
  /** See `RegistryTargetOptions.singlePostUpload`. */
  singlePostUpload?: boolean;
};

/**
 * Opens `spec`/`repository`. For `oci:<dir>` the directory itself is the OCI image layout
 * (as for `skopeo copy oci:<dir>:<tag>` and `oras --oci-layout <dir>`); `repository` is then
 * only validated — one layout holds one repository's tags, so use one directory per
 * repository when tags such as `latest` must not be shared.
 *
 * @example
 * ```ts
 * import { openTarget } from "./open.ts";
 * const remote = openTarget("127.0.0.1:5000", "policy/egress-allowlist/web");
 * const local = openTarget("oci:./layout", "policy/egress-allowlist/web");
 * ```
 */
export function openTarget(spec: string, repository: string, opts: OpenTargetOptions = {}): Target {
  validateRepository(repository);
  if (spec.startsWith("oci:")) {
    const dir = spec.slice(4);
    if (!dir) throw new KarsError("USAGE", "oci: needs a directory, e.g. oci:./layout");
    return new LayoutTarget(dir);
  }
  if (!isRegistryHost(spec)) {
    throw new KarsError(
      "USAGE",
      `registry ${JSON.stringify(spec)} must be host[:port] (no scheme, no path) or oci:<dir>`,
    );
  }
  const allowed = checkRegistryAllowed(spec.toLowerCase(), undefined);
  if (!allowed.ok) throw new KarsError("INPUT", allowed.why);
  return new RegistryTarget({ ...opts, registry: spec, repository });
}
