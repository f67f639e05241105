/**
 * The HTTP engine under {@link RegistryTarget}: one registry host, `fetch` injected, manual
 * redirects (credentials never cross to another origin), a per-operation deadline, and
 * retries of idempotent requests. Its parts live beside it: the auth challenge flow and
 * token cache (`registry_auth.ts`), the retry policy (`retry.ts`), the request log with
 * secrets redacted (`request_log.ts`), and failure answers mapped to {@link KarsError}
 * codes (`registry_errors.ts`).
 *
 * @module
 */
import { quoteForMessage } from "../encoding/quote.ts";
import { KarsError } from "../errors.ts";
import { formatMs, isDeadlineError, type RequestDeadlines, withDeadlines } from "../io/deadline.ts";
import type { CredentialSource } from "./auth.ts";
import { RegistryAuth } from "./registry_auth.ts";
import { registryError } from "./registry_errors.ts";
import { loggedFetch, redactUrl, type RequestLogEntry } from "./request_log.ts";
import {
  isRetryableStatus,
  retryAfterMs,
  type RetryOptions,
  type RetryPolicy,
  retryPolicy,
  withRetries,
} from "./retry.ts";

/**
 * Options of {@link RegistryClient}. `connectTimeoutMs` and `idleTimeoutMs` (default 30 s
 * each) bound every request, token requests included; see `withDeadlines` in
 * `lib/io/deadline.ts`.
 */
export interface RegistryClientOptions extends RequestDeadlines {
  /** `host[:port]` of the registry. */
  registry: string;
  /** Use `http://` (automatic for `localhost`, `127.0.0.1` and `[::1]`). */
  plainHttp?: boolean;
  /** Where credentials come from; anonymous when absent or when it yields `undefined`. */
  credentials?: CredentialSource;
  /**
   * Told (once per note) when a credential is withheld: bound to another host, or a token
   * realm or redirect the credential may not follow. Notes never contain secrets; they are
   * also appended to 401/403 errors.
   */
  onWithheld?: (note: string) => void;
  /** `fetch` to use (inject one carrying TLS options); default the global. */
  fetch?: typeof fetch;
  /** Called for every HTTP request made (including token requests). */
  log?: (entry: RequestLogEntry) => void;
  /** Retry policy. */
  retry?: RetryOptions;
  /** Deadline in ms for one operation, retries included (default 300000). */
  deadlineMs?: number;
  /**
   * Aborts every operation of this client when it fires (e.g. `AbortSignal.timeout(ms)` for a
   * total deadline over a whole command); operations then fail with `TRANSIENT`.
   */
  signal?: AbortSignal;
}

/** What a request is part of, for error messages, the deadline and retries. */
export interface OpContext {
  /** Repository the operation is on. */
  repository: string;
  /** Operation description, e.g. `push blob sha256:...`. */
  op: string;
  /** Epoch ms deadline. */
  deadline: number;
  /** Aborted when the deadline passes. */
  signal: AbortSignal;
}

/** One request. */
export interface RegistryRequest {
  /** HTTP method. */
  method: string;
  /** Path under the registry (`/v2/...`) or an absolute URL (e.g. an upload `Location`). */
  url: string;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** Body (bytes, so it can be resent). */
  body?: Uint8Array;
  /** Token scopes this request needs. */
  scopes: string[];
  /** Retry on connection errors, 408, 429 and 5xx. */
  idempotent: boolean;
}

const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i;
/**
 * True for hosts that get plain HTTP automatically (`localhost`, `127.0.0.1`, `[::1]`).
 *
 * @example
 * ```ts
 * import { isLoopbackHost } from "./client.ts";
 * isLoopbackHost("127.0.0.1:5000"); // true
 * ```
 */
export function isLoopbackHost(registry: string): boolean {
  return LOOPBACK.test(registry);
}

/**
 * An HTTP client for one registry host, shared by the {@link RegistryTarget}s of its
 * repositories (so tokens and the learnt auth scheme are reused).
 *
 * @example
 * ```ts
 * import { RegistryClient } from "./client.ts";
 * const client = new RegistryClient({ registry: "127.0.0.1:5000" });
 * client.baseUrl; // "http://127.0.0.1:5000"
 * ```
 */
export class RegistryClient {
  /** `host[:port]`. */
  readonly registry: string;
  /** `http(s)://host[:port]`. */
  readonly baseUrl: string;
  readonly #fetch: (url: URL, init: RequestInit) => Promise<Response>;
  readonly #auth: RegistryAuth;
  readonly #retry: RetryPolicy;
  /** Deadline per operation in ms. */
  readonly deadlineMs: number;
  readonly #signal?: AbortSignal;
  #blobHomes = new Map<string, string>();

  /**
   * Creates a client for one registry host.
   *
   * @param opts see {@link RegistryClientOptions}
   */
  constructor(opts: RegistryClientOptions) {
    this.registry = opts.registry.toLowerCase();
    const http = opts.plainHttp || isLoopbackHost(this.registry);
    // Docker Hub's API lives at registry-1.docker.io (credentials stay keyed by docker.io).
    const apiHost = this.registry === "docker.io" || this.registry === "index.docker.io"
      ? "registry-1.docker.io"
      : this.registry;
    this.baseUrl = `${http ? "http" : "https"}://${apiHost}`;
    const f = withDeadlines(opts.fetch ?? globalThis.fetch.bind(globalThis), {
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    });
    this.#fetch = loggedFetch((url, init) => f(url, { ...init, redirect: "manual" }), opts.log);
    this.#auth = new RegistryAuth({
      registry: this.registry,
      baseUrl: this.baseUrl,
      credentials: opts.credentials,
      onWithheld: opts.onWithheld,
      fetch: f,
      log: opts.log,
    });
    this.#retry = retryPolicy(opts.retry);
    this.deadlineMs = opts.deadlineMs ?? 300_000;
    this.#signal = opts.signal;
  }

  /**
   * Records that `digest` is stored in `repository` of this registry (used to mount the
   * blob into another repository instead of uploading it).
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * const c = new RegistryClient({ registry: "127.0.0.1:5000" });
   * c.rememberBlob("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "a/b");
   * ```
   */
  rememberBlob(digest: string, repository: string): void {
    if (this.#blobHomes.size > 10_000) this.#blobHomes.clear();
    this.#blobHomes.set(digest, repository);
  }

  /**
   * A repository other than `except` known to hold `digest`, if any.
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * const c = new RegistryClient({ registry: "127.0.0.1:5000" });
   * c.blobHome("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "x/y"); // undefined
   * ```
   */
  blobHome(digest: string, except: string): string | undefined {
    const r = this.#blobHomes.get(digest);
    return r && r !== except ? r : undefined;
  }

  /** Retry policy in force. */
  get retry(): Readonly<Required<RetryOptions>> {
    return this.#retry;
  }

  /**
   * Runs `fn` as one operation with its own deadline (abort signal cleared afterwards).
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * const c = new RegistryClient({ registry: "127.0.0.1:5000" });
   * await c.operation("a/b", "ping", () => Promise.resolve(1));
   * ```
   */
  async operation<T>(
    repository: string,
    op: string,
    fn: (ctx: OpContext) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error("deadline exceeded")), this.deadlineMs);
    const outer = this.#signal;
    const onOuter = () =>
      ac.abort(
        isDeadlineError(outer?.reason)
          ? outer.reason
          : new Error("aborted: total deadline exceeded"),
      );
    if (outer?.aborted) onOuter();
    else outer?.addEventListener("abort", onOuter, { once: true });
    // The caller's signal (e.g. a sibling request failed): cancel this operation too.
    const caller = options.signal;
    const onCaller = () => ac.abort(new Error("cancelled"));
    if (caller?.aborted) onCaller();
    else caller?.addEventListener("abort", onCaller, { once: true });
    try {
      if (ac.signal.aborted) {
        throw new KarsError(
          "TRANSIENT",
          `${this.registry}/${repository}: ${op}: not started, ${
            caller?.aborted && !outer?.aborted ? "cancelled" : "the total deadline was exceeded"
          }`,
          { details: { registry: this.registry, repository } },
        );
      }
      return await fn({
        repository,
        op,
        deadline: Date.now() + this.deadlineMs,
        signal: ac.signal,
      });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
      caller?.removeEventListener("abort", onCaller);
    }
  }

  /**
   * Absolute URL for a path or URL. An absolute URL (with a scheme, such as an upload
   * `Location` on a storage host) is taken as it is; anything else is a reference on the
   * registry and must resolve to its origin — a `//host/…` or `/\\host/…` reference that
   * would land on another host is refused with `KarsError("REGISTRY")` (`details.reason`
   * `"LinkOffOrigin"`), never requested.
   *
   * @example
   * ```ts
   * import { RegistryClient } from "./client.ts";
   * const client = new RegistryClient({ registry: "127.0.0.1:5000" });
   * client.url("/v2/a/tags/list").href; // "http://127.0.0.1:5000/v2/a/tags/list"
   * ```
   */
  url(pathOrUrl: string): URL {
    const url = new URL(pathOrUrl, this.baseUrl + "/");
    if (!/^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl) && url.origin !== new URL(this.baseUrl).origin) {
      throw new KarsError(
        "REGISTRY",
        `${this.registry}: the reference ${
          quoteForMessage(pathOrUrl, 200)
        } resolves outside the registry (to ${url.origin}); refusing to request it`,
        { details: { reason: "LinkOffOrigin", registry: this.registry } },
      );
    }
    return url;
  }

  /**
   * Sends a request with auth, manual redirects and (for idempotent requests) retries.
   * Returns the final response whatever its status; network failures and exhausted retries
   * throw `TRANSIENT`.
   */
  send(ctx: OpContext, req: RegistryRequest): Promise<Response> {
    const policy = this.#retry;
    return withRetries<Response>(
      ctx,
      policy,
      req.idempotent ? policy.attempts : 1,
      async (_, last) => {
        let res: Response;
        try {
          res = await this.#sendOnce(ctx, req);
        } catch (e) {
          if (e instanceof KarsError && e.code !== "TRANSIENT") throw e;
          const err = e instanceof KarsError && !isDeadlineError(e)
            ? e
            : this.#networkError(ctx, req, e);
          // A spent command budget is final: no retry.
          if (isDeadlineError(e) && e.details?.deadline === "total") throw err;
          return { retry: err };
        }
        if (!isRetryableStatus(res.status) || last) return { done: res };
        const delay = retryAfterMs(res.headers.get("retry-after"));
        await res.body?.cancel();
        const details = { status: res.status, registry: this.registry, repository: ctx.repository };
        if (delay !== undefined && delay > policy.maxRetryAfterMs) {
          throw new KarsError(
            "TRANSIENT",
            `${this.registry}/${ctx.repository}: ${ctx.op}: HTTP ${res.status} with Retry-After ${
              formatMs(delay)
            }, longer than the ${
              formatMs(policy.maxRetryAfterMs)
            } this client waits; try again later`,
            { details: { ...details, retryAfterMs: delay } },
          );
        }
        return {
          retry: new KarsError(
            "TRANSIENT",
            `${this.registry}/${ctx.repository}: ${ctx.op}: HTTP ${res.status} and no time left before the deadline; try again later`,
            { details },
          ),
          afterMs: delay === undefined ? undefined : Math.min(delay, policy.maxRetryAfterMs),
        };
      },
    );
  }

  #networkError(ctx: OpContext, req: RegistryRequest, cause: unknown): KarsError {
    const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : "";
    const why = isDeadlineError(cause)
      ? cause.message
      : isDeadlineError(ctx.signal.reason)
      ? ctx.signal.reason.message
      : ctx.signal.aborted
      ? (this.#signal?.aborted
        ? "total deadline exceeded"
        : reason === "cancelled"
        ? "cancelled"
        : `deadline of ${this.deadlineMs} ms exceeded`)
      : `connection failed (${cause instanceof Error ? cause.message : String(cause)})`;
    return new KarsError(
      "TRANSIENT",
      `${this.registry}/${ctx.repository}: ${ctx.op}: ${req.method} ${
        redactUrl(this.url(req.url).href)
      }: ${why}; check the registry address and network, then retry`,
      {
        cause,
        details: {
          registry: this.registry,
          repository: ctx.repository,
          ...(isDeadlineError(cause) ? { deadline: cause.details?.deadline } : {}),
        },
      },
    );
  }

  async #sendOnce(ctx: OpContext, req: RegistryRequest): Promise<Response> {
    const origin = new URL(this.baseUrl).origin;
    let url = this.url(req.url);
    let method = req.method;
    let body = req.body;
    let auth = url.origin === origin
      ? await this.#auth.authorization(ctx.signal, req.scopes)
      : undefined;
    let reauthed = false;
    for (let hop = 0;; hop++) {
      const headers = new Headers(req.headers);
      if (auth && url.origin === origin) headers.set("authorization", auth);
      const res = await this.#fetch(url, {
        method,
        headers,
        body: body as BodyInit | undefined,
        signal: ctx.signal,
      });
      if (res.status === 401 && url.origin === origin && !reauthed) {
        const next = await this.#auth.challenged(res, ctx.signal, req.scopes, auth);
        if (next !== undefined) {
          await res.body?.cancel();
          auth = next;
          reauthed = true;
          hop--;
          continue;
        }
        return res;
      }
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.has("location")) {
        if (hop >= 5) {
          await res.body?.cancel();
          throw new KarsError(
            "REGISTRY",
            `${this.registry}/${ctx.repository}: ${ctx.op}: too many redirects`,
          );
        }
        const next = new URL(res.headers.get("location")!, url);
        await res.body?.cancel();
        if (next.protocol !== "https:" && next.protocol !== "http:") {
          throw new KarsError(
            "REGISTRY",
            `${this.registry}/${ctx.repository}: ${ctx.op}: redirect to unsupported URL scheme ${next.protocol}`,
          );
        }
        if (url.protocol === "https:" && next.protocol === "http:") {
          throw new KarsError(
            "REGISTRY",
            `${this.registry}/${ctx.repository}: ${ctx.op}: refusing redirect from https to http (${
              redactUrl(next.href)
            })`,
          );
        }
        if (
          res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")
        ) {
          method = "GET";
          body = undefined;
        }
        url = next;
        continue;
      }
      return res;
    }
  }

  /**
   * Throws the {@link KarsError} for a failed response (body consumed): 404 → `NOT_FOUND`,
   * 401/403 → `AUTH`, 408/429/5xx → `TRANSIENT`, else `REGISTRY`; the message names the
   * registry, repository, operation, status and the registry's error code, and what to do.
   */
  async fail(ctx: OpContext, res: Response): Promise<never> {
    throw await registryError(res, {
      registry: this.registry,
      repository: ctx.repository,
      op: ctx.op,
      withheld: this.#auth.withheld,
    });
  }
}
