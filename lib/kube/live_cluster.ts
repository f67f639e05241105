/**
 * The live cluster as the `kars egress` flow sees it: connect through kubeconfig, find
 * the sandbox, patch it (guarded by `resourceVersion`, retried once after a 409).
 *
 * @module
 */
import { KubeClient } from "./client.ts";
import { loadKubeConfig, type LoadKubeConfigOptions } from "./kubeconfig.ts";
import { findSandbox, type LiveSandbox, patchSandbox, type SandboxPatch } from "./sandbox.ts";

/** A connected cluster, narrowed to what the flow needs. */
export interface LiveCluster {
  /** `cluster <server> (context <name>)`. */
  describe(): string;
  /** Finds the sandbox (`-n`, else the context's namespace, else `kars-<name>`, else unique elsewhere). */
  find(name: string, namespace?: string): Promise<LiveSandbox>;
  /** Patches it; `recheck` runs on the re-read object after a 409 and may refuse. */
  patch(
    sandbox: LiveSandbox,
    patch: SandboxPatch,
    recheck: (fresh: LiveSandbox) => void | Promise<void>,
  ): Promise<LiveSandbox>;
}

/**
 * Connects through kubeconfig (or in-cluster config). Reads configuration only; no request
 * is made until {@link LiveCluster.find}.
 *
 * @example
 * ```ts
 * import { connectCluster } from "./live_cluster.ts";
 * const cluster = await connectCluster({ env: { KUBECONFIG: "/path/kubeconfig" } });
 * const sb = await cluster.find("my-agent");
 * ```
 */
export async function connectCluster(
  opts: LoadKubeConfigOptions & { fetch?: typeof fetch },
): Promise<LiveCluster> {
  const config = await loadKubeConfig(opts);
  const client = new KubeClient(config, opts.fetch ? { fetch: opts.fetch } : {});
  return {
    describe: () => client.describe(),
    find: (name, namespace) =>
      findSandbox(client, name, { namespace, contextNamespace: config.namespace }),
    patch: (sandbox, patch, recheck) => patchSandbox(client, sandbox, patch, { recheck }),
  };
}
