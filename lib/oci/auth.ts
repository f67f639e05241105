/**
 * Registry authentication: credential types, `WWW-Authenticate` challenge parsing, and the
 * Docker token flow (GET with Basic credentials, or OAuth2 POST with a refresh token /
 * identity token), with tokens cached per scope until they expire.
 *
 * @module
 */
import { toBase64, utf8 } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { readBodyText, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import { isDeadlineError } from "../io/deadline.ts";

/**
 * Credentials for one registry. Either `username`/`password` (Basic, or the password grant of
 * the token flow), or `refreshToken` (an OAuth2 refresh token / Docker `identitytoken`, sent as
 * an OAuth2 POST to the token realm), or `accessToken` (a registry bearer token used as is).
 */
export interface Credential {
  /** User name (for `identitytoken`/refresh logins, often `00000000-0000-0000-0000-000000000000`). */
  username?: string;
  /** Password or personal access token. */
  password?: string;
  /** OAuth2 refresh token (Docker `identitytoken`). */
  refreshToken?: string;
  /** A registry access token used directly as `Bearer`. */
  accessToken?: string;
  /**
   * Where the credential came from, for messages (e.g. `KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD`,
   * `docker config auths entry for r.io`); never secret.
   */
  origin?: string;
}

/** What a {@link CredentialSource} may report back to the client asking. */
export interface CredentialContext {
  /**
   * Called when a credential exists but is not offered to this registry (bound to another
   * host); the note names the credential and the reason, never its value.
   */
  withheld?: (note: string) => void;
}

/**
 * Looks up credentials for a registry host (`host[:port]`); `undefined` means anonymous.
 * A source must return only credentials meant for exactly that host.
 */
export type CredentialSource = (
  registry: string,
  ctx?: CredentialContext,
) => Promise<Credential | undefined>;

/**
 * A fixed credential for every registry the client talks to (tests, or a client made for one
 * known registry). To bind a credential to one host, use {@link hostCredentials}.
 *
 * @example
 * ```ts
 * import { staticCredentials } from "./auth.ts";
 * const creds = staticCredentials({ username: "ci", password: "s3cret" });
 * ```
 */
export function staticCredentials(c: Credential): CredentialSource {
  return () => Promise.resolve(c);
}

/**
 * A credential offered only to the registry `host` (exact `host[:port]`, case-insensitive);
 * any other registry gets nothing, and `ctx.withheld` hears which credential was withheld
 * (`what`, e.g. `KARS_REGISTRY_USERNAME/KARS_REGISTRY_PASSWORD`) and why.
 *
 * @example
 * ```ts
 * import { hostCredentials } from "./auth.ts";
 * const source = hostCredentials({ username: "ci", password: "s3cret" }, "myacr.azurecr.io", "CI login");
 * await source("myacr.azurecr.io"); // { username: "ci", password: "s3cret" }
 * await source("evil.example"); // undefined
 * ```
 */
export function hostCredentials(
  c: Credential,
  host: string | undefined,
  what: string,
): CredentialSource {
  const bound = host?.toLowerCase();
  return (registry, ctx) => {
    if (bound !== undefined && registry.toLowerCase() === bound) return Promise.resolve(c);
    ctx?.withheld?.(
      bound === undefined
        ? `${what} not sent to ${registry}: they are bound to no registry (no registry was configured for them)`
        : `${what} not sent to ${registry}: they apply only to ${bound}`,
    );
    return Promise.resolve(undefined);
  };
}

const DOCKER_HUB_REGISTRY_HOSTS = ["registry-1.docker.io", "docker.io", "index.docker.io"];

/**
 * True for loopback host names: `localhost`, 127.0.0.0/8 and `::1` (as URL host names).
 *
 * @example
 * ```ts
 * import { isLoopbackHostname } from "./auth.ts";
 * isLoopbackHostname("127.0.0.2"); // true
 * isLoopbackHostname("[::1]"); // true
 * ```
 */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "[::1]" || h === "::1" ||
    /^127\.(?:\d{1,3})\.(?:\d{1,3})\.(?:\d{1,3})$/.test(h);
}

/**
 * The token-realm rule: may credentials for the registry at `registryUrl` be sent to the
 * token `realm`? Yes only when the realm is `https:` (or `http:` on a loopback host, for
 * tests) and its host name is the registry's own (any port), or it is Docker Hub's
 * `auth.docker.io` for `registry-1.docker.io` / `docker.io` / `index.docker.io`.
 *
 * @example
 * ```ts
 * import { checkTokenRealm } from "./auth.ts";
 * checkTokenRealm("https://myacr.azurecr.io", "https://myacr.azurecr.io/oauth2/token"); // { ok: true }
 * checkTokenRealm("https://registry-1.docker.io", "https://auth.docker.io/token"); // { ok: true }
 * checkTokenRealm("https://r.example", "https://evil.example/token").ok; // false
 * ```
 */
export function checkTokenRealm(
  registryUrl: string,
  realm: string,
): { ok: true } | { ok: false; why: string } {
  let reg: URL;
  let r: URL;
  try {
    reg = new URL(registryUrl);
    r = new URL(realm);
  } catch {
    return { ok: false, why: "the token realm is not a valid URL" };
  }
  const loopback = isLoopbackHostname(r.hostname);
  if (r.protocol !== "https:" && !(r.protocol === "http:" && loopback)) {
    return { ok: false, why: `the token realm ${r.origin} is not https` };
  }
  if (r.username || r.password) {
    return { ok: false, why: "the token realm URL carries user information" };
  }
  const regHost = reg.hostname.toLowerCase();
  const realmHost = r.hostname.toLowerCase();
  if (realmHost === regHost) return { ok: true };
  if (DOCKER_HUB_REGISTRY_HOSTS.includes(regHost) && realmHost === "auth.docker.io") {
    return { ok: true };
  }
  return {
    ok: false,
    why: `the token realm ${r.origin} is not on the registry's own host ${regHost}`,
  };
}

/** One parsed challenge from `WWW-Authenticate`. */
export interface Challenge {
  /** Lower-cased scheme, e.g. `bearer` or `basic`. */
  scheme: string;
  /** Parameters (`realm`, `service`, `scope`, `error`...). */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (one or more challenges, quoted or token values).
 *
 * @example
 * ```ts
 * import { parseChallenges } from "./auth.ts";
 * parseChallenges('Bearer realm="https://a/token",service="a",scope="repository:x:pull"');
 * // [{ scheme: "bearer", params: { realm: "https://a/token", service: "a", scope: "repository:x:pull" } }]
 * ```
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === ",")) i++;
  };
  while (i < s.length) {
    skipWs();
    const m = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(s.slice(i));
    if (!m) break;
    const scheme = m[0].toLowerCase();
    i += m[0].length;
    const params: Record<string, string> = {};
    for (;;) {
      const save = i;
      while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === ",")) i++;
      const km = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(s.slice(i));
      if (!km) {
        i = save;
        break;
      }
      i += km[0].length;
      let value = "";
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++;
      } else {
        const vm = /^[^\s,]*/.exec(s.slice(i))!;
        value = vm[0];
        i += value.length;
      }
      params[km[1].toLowerCase()] = value;
    }
    out.push({ scheme, params });
    // skip a token68 form (e.g. "Basic abc==") if any
    while (i < s.length && s[i] !== ",") {
      if (/^[A-Za-z0-9!#$%&'*+.^_`|~-]+\s+/.test(s.slice(i)) && i > 0) break;
      i++;
    }
  }
  return out;
}

/**
 * `Authorization` value for Basic credentials.
 *
 * @example
 * ```ts
 * import { basicAuthorization } from "./auth.ts";
 * basicAuthorization("u", "p"); // "Basic dTpw"
 * ```
 */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${toBase64(utf8(`${username}:${password}`))}`;
}

/**
 * A scope of the token flow, e.g. `repository:policy/x:pull,push`.
 *
 * @example
 * ```ts
 * import { repositoryScope } from "./auth.ts";
 * repositoryScope("a/b", ["pull", "push"]); // "repository:a/b:pull,push"
 * ```
 */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(",")}`;
}

/** Options for {@link fetchToken}. */
export interface TokenRequest {
  /** The challenge's realm URL. */
  realm: string;
  /** The challenge's service. */
  service?: string;
  /** Scopes wanted. */
  scopes: string[];
  /** Credentials, if any. */
  credential?: Credential;
  /**
   * Base URL of the registry that sent the challenge: credentials are sent only when
   * {@link checkTokenRealm} allows this realm for it (else the request is anonymous and
   * `onWithheld` is told why). Without it, credentials are never sent.
   */
  registryUrl?: string;
  /** Told which credential was withheld from the realm, and why (never the secret). */
  onWithheld?: (note: string) => void;
  /** Fetch to use. */
  fetch: typeof fetch;
  /** Called for each HTTP request made. */
  onRequest?: (method: string, url: string, status: number, ms: number) => void;
  /** Abort signal. */
  signal?: AbortSignal;
}

/** A token as obtained from a token server. */
export interface Token {
  /** The bearer token. */
  token: string;
  /** Epoch ms after which it must not be used. */
  expiresAt: number;
  /** Refresh token returned by an OAuth2 exchange, if any. */
  refreshToken?: string;
}

/**
 * Obtains a registry bearer token for `scopes` following the Docker token spec: an OAuth2
 * POST (`grant_type=refresh_token` or `password`) when a refresh token is held, else a GET with
 * Basic credentials (or anonymous). Accepts `token` or `access_token` and honours `expires_in`
 * (default 60 s). The token never appears in errors.
 *
 * @example
 * ```ts
 * import { fetchToken } from "./auth.ts";
 * const t = await fetchToken({
 *   realm: "https://auth.example/token", service: "registry.example",
 *   scopes: ["repository:a/b:pull"], fetch,
 * });
 * ```
 */
export async function fetchToken(req: TokenRequest): Promise<Token> {
  let realm: URL;
  try {
    realm = new URL(req.realm);
  } catch (cause) {
    throw new KarsError("REGISTRY", `registry sent an invalid token realm ${req.realm}`, { cause });
  }
  if (realm.protocol !== "https:" && realm.protocol !== "http:") {
    throw new KarsError("REGISTRY", `registry sent an unsupported token realm ${realm.origin}`);
  }
  let cred = req.credential;
  if (cred && (cred.username !== undefined || cred.refreshToken || cred.password)) {
    const rule = req.registryUrl === undefined
      ? { ok: false as const, why: "no registry was named for the token request" }
      : checkTokenRealm(req.registryUrl, realm.href);
    if (!rule.ok) {
      req.onWithheld?.(
        `${
          cred.origin ?? "registry credentials"
        } not sent to token realm ${realm.origin}: ${rule.why}; requesting an anonymous token`,
      );
      cred = undefined;
    }
  }
  let init: RequestInit;
  const url = new URL(realm.href);
  if (cred?.refreshToken) {
    const form = new URLSearchParams();
    form.set("grant_type", "refresh_token");
    form.set("refresh_token", cred.refreshToken);
    if (req.service) form.set("service", req.service);
    form.set("scope", req.scopes.join(" "));
    form.set("client_id", "kars-egress");
    init = {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    };
  } else {
    if (req.service) url.searchParams.set("service", req.service);
    for (const s of req.scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    if (cred?.username !== undefined && cred.password !== undefined) {
      headers.authorization = basicAuthorization(cred.username, cred.password);
    }
    init = { method: "GET", headers };
  }
  const t0 = Date.now();
  let res: Response;
  try {
    res = await req.fetch(url, { ...init, redirect: "error", signal: req.signal });
  } catch (cause) {
    req.onRequest?.(init.method!, url.href, 0, Date.now() - t0);
    if (isDeadlineError(cause)) throw cause;
    throw new KarsError("TRANSIENT", `token server ${realm.origin} unreachable`, { cause });
  }
  req.onRequest?.(init.method!, url.href, res.status, Date.now() - t0);
  // Token responses are small: read at most 1 MiB (a deadline error passes through).
  const text = await readBodyText(res, {
    maxBytes: SMALL_BODY_MAX_BYTES,
    what: `token server ${realm.origin}`,
  });
  if (res.status === 401 || res.status === 403) {
    throw new KarsError(
      "AUTH",
      `token server ${realm.origin} refused the credentials for ${
        req.scopes.join(" ")
      } (HTTP ${res.status}): log in again or check the user's permissions`,
      { details: { status: res.status } },
    );
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    throw new KarsError("TRANSIENT", `token server ${realm.origin} answered HTTP ${res.status}`, {
      details: { status: res.status },
    });
  }
  if (!res.ok) {
    throw new KarsError("AUTH", `token server ${realm.origin} answered HTTP ${res.status}`, {
      details: { status: res.status },
    });
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new KarsError("REGISTRY", `token server ${realm.origin} sent a non-JSON answer`, {
      cause,
    });
  }
  const token = typeof body.token === "string" && body.token
    ? body.token
    : typeof body.access_token === "string"
    ? body.access_token
    : "";
  if (!token) {
    throw new KarsError("AUTH", `token server ${realm.origin} sent no token`);
  }
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0
    ? body.expires_in
    : 60;
  const out: Token = { token, expiresAt: Date.now() + Math.max(1, expiresIn - 5) * 1000 };
  if (typeof body.refresh_token === "string") out.refreshToken = body.refresh_token;
  return out;
}
