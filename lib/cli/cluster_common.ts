/**
 * Helpers shared by the cluster commands (`egress status`, `egress audit`, `webhook`): the
 * Kubernetes connection from flags and durations. (The registries an `allowlistRef` names are
 * opened by `allowlist_targets.ts`, which `egress status` does not load.)
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { KubeClient } from "../kube/client.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import type { CliContext, OptionValues } from "./command.ts";
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
