/**
 * The one reader of registry strings given on the command line or in the environment:
 * `host[:port]` (a remote registry), `oci:<dir>` (an OCI image layout on disk), and
 * `<registry>/<repository>@<digest>` (a reference). Every command splits these strings here
 * and nowhere else; the library receives the parts.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { ALLOWLIST_MEDIA_TYPE } from "../oci/artifact.ts";
import { parseTargetSpec, type TargetSpec } from "../oci/open.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";

/** A parsed registry string (the library's {@link TargetSpec}). */
export type RegistrySpec = TargetSpec;

/** Options of {@link parseRegistrySpec}. */
export interface ParseRegistrySpecOptions {
  /** What the value is, for messages: the flag or environment variable, e.g. `"--registry"`. */
  what: string;
  /** When set, only `oci:<dir>` is accepted; any other value is refused with this message. */
  layoutOnly?: string;
}

function usage(message: string): KarsError {
  return new KarsError("USAGE", message);
}

/**
 * Parses `host[:port]` or `oci:<dir>` into a {@link RegistrySpec}. Throws `KarsError("USAGE")`
 * naming `what` and the fix.
 *
 * @example
 * ```ts
 * import { parseRegistrySpec } from "./registry_spec.ts";
 * parseRegistrySpec("oci:./layout", { what: "--registry" }); // { kind: "layout", path: "./layout" }
 * parseRegistrySpec("Registry.Example:5000", { what: "--registry" }).kind; // "registry"
 * ```
 */
export function parseRegistrySpec(value: string, opts: ParseRegistrySpecOptions): RegistrySpec {
  const { what } = opts;
  if (!value.startsWith("oci:")) {
    if (opts.layoutOnly !== undefined) throw usage(opts.layoutOnly);
    if (/[\s/]/.test(value) || value === "") {
      throw usage(
        `${what} ${
          JSON.stringify(value)
        } must be host[:port] (no scheme, no path) or oci:<dir>; put the path in --repository`,
      );
    }
  }
  return parseTargetSpec(value, what);
}

/**
 * Parses `<registry>/<repository>@<digest>` into an allowlist ref (artifact type filled in).
 * Throws `KarsError("USAGE")` when the shape is wrong (the verdict checks the parts).
 *
 * @example
 * ```ts
 * import { parseRefArgument } from "./registry_spec.ts";
 * parseRefArgument("r.example/policy/a@sha256:" + "0".repeat(64)).repository; // "policy/a"
 * ```
 */
export function parseRefArgument(arg: string): AllowlistRefInput {
  const at = arg.lastIndexOf("@");
  const slash = arg.indexOf("/");
  if (at < 0 || slash < 0 || slash > at) {
    throw usage(`reference ${JSON.stringify(arg)} must be <registry>/<repository>@sha256:<hex>`);
  }
  return {
    registry: arg.slice(0, slash),
    repository: arg.slice(slash + 1, at),
    digest: arg.slice(at + 1),
    artifactType: ALLOWLIST_MEDIA_TYPE,
  };
}
