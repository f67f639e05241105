/**
 * The keyless egress flow the benches and the binary's code-cache training run:
 * `kars egress my-agent --from-file sandbox.yaml --enforce --emit-manifest … --force` against a
 * registry and the Sigstore mock's Fulcio and Rekor, in a working directory holding
 * `sandbox.yaml` (and `root.json`, the mock's trust root, when `trustedRoot` is set).
 *
 * @module
 */

/** What {@link keylessEgressArgs} needs. */
export interface KeylessEgressArgs {
  /** Registry `host:port`. */
  registry: string;
  /** Repository; the emitted manifest is `gitops/<its last segment>.yaml`. */
  repository: string;
  /** Fulcio URL. */
  fulcioUrl: string;
  /** Rekor URL. */
  rekorUrl: string;
  /** Trust root file for `--trusted-root` (the repeat run then finds its own signature). */
  trustedRoot?: string;
  /** Add `--json` (default true). */
  json?: boolean;
}

/**
 * The argument list (after the CLI itself) of one keyless egress run.
 *
 * @example
 * ```ts
 * import { keylessEgressArgs } from "./keyless_flow.ts";
 * keylessEgressArgs({
 *   registry: "127.0.0.1:5000",
 *   repository: "policy/egress-allowlist/x",
 *   fulcioUrl: "http://127.0.0.1:1/fulcio",
 *   rekorUrl: "http://127.0.0.1:1/rekor",
 *   trustedRoot: "root.json",
 * })[0]; // "egress"
 * ```
 */
export function keylessEgressArgs(o: KeylessEgressArgs): string[] {
  return [
    ...["egress", "my-agent", "--from-file", "sandbox.yaml", "--enforce"],
    ...["--registry", o.registry, "--repository", o.repository],
    // One manifest file per repository: a fresh run has no previous manifest to read.
    ...["--emit-manifest", `gitops/${o.repository.split("/").pop()}.yaml`, "--force"],
    ...["--fulcio-url", o.fulcioUrl, "--rekor-url", o.rekorUrl],
    ...(o.trustedRoot ? ["--trusted-root", o.trustedRoot] : []),
    ...(o.json === false ? [] : ["--json"]),
  ];
}
