/**
 * Where registry credentials come from: explicit values, the environment
 * (`KARS_REGISTRY_USERNAME` / `KARS_REGISTRY_PASSWORD`), Docker's `config.json`
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `auths`, `identitytoken`,
 * `credHelpers`, `credsStore`), and Azure Container Registry through an Entra ID token.
 *
 * Nothing here reads process state by itself: the environment, file reads, helper runs and
 * `fetch` are passed in, so the module stays runtime-neutral and testable.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { concatBytes, fromBase64, fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { readBodyText, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import { isDeadlineError, withDeadlines } from "../io/deadline.ts";
import { type Credential, type CredentialSource, hostCredentials } from "./auth.ts";
import { parseRegistryHost } from "./registry_host.ts";

/** An environment map (e.g. `Deno.env.toObject()` or `process.env`). */
export type Env = Record<string, string | undefined>;

/**
 * The user name ACR expects with a refresh token.
 *
 * @example
 * ```ts
 * import { ACR_REFRESH_USER } from "./docker_config.ts";
 * const cred = { username: ACR_REFRESH_USER, refreshToken: "<acr refresh token>" };
 * ```
 */
export const ACR_REFRESH_USER = "00000000-0000-0000-0000-000000000000";

/**
 * Tries each source in order; the first defined credential wins.
 *
 * @example
 * ```ts
 * import { credentialChain, envCredentials } from "./docker_config.ts";
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
 * import { envRegistryHost } from "./docker_config.ts";
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
 * import { envCredentials } from "./docker_config.ts";
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

/**
 * Normalises a Docker config key or registry name to `host[:port]`: drops `https://` /
 * `http://` and any path, lower-cases, and maps Docker Hub aliases to `index.docker.io`.
 *
 * @example
 * ```ts
 * import { normalizeRegistryKey } from "./docker_config.ts";
 * normalizeRegistryKey("https://index.docker.io/v1/"); // "index.docker.io"
 * normalizeRegistryKey("https://myreg.azurecr.io"); // "myreg.azurecr.io"
 * ```
 */
export function normalizeRegistryKey(key: string): string {
  let k = key.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  const slash = k.indexOf("/");
  if (slash >= 0) k = k.slice(0, slash);
  if (k === "docker.io" || k === "registry-1.docker.io" || k === "registry.hub.docker.com") {
    return "index.docker.io";
  }
  return k;
}

/** Runs `docker-credential-<helper> get` with the server URL on stdin. */
export type HelperRunner = (
  helper: string,
  serverUrl: string,
) => Promise<{ Username?: string; Secret?: string } | undefined>;

/**
 * The default {@link HelperRunner}: spawns `docker-credential-<helper> get` (looked up on
 * `PATH`), writes the server URL to its stdin (never argv), parses `{Username, Secret}`.
 * "credentials not found" yields `undefined`; other failures throw `AUTH`.
 *
 * @example
 * ```ts
 * import { runCredentialHelper } from "./docker_config.ts";
 * // await runCredentialHelper("pass", "registry.example");
 * ```
 */
export function runCredentialHelper(
  helper: string,
  serverUrl: string,
  env?: Env,
): Promise<{ Username?: string; Secret?: string } | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(helper)) {
    return Promise.reject(
      new KarsError(
        "INPUT",
        `docker config: invalid credential helper name ${JSON.stringify(helper)}`,
      ),
    );
  }
  const bin = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(bin, ["get"], {
        stdio: ["pipe", "pipe", "pipe"],
        env: env as Record<string, string> | undefined,
      });
    } catch (cause) {
      reject(new KarsError("AUTH", `credential helper ${bin} could not be started`, { cause }));
      return;
    }
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout.on("data", (d: Uint8Array) => out.push(d));
    child.stderr.on("data", (d: Uint8Array) => err.push(d));
    child.on("error", (cause: Error) =>
      reject(
        new KarsError(
          "AUTH",
          `credential helper ${bin} could not be run (${
            (cause as { code?: string }).code ?? cause.message
          }); install it or remove it from the Docker config`,
          { cause },
        ),
      ));
    child.on("close", (code: number | null) => {
      const stdout = fromUtf8(concatBytes(...out)).trim();
      if (code !== 0) {
        if (
          /credentials not found/i.test(stdout) ||
          /credentials not found/i.test(fromUtf8(concatBytes(...err)))
        ) {
          resolve(undefined);
        } else {
          // The helper's output is not echoed: it could contain secrets.
          reject(new KarsError("AUTH", `credential helper ${bin} failed with exit code ${code}`));
        }
        return;
      }
      try {
        const j = JSON.parse(stdout);
        resolve({ Username: j.Username, Secret: j.Secret });
      } catch (cause) {
        reject(
          new KarsError("AUTH", `credential helper ${bin} printed something that is not JSON`, {
            cause,
          }),
        );
      }
    });
    child.stdin.on("error", () => {});
    child.stdin.end(serverUrl);
  });
}

/** Options of {@link dockerConfigCredentials}. */
export interface DockerConfigOptions {
  /** Environment (for `DOCKER_CONFIG` and `HOME`). */
  env: Env;
  /** Reads a file; `undefined` when absent (default: node:fs). */
  readFile?: (path: string) => Promise<string | undefined>;
  /** Runs a credential helper (default {@link runCredentialHelper}). */
  runHelper?: HelperRunner;
}

interface DockerConfig {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

async function defaultReadFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw new KarsError("FILE", `cannot read ${path}: ${(e as { code?: string }).code ?? e}`, {
      cause: e,
    });
  }
}

/**
 * Path of the Docker config file for `env` (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
 *
 * @example
 * ```ts
 * import { dockerConfigPath } from "./docker_config.ts";
 * dockerConfigPath({ DOCKER_CONFIG: "/etc/docker" }); // "/etc/docker/config.json"
 * ```
 */
export function dockerConfigPath(env: Env): string | undefined {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, "config.json");
  const home = env.HOME ?? env.USERPROFILE;
  return home ? join(home, ".docker", "config.json") : undefined;
}

function fromHelper(
  r: { Username?: string; Secret?: string } | undefined,
  origin: string,
): Credential | undefined {
  if (!r?.Secret) return undefined;
  if (r.Username === "<token>") {
    return { username: ACR_REFRESH_USER, refreshToken: r.Secret, origin };
  }
  return { username: r.Username ?? "", password: r.Secret, origin };
}

/**
 * Credentials from Docker's config file: `credHelpers[host]`, then `credsStore`, then
 * `auths` (keys normalised, so `host`, `host:port`, `https://host` and
 * `https://index.docker.io/v1/` all match), with `identitytoken` used as an OAuth2 refresh token.
 *
 * @example
 * ```ts
 * import { dockerConfigCredentials } from "./docker_config.ts";
 * const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: "/tmp/none" } });
 * await source("r.example"); // undefined when there is no config file
 * ```
 */
export function dockerConfigCredentials(opts: DockerConfigOptions): CredentialSource {
  const read = opts.readFile ?? defaultReadFile;
  const run: HelperRunner = opts.runHelper ?? ((h, s) => runCredentialHelper(h, s));
  return async (registry) => {
    const path = dockerConfigPath(opts.env);
    if (!path) return undefined;
    const text = await read(path);
    if (text === undefined) return undefined;
    let cfg: DockerConfig;
    try {
      cfg = JSON.parse(text);
    } catch (cause) {
      throw new KarsError("INPUT", `${path} is not valid JSON; fix or move it`, { cause });
    }
    const host = normalizeRegistryKey(registry);
    const serverUrl = host === "index.docker.io" ? "https://index.docker.io/v1/" : host;
    for (const [k, helper] of Object.entries(cfg.credHelpers ?? {})) {
      if (normalizeRegistryKey(k) === host && helper) {
        return fromHelper(
          await run(helper, serverUrl),
          `docker-credential-${helper} (credHelpers) for ${host}`,
        );
      }
    }
    if (cfg.credsStore) {
      const c = fromHelper(
        await run(cfg.credsStore, serverUrl),
        `docker-credential-${cfg.credsStore} (credsStore) for ${host}`,
      );
      if (c) return c;
    }
    for (const [k, v] of Object.entries(cfg.auths ?? {})) {
      if (normalizeRegistryKey(k) !== host || !v) continue;
      let username = v.username;
      let password = v.password;
      if (v.auth) {
        let decoded: string;
        try {
          decoded = fromUtf8(fromBase64(v.auth));
        } catch (cause) {
          throw new KarsError("INPUT", `${path}: auths.${k}.auth is not base64`, { cause });
        }
        const i = decoded.indexOf(":");
        if (i < 0) throw new KarsError("INPUT", `${path}: auths.${k}.auth is not user:password`);
        username = decoded.slice(0, i);
        password = decoded.slice(i + 1);
      }
      const origin = `${path} auths entry for ${host}`;
      if (v.identitytoken) {
        return { username: username ?? ACR_REFRESH_USER, refreshToken: v.identitytoken, origin };
      }
      if (username !== undefined && password !== undefined && password !== "") {
        return { username, password, origin };
      }
    }
    return undefined;
  };
}

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
 * import { ACR_SUFFIXES } from "./docker_config.ts";
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
 * import { isAcrHost } from "./docker_config.ts";
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
      code = String(JSON.parse(text).error ?? "");
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
 * import { acrCredentials } from "./docker_config.ts";
 * const source = acrCredentials({ env: { AZURE_ACCESS_TOKEN: "<entra token>" } });
 * // await source("myreg.azurecr.io") → { username: "00000000-...", refreshToken: "..." }
 * ```
 */
export function acrCredentials(opts: AcrOptions): CredentialSource {
  const f = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const read = opts.readFile ?? defaultReadFile;
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
 * import { defaultCredentials } from "./docker_config.ts";
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
