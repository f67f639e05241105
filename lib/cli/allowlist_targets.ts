/**
 * How the cluster commands (`egress audit`, `webhook`) open the registries `allowlistRef`s
 * name.
 *
 * @module
 */
import type { CliContext } from "./command.ts";
import { readFlagFile } from "./flag_file.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { createFetch } from "../io/transport.ts";
import { defaultCredentials } from "../oci/credentials.ts";
import { RegistryTarget } from "../oci/registry.ts";
import type { AllowlistRefInput } from "../model/sandbox.ts";

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
  /** Told when a credential was withheld from a host it was not configured for. */
  onWithheld?: (note: string) => void;
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
 * import { allowlistTargets } from "./allowlist_targets.ts";
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
      ...(o.onWithheld ? { onWithheld: o.onWithheld } : {}),
      ...extra,
    });
  };
}
