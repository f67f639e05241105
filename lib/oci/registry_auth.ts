/**
 * The Docker auth challenge flow of one registry host: requests go out anonymously until a
 * 401 names a scheme (`Bearer` or `Basic`); then the credential is looked up (once), and
 * Bearer tokens are fetched per scope set, cached until they expire, and shared by
 * concurrent requests. Credentials that are withheld (bound to another host, a realm they
 * may not follow) are noted, never their secrets.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import {
  basicAuthorization,
  type Challenge,
  type Credential,
  type CredentialSource,
  fetchToken,
  parseChallenges,
  type Token,
} from "./auth.ts";
import { redactUrl, type RequestLogEntry } from "./request_log.ts";

/** Options of {@link RegistryAuth}. */
export interface RegistryAuthOptions {
  /** `host[:port]` of the registry (what credentials are looked up for). */
  registry: string;
  /** `http(s)://host[:port]` the registry is reached at (token realms are checked against it). */
  baseUrl: string;
  /** Where credentials come from; anonymous when absent or when it yields `undefined`. */
  credentials?: CredentialSource;
  /** Told (once per note) when a credential is withheld. */
  onWithheld?: (note: string) => void;
  /** `fetch` for token requests. */
  fetch: typeof fetch;
  /** Called for every token request. */
  log?: (entry: RequestLogEntry) => void;
}

/**
 * The authorization state of one registry host: the learnt scheme, the credential, the
 * token cache and the notes of withheld credentials.
 *
 * @example
 * ```ts
 * import { RegistryAuth } from "./registry_auth.ts";
 * const auth = new RegistryAuth({ registry: "127.0.0.1:5000", baseUrl: "http://127.0.0.1:5000", fetch });
 * await auth.authorization(new AbortController().signal, ["repository:a/b:pull"]); // undefined: no challenge yet
 * ```
 */
export class RegistryAuth {
  readonly #opts: RegistryAuthOptions;
  #credential?: Promise<Credential | undefined>;
  readonly #withheld = new Set<string>();
  #bearer?: Challenge;
  #basic = false;
  #tokens = new Map<string, Token>();
  #tokenFetches = new Map<string, { promise: Promise<Token>; signal: AbortSignal }>();

  /**
   * Starts anonymous: nothing is looked up until a challenge arrives.
   *
   * @param opts see {@link RegistryAuthOptions}
   */
  constructor(opts: RegistryAuthOptions) {
    this.#opts = opts;
  }

  /**
   * Notes of credentials withheld so far (at most 20, no secrets), for 401/403 messages.
   *
   * @example
   * ```ts
   * import { RegistryAuth } from "./registry_auth.ts";
   * const auth = new RegistryAuth({ registry: "r.example", baseUrl: "https://r.example", fetch });
   * auth.withheld; // []
   * ```
   */
  get withheld(): readonly string[] {
    return [...this.#withheld];
  }

  #noteWithheld = (note: string): void => {
    if (this.#withheld.has(note) || this.#withheld.size >= 20) return;
    this.#withheld.add(note);
    this.#opts.onWithheld?.(note);
  };

  #credentialOnce(): Promise<Credential | undefined> {
    if (!this.#credential) {
      this.#credential = this.#opts.credentials
        ? this.#opts.credentials(this.#opts.registry, { withheld: this.#noteWithheld })
        : Promise.resolve(undefined);
    }
    return this.#credential;
  }

  /**
   * The `Authorization` value for a request needing `scopes`, or `undefined` (anonymous).
   * With `force`, a cached token equal to `rejected` (the one the registry refused) is not
   * used again.
   *
   * @example
   * ```ts
   * import { RegistryAuth } from "./registry_auth.ts";
   * const auth = new RegistryAuth({ registry: "r.example", baseUrl: "https://r.example", fetch });
   * const header = await auth.authorization(AbortSignal.timeout(5000), ["repository:a/b:pull"]);
   * ```
   */
  async authorization(
    signal: AbortSignal,
    scopes: string[],
    force = false,
    rejected?: string,
  ): Promise<string | undefined> {
    // Credentials are looked up only once the registry has asked for them (a helper is never
    // run, nor a config file read, for an anonymous registry).
    if (!this.#bearer && !this.#basic) return undefined;
    const cred = await this.#credentialOnce();
    if (this.#bearer) {
      if (cred?.accessToken && !cred.refreshToken && !cred.username) {
        return `Bearer ${cred.accessToken}`;
      }
      const key = [...scopes].sort().join(" ");
      const cached = this.#tokens.get(key);
      // A forced refresh is skipped when another request has already replaced the token that
      // the registry refused.
      if (
        cached && cached.expiresAt > Date.now() &&
        (!force || `Bearer ${cached.token}` !== rejected)
      ) return `Bearer ${cached.token}`;
      const realm = this.#bearer.params.realm;
      if (!realm) {
        throw new KarsError(
          "REGISTRY",
          `${this.#opts.registry}: Bearer challenge without realm; the registry is misconfigured`,
        );
      }
      // Credentials follow the realm only where checkTokenRealm allows (https, same host).
      const tok = await this.#sharedToken(signal, key, () =>
        fetchToken({
          realm,
          service: this.#bearer!.params.service,
          scopes,
          credential: cred,
          registryUrl: this.#opts.baseUrl,
          onWithheld: this.#noteWithheld,
          fetch: this.#opts.fetch,
          signal,
          onRequest: (method, url, status, ms) =>
            this.#opts.log?.({ method, url: redactUrl(url), status, ms }),
        }));
      this.#tokens.set(key, tok);
      return `Bearer ${tok.token}`;
    }
    if (this.#basic && cred?.username !== undefined && cred.password !== undefined) {
      return basicAuthorization(cred.username, cred.password);
    }
    return undefined;
  }

  /**
   * Learns from a 401 answer (its `WWW-Authenticate` challenges) and returns the
   * `Authorization` value to send the request again with, or `undefined` when a retry would
   * not help (no usable scheme or credential). `current` is the value that was refused.
   *
   * @example
   * ```ts
   * import { RegistryAuth } from "./registry_auth.ts";
   * const auth = new RegistryAuth({ registry: "r.example", baseUrl: "https://r.example", fetch });
   * const res = new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } });
   * await auth.challenged(res, AbortSignal.timeout(5000), [], undefined); // undefined: no credential
   * ```
   */
  async challenged(
    res: Response,
    signal: AbortSignal,
    scopes: string[],
    current: string | undefined,
  ): Promise<string | undefined> {
    const challenges = parseChallenges(res.headers.get("www-authenticate") ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer");
    const basic = challenges.find((c) => c.scheme === "basic");
    const cred = await this.#credentialOnce();
    let next: string | undefined;
    if (bearer) {
      this.#bearer = bearer;
      next = await this.authorization(signal, scopes, true, current);
    } else if (basic && cred?.username !== undefined && cred.password !== undefined) {
      this.#basic = true;
      next = await this.authorization(signal, scopes, true);
    }
    return next !== undefined && (next !== current || bearer) ? next : undefined;
  }

  /**
   * One token request per scope set at a time: concurrent requests (sibling uploads) share
   * it. When the sharer that started it is cancelled, the others request their own.
   */
  async #sharedToken(signal: AbortSignal, key: string, get: () => Promise<Token>): Promise<Token> {
    for (;;) {
      const running = this.#tokenFetches.get(key);
      if (!running) {
        const entry = { promise: get(), signal };
        this.#tokenFetches.set(key, entry);
        try {
          return await entry.promise;
        } finally {
          if (this.#tokenFetches.get(key) === entry) this.#tokenFetches.delete(key);
        }
      }
      try {
        return await running.promise;
      } catch (e) {
        if (!running.signal.aborted || signal.aborted) throw e;
        if (this.#tokenFetches.get(key) === running) this.#tokenFetches.delete(key);
      }
    }
  }
}
