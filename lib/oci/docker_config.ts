/**
 * Credentials from Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): `credHelpers`, `credsStore` (through `credential_helper.ts`) and
 * `auths` entries, with `identitytoken` used as an OAuth2 refresh token. Each entry is
 * offered only to its own host.
 *
 * Nothing here reads process state by itself: the environment, file reads and helper runs
 * are passed in, so the module stays runtime-neutral and testable.
 *
 * @module
 */
import { join } from "node:path";
import { fromBase64, fromUtf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { readFileBounded } from "../io/file_read.ts";
import type { Credential, CredentialSource } from "./auth.ts";
import type { HelperRunner } from "./credential_helper.ts";

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

/** Options of {@link dockerConfigCredentials}. */
export interface DockerConfigOptions {
  /** Environment (for `DOCKER_CONFIG` and `HOME`). */
  env: Env;
  /** Reads a file; `undefined` when absent (default: node:fs). */
  readFile?: (path: string) => Promise<string | undefined>;
  /** Runs a credential helper (default `runCredentialHelper` of `credential_helper.ts`). */
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

/**
 * Reads a UTF-8 file; `undefined` when it does not exist, `FILE` on any other failure. The
 * default file reader of the credential sources.
 *
 * @example
 * ```ts
 * import { readOptionalFile } from "./docker_config.ts";
 * await readOptionalFile("/nonexistent/config.json"); // undefined
 * ```
 */
export async function readOptionalFile(path: string): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    // Bounded: a Docker config or token file is small (a few KiB).
    bytes = await readFileBounded(path, { maxBytes: 4 * 1024 * 1024 });
  } catch (e) {
    if ((e as { code?: string }).code === "NOT_FOUND") return undefined;
    if (e instanceof KarsError && e.code === "INPUT") throw e;
    throw new KarsError("FILE", `cannot read ${path}: ${(e as Error).message ?? e}`, {
      cause: e,
    });
  }
  return new TextDecoder().decode(bytes);
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
  const read = opts.readFile ?? readOptionalFile;
  // The helper runner (node:child_process) is loaded only when a helper is run.
  const run: HelperRunner = opts.runHelper ??
    (async (h, s) => (await import("./credential_helper.ts")).runCredentialHelper(h, s));
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
