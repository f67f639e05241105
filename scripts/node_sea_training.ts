/**
 * The keyless runs the standalone binary's run cache is trained on (scripts/node_sea.ts):
 * `kars egress --enforce --emit-manifest` with keyless signing, fresh and then repeated,
 * against an in-process OCI registry and the `@sigstore/mock` Fulcio/Rekor, all on 127.0.0.1
 * and gone when the build ends. The offline runs (dry run, demo) do not reach the registry
 * client, the HTTP transport, Fulcio, Rekor or the bundle verification; with these in the
 * cache a keyless run compiles about 7% less CPU time (measured on Node 20).
 *
 * Training only warms the code cache: a failing training run changes nothing but speed, and
 * the build goes on without it (a warning says so).
 *
 * @module
 */
import { join } from "node:path";
import { startRegistryServer } from "../tests/support/registry_server.ts";
import { startSigstoreMock } from "../tests/support/sigstore_mock.ts";
import { keylessEgressArgs } from "../tests/support/keyless_flow.ts";

/** Loopback services and the runs that use them. */
export interface KeylessTraining {
  /** CLI argument lists (fresh, then repeat), run in the scratch directory. */
  runs: string[][];
  /** Environment entries the runs need (the mock's OIDC token, an empty Docker config). */
  env: Record<string, string>;
  /** Writes the files the runs read into `dir` (the trusted root of the mock). */
  prepare(dir: string): Promise<void>;
  /** Stops the services. */
  stop(): Promise<void>;
}

/**
 * Starts the loopback services for keyless training runs.
 *
 * @example
 * ```ts
 * import { startKeylessTraining } from "./node_sea_training.ts";
 * const t = await startKeylessTraining();
 * await t.stop();
 * ```
 */
export async function startKeylessTraining(): Promise<KeylessTraining> {
  const registry = await startRegistryServer({});
  let mock;
  try {
    mock = await startSigstoreMock();
  } catch (e) {
    await registry.stop();
    throw e;
  }
  const m = mock;
  const args = keylessEgressArgs({
    registry: registry.host,
    repository: "policy/egress-allowlist/training",
    fulcioUrl: m.fulcioUrl,
    rekorUrl: m.rekorUrl,
    trustedRoot: "root.json",
  });
  return {
    runs: [args, args],
    env: { SIGSTORE_ID_TOKEN: m.mintToken() },
    async prepare(dir) {
      await Deno.writeTextFile(join(dir, "root.json"), JSON.stringify(m.trustedRoot));
      await Deno.mkdir(join(dir, "docker"), { recursive: true });
    },
    async stop() {
      await m.stop();
      await registry.stop();
    },
  };
}
