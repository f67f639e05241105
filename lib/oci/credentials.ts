/**
 * Where registry credentials come from, composed: explicit values, the environment
 * (`KARS_REGISTRY_USERNAME` / `KARS_REGISTRY_PASSWORD`), Azure Container Registry through an
 * Entra ID token (`acr_credentials.ts`), and Docker's `config.json` (`docker_config.ts`),
 * each credential kept to the host it belongs to.
 *
 * @module
 */
import { type Credential, type CredentialSource, hostCredentials } from "./auth.ts";
import { acrCredentials } from "./acr_credentials.ts";
import { dockerConfigCredentials, type Env } from "./docker_config.ts";
import type { HelperRunner } from "./credential_helper.ts";
import { parseRegistryHost } from "./registry_host.ts";

/**
 * Tries each source in order; the first defined credential wins.
 *
 * @example
 * ```ts
 * import { credentialChain, envCredentials } from "./credentials.ts";
 * const source = credentialChain(envCredentials({ KARS_REGISTRY_USERNAME: "u", KARS_REGISTRY_PASSWORD: "p" }));
 * await source("r.example"); // { username: "u", password: "p" }
 * ```
 */
export function credentialChain(...sources: (CredentialSource | undefined)[]): CredentialSource {
  return async (registry, ctx) => {
    for (const s of sources) {
      if (!s) continue;
      const c = await s(registry, ctx);
      if (c) return c;
    }
    return undefined;
  };
}

/** Names of the environment credentials, for messages. */
export const ENV_CREDENTIALS_NAME = "KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD";

/**
 * The registry `KARS_REGISTRY` names, as a strict `host[:port]`; `undefined` when it is unset,
 * an OCI layout (`oci:`), or not a valid host.
 *
 * @example
 * ```ts
 * import { envRegistryHost } from "./credentials.ts";
 * envRegistryHost({ KARS_REGISTRY: "MyACR.azurecr.io" }); // "myacr.azurecr.io"
 * envRegistryHost({ KARS_REGISTRY: "oci:./layout" }); // undefined
 * ```
 */
export function envRegistryHost(env: Env): string | undefined {
  const r = env.KARS_REGISTRY;
  if (!r || r.startsWith("oci:")) return undefined;
  try {
    return parseRegistryHost(r, "KARS_REGISTRY");
  } catch {
    return undefined;
  }
}

/**
 * Credentials from `KARS_REGISTRY_USERNAME` / `KARS_REGISTRY_PASSWORD` (both needed), offered
 * only to the registry `host` (default: the one `KARS_REGISTRY` names). Any other registry
 * gets nothing, and the client is told they were withheld.
 *
 * @example
 * ```ts
 * import { envCredentials } from "./credentials.ts";
 * const env = { KARS_REGISTRY_USERNAME: "u", KARS_REGISTRY_PASSWORD: "p" };
 * await envCredentials(env, "r.example")("r.example"); // { username: "u", password: "p", origin: … }
 * await envCredentials(env, "r.example")("evil.example"); // undefined
 * ```
 */
export function envCredentials(env: Env, host?: string): CredentialSource {
  const username = env.KARS_REGISTRY_USERNAME;
  const password = env.KARS_REGISTRY_PASSWORD;
  if (!username || password === undefined || password === "") {
    return () => Promise.resolve(undefined);
  }
  return hostCredentials(
    { username, password, origin: ENV_CREDENTIALS_NAME },
    host ?? envRegistryHost(env),
    ENV_CREDENTIALS_NAME,
  );
}

/** Options of {@link defaultCredentials}. */
export interface DefaultCredentialsOptions {
  /** Environment map. */
  env: Env;
  /**
   * The configured registry (`host[:port]`): explicit and environment credentials and the ACR
   * exchange apply to it alone. Default: the registry `KARS_REGISTRY` names; `null`: none.
   */
  registry?: string | null;
  /** Further registries the ACR exchange may be made for (exact `host[:port]`). */
  acrRegistries?: readonly string[];
  /** Explicit credentials (`--username` / `--password-stdin`); win over everything, for `registry` only. */
  explicit?: Credential;
  /** Fetch for the ACR exchange. */
  fetch?: typeof fetch;
  /** Helper runner (tests). */
  runHelper?: HelperRunner;
  /** File reader (tests). */
  readFile?: (path: string) => Promise<string | undefined>;
}

/**
 * The usual chain, each credential kept to its host: explicit and environment credentials
 * only for the configured `registry`; ACR (Entra token) only for an ACR login server that is
 * the configured registry or one of `acrRegistries`; Docker config entries only for their own
 * host. Whatever is withheld is reported through the client's `withheld` callback.
 *
 * @example
 * ```ts
 * import { defaultCredentials } from "./credentials.ts";
 * const source = defaultCredentials({
 *   env: { KARS_REGISTRY_USERNAME: "u", KARS_REGISTRY_PASSWORD: "p" },
 *   registry: "myacr.azurecr.io",
 * });
 * ```
 */
export function defaultCredentials(opts: DefaultCredentialsOptions): CredentialSource {
  const registry = opts.registry === null
    ? undefined
    : opts.registry !== undefined
    ? parseRegistryHost(opts.registry, "registry")
    : envRegistryHost(opts.env);
  const acr = [...(registry ? [registry] : []), ...(opts.acrRegistries ?? [])];
  return credentialChain(
    opts.explicit
      ? hostCredentials(
        { ...opts.explicit, origin: opts.explicit.origin ?? "the explicit credentials" },
        registry,
        opts.explicit.origin ?? "the explicit credentials",
      )
      : undefined,
    envCredentials(opts.env, registry),
    acrCredentials({
      env: opts.env,
      fetch: opts.fetch,
      readFile: opts.readFile,
      registries: acr,
    }),
    dockerConfigCredentials({ env: opts.env, runHelper: opts.runHelper, readFile: opts.readFile }),
  );
}
