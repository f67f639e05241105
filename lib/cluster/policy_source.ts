/**
 * The SignerPolicy as the cluster holds it: the `kars-signer-policy` ConfigMap in the
 * controller's namespace (default `kars-system`), else the env fallback
 * (`KARS_SIGNER_FULCIO_ISSUERS` / `KARS_SIGNER_SAN_PATTERNS`), else `SignerPolicyMissing` —
 * read once ({@link readClusterSignerPolicy}) or kept current with a watch
 * ({@link watchClusterSignerPolicy}).
 *
 * @module
 */
import { isKarsError } from "../errors.ts";
import type { KubeClient } from "../kube/client.ts";
import { listWatch, type WatchedObject } from "../kube/watch.ts";
import { isPolicyError, type PolicyError, type SignerPolicy } from "../verify/policy.ts";
import { loadSignerPolicyAsync, SIGNER_POLICY_CONFIGMAP } from "../verify/policy_parse.ts";
import type { BackoffOptions } from "../kube/backoff.ts";

/** Default namespace of the SignerPolicy ConfigMap. */
export const DEFAULT_POLICY_NAMESPACE = "kars-system";

/** A policy and where it came from. */
export interface PolicyFromCluster {
  /** The policy, or why there is none. */
  policy: SignerPolicy | PolicyError;
  /** `ConfigMap <ns>/kars-signer-policy`, `environment`, or `none`. */
  source: string;
}

/** Environment variables, name → value (e.g. `Deno.env.toObject()`). */
export type ClusterEnv = Readonly<Record<string, string | undefined>>;
type Env = ClusterEnv;

/** `re:` SAN patterns load their regex engine here (the watch delivers ConfigMaps at any time). */
async function fromConfigMap(
  obj: unknown,
  namespace: string,
  env: Env,
): Promise<PolicyFromCluster> {
  if (!obj) {
    const policy = await loadSignerPolicyAsync({ env });
    return {
      policy,
      source: isPolicyError(policy) && policy.reason === "SignerPolicyMissing"
        ? "none"
        : "environment",
    };
  }
  const source = `ConfigMap ${namespace}/${SIGNER_POLICY_CONFIGMAP}`;
  return {
    policy: await loadSignerPolicyAsync({ configMap: JSON.stringify(obj), source }),
    source,
  };
}

function cmPath(namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
}

/**
 * Reads the policy once. A missing ConfigMap falls back to the environment; 401/403 and
 * transient faults throw (a policy that cannot be read is not a missing one).
 *
 * @example
 * ```ts
 * import { readClusterSignerPolicy } from "./policy_source.ts";
 * // const { policy, source } = await readClusterSignerPolicy(client, "kars-system", env);
 * ```
 */
export async function readClusterSignerPolicy(
  client: KubeClient,
  namespace: string,
  env: ClusterEnv,
): Promise<PolicyFromCluster> {
  let obj: unknown;
  try {
    obj = await client.get(`${cmPath(namespace)}/${SIGNER_POLICY_CONFIGMAP}`, {
      verb: "get",
      resource: "configmaps",
      group: "",
      namespace,
      name: SIGNER_POLICY_CONFIGMAP,
    });
  } catch (e) {
    if (!isKarsError(e, "NOT_FOUND")) throw e;
    obj = undefined;
  }
  return await fromConfigMap(obj, namespace, env);
}

/**
 * Watches the ConfigMap (list-then-watch on its name) and calls `onChange` with the policy at
 * start and after every change (created, edited, deleted → env fallback). Runs until `signal`
 * aborts; throws for non-transient API errors.
 *
 * @example
 * ```ts
 * import { watchClusterSignerPolicy } from "./policy_source.ts";
 * // await watchClusterSignerPolicy(client, "kars-system", env, (p) => (current = p), { signal });
 * ```
 */
export async function watchClusterSignerPolicy(
  client: KubeClient,
  namespace: string,
  env: ClusterEnv,
  onChange: (p: PolicyFromCluster) => void,
  opts: { signal?: AbortSignal; backoff?: BackoffOptions } = {},
): Promise<void> {
  let current: WatchedObject | undefined;
  const stream = listWatch<WatchedObject>(client, {
    path: cmPath(namespace),
    target: { resource: "configmaps", group: "", namespace },
    fieldSelector: `metadata.name=${SIGNER_POLICY_CONFIGMAP}`,
    signal: opts.signal,
    backoff: opts.backoff,
  });
  for await (const u of stream) {
    if (u.type === "SYNC") {
      current = u.items.find((i) => i.metadata?.name === SIGNER_POLICY_CONFIGMAP);
    } else if (u.object.metadata?.name === SIGNER_POLICY_CONFIGMAP) {
      current = u.type === "DELETED" ? undefined : u.object;
    } else {
      continue;
    }
    onChange(await fromConfigMap(current, namespace, env));
  }
}
