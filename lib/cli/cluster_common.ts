/**
 * Helpers shared by the cluster commands (`egress status`, `egress audit`, `webhook`): the
 * Kubernetes connection from flags, durations, and the registries an `allowlistRef` names.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { KubeClient } from "../kube/client.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import type { CliContext, OptionValues } from "./command.ts";
import { readFlagFile } from "./flag_file.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { createFetch } from "../io/transport.ts";
import { defaultCredentials } from "../oci/credentials.ts";
import { RegistryTarget } from "../oci/registry.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";
import { parseDuration as parseCliDuration } from "./timeout.ts";

/**
 * Parses a positive duration (`500ms`, `30s`, `5m`, `1m30s`, `1h`) with the CLI's one parser
 * (`timeout.ts`); `0` is refused here (these flags have no "none").
 *
 * @example
 * ```ts
 * import { parseDuration } from "./cluster_common.ts";
 * parseDuration("1m30s", "--deadline"); // 90000
 * ```
 */
export function parseDuration(s: string, flag: string): number {
  const ms = parseCliDuration(s, flag);
  if (ms <= 0) {
    throw new KarsError("USAGE", `${flag} must be a positive duration (examples: 30s, 5m)`);
  }
  return ms;
}

/**
 * A Kubernetes client from `--kubeconfig` / `--context` (else `$KUBECONFIG`, `~/.kube/config`,
 * in-cluster config), plus the context's namespace.
 *
 * @example
 * ```ts
 * import { kubeClientFromFlags } from "./cluster_common.ts";
 * // const { client, contextNamespace } = await kubeClientFromFlags(values, ctx);
 * ```
 */
export async function kubeClientFromFlags(
  values: OptionValues,
  ctx: CliContext,
): Promise<{ client: KubeClient; contextNamespace?: string }> {
  const config = await loadKubeConfig({
    kubeconfig: values.kubeconfig as string | undefined,
    context: values.context as string | undefined,
    env: ctx.env,
    cwd: ctx.cwd,
    stdinIsTTY: ctx.isTTY.stdin,
  });
  return { client: new KubeClient(config), contextNamespace: config.namespace };
}

/**
 * `3m ago` style age.
 *
 * @example
 * ```ts
 * import { formatAge } from "./cluster_common.ts";
 * formatAge(125); // "2m5s"
 * ```
 */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return "?";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) {
    const s = seconds % 60;
    return `${Math.floor(seconds / 60)}m${s ? `${s}s` : ""}`;
  }
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor(seconds % 3600 / 60)}m`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** Options of {@link allowlistTargets}. */
export interface AllowlistTargetOptions {
  /** `--ca-file`: extra CA certificates (PEM) for the registries. */
  caFile?: string;
  /** `--plain-http`. */
  plainHttp: boolean;
  /** Registries the ACR token exchange (workload identity) may be made for: the allowed ones. */
  acrRegistries: readonly string[];
  /** Per-target request options (a deadline per request, a signal per verification). */
  perTarget?: () => { deadlineMs?: number; signal?: AbortSignal };
}

/**
 * How the cluster commands (`egress audit`, `webhook`) open the registry an `allowlistRef`
 * names: one transport (with `--ca-file`), one credential chain in which every credential is
 * kept to its own host (environment credentials to `KARS_REGISTRY`'s, the ACR exchange to the
 * allowed registries, Docker config entries to theirs). The caller has already checked the
 * ref's registry against the allowed list.
 *
 * @example
 * ```ts
 * import { allowlistTargets } from "./cluster_common.ts";
 * // const open = await allowlistTargets(ctx, { plainHttp: false, acrRegistries: ["r.example"] });
 * // const target = open({ registry: "r.example", repository: "p", digest });
 * ```
 */
export async function allowlistTargets(
  ctx: CliContext,
  o: AllowlistTargetOptions,
): Promise<(ref: AllowlistRefInput) => RegistryTarget> {
  const caPem = o.caFile ? fromUtf8(await readFlagFile(ctx, o.caFile, "--ca-file")) : undefined;
  const fetchFn = caPem ? createFetch({ caPem }) : ctx.fetch;
  const credentials = defaultCredentials({
    env: ctx.env,
    acrRegistries: o.acrRegistries,
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
  return (ref) => {
    const extra = o.perTarget?.() ?? (ctx.signal ? { signal: ctx.signal } : {});
    return new RegistryTarget({
      registry: ref.registry,
      repository: ref.repository,
      plainHttp: o.plainHttp,
      fetch: fetchFn,
      credentials,
      ...extra,
    });
  };
}
