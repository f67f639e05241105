/**
 * KarsSandbox on the live cluster: find it (namespace from `-n`, else the context's, else
 * `kars-<name>`, else a unique match across namespaces) and patch `spec.networkPolicy` with a
 * JSON merge patch guarded by `metadata.resourceVersion` (one retry after a 409, with a
 * caller-supplied re-check of the fresh object).
 *
 * @module
 */
import { isKarsError, KarsError } from "../errors.ts";
import type { KubeClient, RequestTarget } from "./client.ts";
import { KARS_GROUP, KARS_VERSION, KARSSANDBOXES } from "../model/api.ts";
import {
  type AllowlistRefInput,
  type EndpointEntry,
  isLiveSandbox,
  type LiveSandbox,
} from "../model/sandbox.ts";

export { KARS_GROUP, KARS_VERSION, KARSSANDBOXES } from "../model/api.ts";
export type { AllowlistRefInput, EndpointEntry, LiveSandbox } from "../model/sandbox.ts";

/** The fields `kars egress` changes (the same set as the GitOps manifest, formats.md §7). */
export interface SandboxPatch {
  /** New egress mode (`Strict` when enforcing), omitted when unchanged. */
  egressMode?: "Strict" | "Learn";
  /** New inline list, omitted when unchanged. */
  allowedEndpoints?: EndpointEntry[];
  /** The signed artifact; always set. */
  allowlistRef: AllowlistRefInput;
}

function basePath(namespace?: string): string {
  return namespace
    ? `/apis/${KARS_GROUP}/${KARS_VERSION}/namespaces/${
      encodeURIComponent(namespace)
    }/${KARSSANDBOXES}`
    : `/apis/${KARS_GROUP}/${KARS_VERSION}/${KARSSANDBOXES}`;
}

function target(verb: string, namespace?: string, name?: string): RequestTarget {
  return { verb, resource: KARSSANDBOXES, group: KARS_GROUP, namespace, name };
}

function check(obj: unknown, where: string): LiveSandbox {
  if (!isLiveSandbox(obj)) {
    throw new KarsError(
      "KUBE",
      `${where}: the API answered with something that is not a KarsSandbox`,
    );
  }
  return obj;
}

/**
 * GET one KarsSandbox.
 *
 * @throws KarsError `NOT_FOUND` when absent, `AUTH` on 401/403 (naming the verb), others per client
 *
 * @example
 * ```ts
 * import { getSandbox } from "./sandbox.ts";
 * // const sb = await getSandbox(client, "kars-my-agent", "my-agent");
 * ```
 */
export async function getSandbox(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<LiveSandbox> {
  const obj = await client.get(
    `${basePath(namespace)}/${encodeURIComponent(name)}`,
    target("get", namespace, name),
  );
  return check(obj, client.describe());
}

/** Namespaces holding a KarsSandbox called `name` (one LIST across all namespaces). */
async function namespacesOf(client: KubeClient, name: string): Promise<LiveSandbox[]> {
  const q = `?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  const list = await client.get<{ items?: unknown[] }>(basePath() + q, target("list"));
  const items = (list.items ?? []).map((i) => check(i, client.describe()));
  // A server that ignores the field selector must not make us pick the wrong object.
  return items.filter((i) => i.metadata.name === name);
}

/** Options of {@link findSandbox}. */
export interface FindSandboxOptions {
  /** An explicit namespace: the only namespace looked at. */
  namespace?: string;
  /** The kubeconfig context's namespace. */
  contextNamespace?: string;
}

/**
 * Finds a KarsSandbox by name: in `namespace` when given (only there); else in the context's namespace,
 * else in `kars-<name>`; when it is not there, across all namespaces, refusing an ambiguous name.
 *
 * @throws KarsError `NOT_FOUND`, `INPUT` (ambiguous: lists the namespaces), `AUTH`, `KUBE`;
 * errors the namespace option would fix carry `details.option` / `details.fixOptions`
 *
 * @example
 * ```ts
 * import { findSandbox } from "./sandbox.ts";
 * // const sb = await findSandbox(client, "my-agent", { contextNamespace: cfg.namespace });
 * ```
 */
export async function findSandbox(
  client: KubeClient,
  name: string,
  opts: FindSandboxOptions = {},
): Promise<LiveSandbox> {
  if (opts.namespace) {
    try {
      return await getSandbox(client, opts.namespace, name);
    } catch (e) {
      if (!isKarsError(e, "NOT_FOUND")) throw e;
      let elsewhere = "";
      try {
        const found = await namespacesOf(client, name);
        if (found.length) {
          elsewhere = `; it exists in namespace(s) ${
            found.map((f) => f.metadata.namespace).sort().join(", ")
          }`;
        }
      } catch { /* listing is only a hint */ }
      throw new KarsError(
        "NOT_FOUND",
        `KarsSandbox "${name}" not found in namespace ${opts.namespace} on ${client.describe()}${elsewhere}`,
        { cause: e, details: { option: "namespace" } },
      );
    }
  }
  const ns = opts.contextNamespace || `kars-${name}`;
  try {
    return await getSandbox(client, ns, name);
  } catch (e) {
    if (!isKarsError(e, "NOT_FOUND")) throw e;
  }
  let found: LiveSandbox[];
  try {
    found = await namespacesOf(client, name);
  } catch (e) {
    if (isKarsError(e, "AUTH")) {
      throw new KarsError(
        "NOT_FOUND",
        `KarsSandbox "${name}" not found in namespace ${ns} on ${client.describe()}, and searching all namespaces was refused (${e.message}); name its namespace`,
        { cause: e, details: { fixOptions: ["namespace"] } },
      );
    }
    throw e;
  }
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    throw new KarsError(
      "NOT_FOUND",
      `KarsSandbox "${name}" not found in namespace ${ns} nor in any other namespace on ${client.describe()}`,
    );
  }
  const list = found.map((f) => f.metadata.namespace).sort();
  throw new KarsError(
    "INPUT",
    `KarsSandbox "${name}" is ambiguous on ${client.describe()}: it exists in namespaces ${
      list.join(", ")
    }; name the namespace to pick one`,
    { details: { namespaces: list, fixOptions: ["namespace"] } },
  );
}

/** Builds the JSON merge patch body (key order: egressMode, allowedEndpoints, allowlistRef). */
export function sandboxPatchBody(resourceVersion: string | undefined, p: SandboxPatch): unknown {
  const np: Record<string, unknown> = {};
  if (p.egressMode !== undefined) np.egressMode = p.egressMode;
  if (p.allowedEndpoints !== undefined) {
    np.allowedEndpoints = p.allowedEndpoints.map((e) =>
      e.port === undefined ? { host: e.host } : { host: e.host, port: e.port }
    );
  }
  np.allowlistRef = {
    registry: p.allowlistRef.registry,
    repository: p.allowlistRef.repository,
    digest: p.allowlistRef.digest,
    artifactType: p.allowlistRef.artifactType,
  };
  return {
    metadata: resourceVersion === undefined ? {} : { resourceVersion },
    spec: { networkPolicy: np },
  };
}

/** Options of {@link patchSandbox}. */
export interface PatchSandboxOptions {
  /**
   * Called with the re-read object after a 409, before the single retry. Must throw when the
   * fresh sandbox no longer matches what was signed (e.g. its endpoints changed).
   */
  recheck: (fresh: LiveSandbox) => void | Promise<void>;
}

/**
 * Patches `spec.networkPolicy` with a JSON merge patch guarded by `metadata.resourceVersion`.
 * On 409 Conflict: re-read, `recheck(fresh)`, retry once; a second 409 is an error.
 *
 * @throws KarsError `KUBE` (conflict twice, with `details.httpStatus` 409), `AUTH` (403 names the
 * verb `patch`), whatever `recheck` throws
 *
 * @example
 * ```ts
 * import { patchSandbox } from "./sandbox.ts";
 * // await patchSandbox(client, sb, { egressMode: "Strict", allowlistRef }, { recheck: (f) => {} });
 * ```
 */
export async function patchSandbox(
  client: KubeClient,
  sandbox: LiveSandbox,
  patch: SandboxPatch,
  opts: PatchSandboxOptions,
): Promise<LiveSandbox> {
  const { name, namespace } = sandbox.metadata;
  if (!sandbox.metadata.resourceVersion) {
    // Never write unguarded: without a resourceVersion a concurrent change would be overwritten.
    throw new KarsError(
      "KUBE",
      `KarsSandbox "${name}" in namespace ${namespace} has no metadata.resourceVersion; refusing an unguarded patch (read it from the cluster first)`,
    );
  }
  const path = `${basePath(namespace)}/${encodeURIComponent(name)}`;
  const send = (rv: string | undefined) =>
    client.mergePatch(path, sandboxPatchBody(rv, patch), target("patch", namespace, name));
  try {
    return check(await send(sandbox.metadata.resourceVersion), client.describe());
  } catch (e) {
    if (!(isKarsError(e, "KUBE") && e.details?.httpStatus === 409)) throw e;
  }
  const fresh = await getSandbox(client, namespace, name);
  await opts.recheck(fresh);
  try {
    return check(await send(fresh.metadata.resourceVersion), client.describe());
  } catch (e) {
    if (isKarsError(e, "KUBE") && e.details?.httpStatus === 409) {
      throw new KarsError(
        "KUBE",
        `KarsSandbox "${name}" in namespace ${namespace} on ${client.describe()} changed again while it was being patched (409 Conflict twice); nothing was written by this run after the retry — re-run kars egress`,
        { cause: e, details: { httpStatus: 409 } },
      );
    }
    throw e;
  }
}
