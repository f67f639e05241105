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

/**
 * Prepares `dir` as the working directory of keyless egress runs (see
 * {@link keylessEgressArgs}): `sandbox.yaml` (the repository's `examples/sandbox.yaml`),
 * `root.json` (the mock's trust root: with it a repeat run recognises its own signature and
 * does not sign again, as a real repeat against the public-good instance) and an empty Docker
 * config directory. Returns the environment of a run: this process's, with `NO_COLOR`, that
 * `DOCKER_CONFIG` and an identity token from the mock.
 *
 * @example
 * ```ts
 * import { prepareKeylessFlowDir } from "./keyless_flow.ts";
 * import { startSigstoreMock } from "./sigstore_mock.ts";
 * const mock = await startSigstoreMock();
 * const env = await prepareKeylessFlowDir(await Deno.makeTempDir(), ".", mock);
 * await mock.stop();
 * ```
 */
export async function prepareKeylessFlowDir(
  dir: string,
  root: string,
  mock: { trustedRoot: unknown; mintToken(): string },
): Promise<Record<string, string>> {
  await Deno.mkdir(`${dir}/docker`, { recursive: true });
  await Deno.copyFile(`${root}/examples/sandbox.yaml`, `${dir}/sandbox.yaml`);
  await Deno.writeTextFile(`${dir}/root.json`, JSON.stringify(mock.trustedRoot));
  return {
    ...Deno.env.toObject(),
    NO_COLOR: "1",
    DOCKER_CONFIG: `${dir}/docker`,
    SIGSTORE_ID_TOKEN: mock.mintToken(),
  };
}
