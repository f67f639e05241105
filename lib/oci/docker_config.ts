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
import { concatBytes, fromBase64, fromUtf8 } from "../bytes.ts";
import { KarsError } from "../errors.ts";
import type { Credential, CredentialSource } from "./auth.ts";

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
  return async (registry) => {
    for (const s of sources) {
      if (!s) continue;
      const c = await s(registry);
      if (c) return c;
    }
    return undefined;
  };
}

/**
 * Credentials from `KARS_REGISTRY_USERNAME` / `KARS_REGISTRY_PASSWORD` (both needed).
 *
 * @example
 * ```ts
 * import { envCredentials } from "./docker_config.ts";
 * await envCredentials({})("r.example"); // undefined
 * ```
 */
export function envCredentials(env: Env): CredentialSource {
  return () => {
    const username = env.KARS_REGISTRY_USERNAME;
    const password = env.KARS_REGISTRY_PASSWORD;
    if (username && password !== undefined && password !== "") {
      return Promise.resolve({ username, password });
    }
    return Promise.resolve(undefined);
  };
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

function fromHelper(r: { Username?: string; Secret?: string } | undefined): Credential | undefined {
  if (!r?.Secret) return undefined;
  if (r.Username === "<token>") return { username: ACR_REFRESH_USER, refreshToken: r.Secret };
  return { username: r.Username ?? "", password: r.Secret };
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
        return fromHelper(await run(helper, serverUrl));
      }
    }
    if (cfg.credsStore) {
      const c = fromHelper(await run(cfg.credsStore, serverUrl));
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
      if (v.identitytoken) {
        return { username: username ?? ACR_REFRESH_USER, refreshToken: v.identitytoken };
      }
      if (username !== undefined && password !== undefined && password !== "") {
        return { username, password };
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
  /** Only for registries matching this (default: hosts ending in `.azurecr.io` and friends). */
  match?: (registry: string) => boolean;
}

const ACR_HOST = /\.azurecr\.(io|cn|us)$|\.azurecr\.microsoft\.scloud$/i;

async function postForm(
  f: typeof fetch,
  url: string,
  form: Record<string, string>,
  what: string,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await f(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
      redirect: "error",
    });
  } catch (cause) {
    throw new KarsError("TRANSIENT", `${what}: ${new URL(url).origin} unreachable`, { cause });
  }
  const text = await res.text();
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
  const match = opts.match ?? ((r: string) => ACR_HOST.test(r.replace(/:\d+$/, "")));
  const base = opts.registryBaseUrl ?? ((r: string) => `https://${r}`);
  return async (registry) => {
    if (!match(registry)) return undefined;
    const env = opts.env;
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
    return { username: ACR_REFRESH_USER, refreshToken: j.refresh_token };
  };
}

/** Options of {@link defaultCredentials}. */
export interface DefaultCredentialsOptions {
  /** Environment map. */
  env: Env;
  /** Explicit credentials (`--username` / `--password-stdin`); win over everything. */
  explicit?: Credential;
  /** Fetch for the ACR exchange. */
  fetch?: typeof fetch;
  /** Helper runner (tests). */
  runHelper?: HelperRunner;
  /** File reader (tests). */
  readFile?: (path: string) => Promise<string | undefined>;
}

/**
 * The usual chain: explicit → env → ACR (Entra token, for `*.azurecr.io`) → Docker config.
 *
 * @example
 * ```ts
 * import { defaultCredentials } from "./docker_config.ts";
 * const source = defaultCredentials({ env: { KARS_REGISTRY_USERNAME: "u", KARS_REGISTRY_PASSWORD: "p" } });
 * ```
 */
export function defaultCredentials(opts: DefaultCredentialsOptions): CredentialSource {
  return credentialChain(
    opts.explicit ? () => Promise.resolve(opts.explicit) : undefined,
    envCredentials(opts.env),
    acrCredentials({ env: opts.env, fetch: opts.fetch, readFile: opts.readFile }),
    dockerConfigCredentials({ env: opts.env, runHelper: opts.runHelper, readFile: opts.readFile }),
  );
}
