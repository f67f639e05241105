/**
 * Azure Container Registry credentials from an Entra ID token (an access token, or a
 * workload-identity federated token exchanged for one), exchanged at the registry for an
 * ACR refresh token. The Entra token is a key to every registry the identity may use, so
 * the exchange is made only for ACR login servers the caller configured.
 *
 * @module
 */
import { sanitizeMessage } from "../encoding/quote.ts";
import { KarsError } from "../errors.ts";
import { readBodyText, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import { isDeadlineError, withDeadlines } from "../io/deadline.ts";
import type { CredentialSource } from "./auth.ts";
import { ACR_REFRESH_USER, type Env, readOptionalFile } from "./docker_config.ts";

/** Options of {@link acrCredentials}. */
export interface AcrOptions {
  /** Environment: `AZURE_ACCESS_TOKEN`, or `AZURE_FEDERATED_TOKEN_FILE` + `AZURE_CLIENT_ID` + `AZURE_TENANT_ID`; `AZURE_AUTHORITY_HOST`. */
  env: Env;
  /** Fetch to use. */
  fetch?: typeof fetch;
  /** Reads a file (default node:fs). */
  readFile?: (path: string) => Promise<string | undefined>;
  /** Base URL of the registry's OAuth2 endpoints (default `https://<registry>`). */
  registryBaseUrl?: (registry: string) => string;
  /** Only for registries matching this (default {@link isAcrHost}). */
  match?: (registry: string) => boolean;
  /**
   * When given, the exchange is made only for these registries (exact `host[:port]`): the
   * Entra ID token is a key to every registry the identity may use, so it goes only where the
   * caller configured. Others are withheld with a note.
   */
  registries?: readonly string[];
}

/**
 * Domain suffixes of Azure Container Registry login servers, per cloud: public
 * (`azurecr.io`), Azure China (`azurecr.cn`), Azure US Government (`azurecr.us`), and the
 * air-gapped US clouds (`azurecr.microsoft.scloud`, `azurecr.eaglex.ic.gov`).
 *
 * @example
 * ```ts
 * import { ACR_SUFFIXES } from "./acr_credentials.ts";
 * ACR_SUFFIXES.includes(".azurecr.io"); // true
 * ```
 */
export const ACR_SUFFIXES: readonly string[] = [
  ".azurecr.io",
  ".azurecr.cn",
  ".azurecr.us",
  ".azurecr.microsoft.scloud",
  ".azurecr.eaglex.ic.gov",
];

/**
 * True when `registry` is an ACR login server: `<name>.<suffix>` for a suffix of
 * {@link ACR_SUFFIXES}, without a port or with `:443`.
 *
 * @example
 * ```ts
 * import { isAcrHost } from "./acr_credentials.ts";
 * isAcrHost("myacr.azurecr.io"); // true
 * isAcrHost("myacr.azurecr.io.evil.example"); // false
 * ```
 */
export function isAcrHost(registry: string): boolean {
  const r = registry.toLowerCase().replace(/:443$/, "");
  if (r.includes(":")) return false;
  return ACR_SUFFIXES.some((suf) => {
    if (!r.endsWith(suf)) return false;
    const name = r.slice(0, -suf.length);
    return /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(name);
  });
}

/** Names of the Entra ID credential used for ACR, for messages. */
const ACR_CREDENTIAL_NAME =
  "Entra ID token (AZURE_ACCESS_TOKEN or AZURE_FEDERATED_TOKEN_FILE) for the ACR token exchange";

async function postForm(
  f: typeof fetch,
  url: string,
  form: Record<string, string>,
  what: string,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    // Connect and idle deadlines (30 s each), as for every token request.
    res = await withDeadlines(f)(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
      redirect: "error",
    });
  } catch (cause) {
    if (isDeadlineError(cause)) {
      throw new KarsError("TRANSIENT", `${what}: ${cause.message}`, { cause });
    }
    throw new KarsError("TRANSIENT", `${what}: ${new URL(url).origin} unreachable`, { cause });
  }
  // A token response: at most 1 MiB is read.
  const text = await readBodyText(res, { maxBytes: SMALL_BODY_MAX_BYTES, what, code: "AUTH" });
  if (!res.ok) {
    let code = "";
    try {
      // The service's own error code (possibly hostile): cut, and escaped for the message.
      const raw = JSON.parse(text).error;
      code = raw === undefined || raw === null || raw === ""
        ? ""
        : sanitizeMessage(String(raw), 64);
    } catch { /* not JSON */ }
    throw new KarsError(
      res.status >= 500 ? "TRANSIENT" : "AUTH",
      `${what}: ${new URL(url).origin} answered HTTP ${res.status}${
        code ? ` ${code}` : ""
      }; check the Azure identity and its role on the registry`,
      { details: { status: res.status } },
    );
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new KarsError("AUTH", `${what}: answer is not JSON`, { cause });
  }
}

/**
 * ACR credentials from an Entra ID token: `AZURE_ACCESS_TOKEN`, or a workload-identity
 * federated token (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`)
 * exchanged at `<AZURE_AUTHORITY_HOST>/<tenant>/oauth2/v2.0/token`; the Entra token is then
 * exchanged at `https://<registry>/oauth2/exchange` for an ACR refresh token, which the token
 * flow turns into access tokens at `/oauth2/token`.
 *
 * @example
 * ```ts
 * import { acrCredentials } from "./acr_credentials.ts";
 * const source = acrCredentials({ env: { AZURE_ACCESS_TOKEN: "<entra token>" } });
 * // await source("myreg.azurecr.io") → { username: "00000000-...", refreshToken: "..." }
 * ```
 */
export function acrCredentials(opts: AcrOptions): CredentialSource {
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const read = opts.readFile ?? readOptionalFile;
  const match = opts.match ?? isAcrHost;
  const base = opts.registryBaseUrl ?? ((r: string) => `https://${r}`);
  const bound = opts.registries?.map((r) => r.toLowerCase());
  return async (registry, ctx) => {
    const env = opts.env;
    const configured = !!(env.AZURE_ACCESS_TOKEN ||
      (env.AZURE_FEDERATED_TOKEN_FILE && env.AZURE_CLIENT_ID && env.AZURE_TENANT_ID));
    if (!configured) return undefined;
    if (!match(registry)) {
      if (/azurecr/i.test(registry)) {
        ctx?.withheld?.(
          `${ACR_CREDENTIAL_NAME} not used for ${registry}: it is not an ACR login server (${
            ACR_SUFFIXES.map((s) => `*${s}`).join(", ")
          })`,
        );
      }
      return undefined;
    }
    if (bound && !bound.includes(registry.toLowerCase())) {
      ctx?.withheld?.(
        `${ACR_CREDENTIAL_NAME} not used for ${registry}: it applies only to ${
          bound.length ? bound.join(", ") : "no registry (none was configured for it)"
        }`,
      );
      return undefined;
    }
    let aad = env.AZURE_ACCESS_TOKEN;
    const tenant = env.AZURE_TENANT_ID;
    if (!aad && env.AZURE_FEDERATED_TOKEN_FILE && env.AZURE_CLIENT_ID && tenant) {
      const assertion = (await read(env.AZURE_FEDERATED_TOKEN_FILE))?.trim();
      if (!assertion) {
        throw new KarsError(
          "AUTH",
          `AZURE_FEDERATED_TOKEN_FILE ${env.AZURE_FEDERATED_TOKEN_FILE} is missing or empty`,
        );
      }
      const authority = (env.AZURE_AUTHORITY_HOST ?? "https://login.microsoftonline.com/").replace(
        /\/+$/,
        "",
      );
      const j = await postForm(f, `${authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
        grant_type: "client_credentials",
        client_id: env.AZURE_CLIENT_ID,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
        scope: "https://containerregistry.azure.net/.default",
      }, "Entra ID workload identity token");
      if (typeof j.access_token !== "string") {
        throw new KarsError("AUTH", "Entra ID answered without access_token");
      }
      aad = j.access_token;
    }
    if (!aad) return undefined;
    const form: Record<string, string> = {
      grant_type: "access_token",
      service: registry,
      access_token: aad,
    };
    if (tenant) form.tenant = tenant;
    const j = await postForm(
      f,
      `${base(registry)}/oauth2/exchange`,
      form,
      `ACR token exchange for ${registry}`,
    );
    if (typeof j.refresh_token !== "string") {
      throw new KarsError(
        "AUTH",
        `ACR token exchange for ${registry} answered without refresh_token`,
      );
    }
    return {
      username: ACR_REFRESH_USER,
      refreshToken: j.refresh_token,
      origin: `ACR refresh token for ${registry} (from the Entra ID token)`,
    };
  };
}
