/**
 * A minimal Kubernetes API client over `fetch`: GET, LIST and JSON merge PATCH. Failures become
 * {@link KarsError}s whose messages name the cluster (server and context), the namespace, and on
 * 403 the RBAC verb and resource to grant.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { createFetch } from "../io/transport.ts";
import { isDeadlineError, withDeadlines } from "../io/deadline.ts";
import { readBodyPrefix, readBodyText, SMALL_BODY_MAX_BYTES } from "../io/body.ts";
import type { KubeConfig } from "./kubeconfig.ts";

/** Largest Kubernetes API response read (32 MiB). */
export const KUBE_RESPONSE_MAX_BYTES = 32 * 1024 * 1024;

/** A Kubernetes `Status` object (error bodies). */
export interface KubeStatus {
  /** `Status`. */
  kind?: string;
  /** `Failure` or `Success`. */
  status?: string;
  /** Human-readable message from the API server. */
  message?: string;
  /** Machine-readable reason, e.g. `Forbidden`, `Conflict`, `NotFound`. */
  reason?: string;
  /** HTTP status code. */
  code?: number;
  /** The object concerned. */
  details?: { name?: string; group?: string; kind?: string };
}

/** What a request is about, for error messages and RBAC hints. */
export interface RequestTarget {
  /** RBAC verb: get, list, patch, ... */
  verb: string;
  /** Resource plural, e.g. `karssandboxes`. */
  resource: string;
  /** API group, e.g. `kars.azure.com` (empty for the core group). */
  group: string;
  /** Namespace, when namespaced. */
  namespace?: string;
  /** Object name, when there is one. */
  name?: string;
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  /** Overrides the transport (tests record requests); by default one is built from the config. */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
}

/**
 * A client bound to one resolved {@link KubeConfig}.
 *
 * @example
 * ```ts
 * import { loadKubeConfig } from "./kubeconfig.ts";
 * import { KubeClient } from "./client.ts";
 * const client = new KubeClient(await loadKubeConfig({ env: {} }));
 * // const obj = await client.get("/apis/kars.azure.com/v1alpha1/namespaces/ns/karssandboxes/x", {...});
 * ```
 */
export class KubeClient {
  /** The resolved configuration. */
  readonly config: KubeConfig;
  #fetch?: typeof fetch;
  #timeoutMs: number;

  /**
   * Binds a client to a resolved configuration.
   *
   * @param config resolved kubeconfig
   * @param opts transport override and timeout
   */
  constructor(config: KubeConfig, opts: KubeClientOptions = {}) {
    this.config = config;
    this.#fetch = opts.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** `cluster <server> (context <name>)`, used in every error message. */
  describe(): string {
    return `cluster ${this.config.server} (context ${this.config.contextName})`;
  }

  /**
   * GET a path and parse JSON.
   *
   * @example
   * ```ts
   * // await client.get("/api/v1/namespaces/default", { verb: "get", resource: "namespaces", group: "" });
   * ```
   */
  get<T = unknown>(path: string, target: RequestTarget): Promise<T> {
    return this.request<T>("GET", path, target);
  }

  /**
   * PATCH a path with an RFC 7386 JSON merge patch.
   *
   * @example
   * ```ts
   * // await client.mergePatch(path, { metadata: { labels: { a: "b" } } }, { verb: "patch", ... });
   * ```
   */
  mergePatch<T = unknown>(path: string, patch: unknown, target: RequestTarget): Promise<T> {
    return this.request<T>("PATCH", path, target, {
      body: JSON.stringify(patch),
      contentType: "application/merge-patch+json",
    });
  }

  /**
   * Opens a long-lived GET (a watch) and returns its response body as a byte stream. The
   * deadline covers only the response headers (`timeoutMs`); the body has no idle deadline —
   * a watch is kept alive by the server's bookmarks and ends with `signal` or the server's
   * `timeoutSeconds`. Errors as {@link KubeClient.request} (a 410 is `KUBE` with
   * `details.httpStatus` 410).
   *
   * @example
   * ```ts
   * // const body = await client.openStream(path + "?watch=1", target, { signal });
   * ```
   */
  async openStream(
    path: string,
    target: RequestTarget,
    o: { signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    // The connect deadline bounds the response head; the idle deadline is off (a watch may be
    // quiet between bookmarks): the stream ends with `signal` or the server's timeout.
    const { res } = await this.#send("GET", path, target, { stream: true, signal: o.signal });
    if (!res.body) throw this.#error(res.status, "", "GET", target);
    return res.body;
  }

  /**
   * Sends a request; retries once after a 401 when the credential came from a plugin/file.
   *
   * @throws KarsError `AUTH` (401/403), `NOT_FOUND` (404), `KUBE` (other 4xx, with
   * `details.httpStatus`), `TRANSIENT` (network, 5xx, 429)
   */
  async request<T>(
    method: string,
    path: string,
    target: RequestTarget,
    o: { body?: string; contentType?: string } = {},
  ): Promise<T> {
    const { res, deadline } = await this.#send(method, path, target, o);
    let text: string;
    try {
      // Bounded: answers up to 32 MiB.
      text = await readBodyText(res, {
        maxBytes: KUBE_RESPONSE_MAX_BYTES,
        what: `the Kubernetes API of ${this.describe()}: ${method} ${path}`,
        code: "KUBE",
      });
    } catch (e) {
      if (e instanceof KarsError && e.code === "KUBE") throw e;
      throw this.#unreachable(e, method, path, deadline.aborted);
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new KarsError(
        "KUBE",
        `${this.describe()} answered ${method} ${path} with a body that is not JSON`,
        { cause: e },
      );
    }
  }

  /**
   * One request with the credential in force: a successful response (its body unread), after
   * at most one retry on a 401 (the credential is fetched again), or the mapped error. A
   * `stream` request's deadline covers only the response head; otherwise the whole exchange.
   */
  async #send(
    method: string,
    path: string,
    target: RequestTarget,
    o: { body?: string; contentType?: string; stream?: boolean; signal?: AbortSignal },
  ): Promise<{ res: Response; deadline: AbortSignal }> {
    for (let attempt = 0;; attempt++) {
      const auth = await this.config.auth.get();
      const base = this.#fetch ?? createFetch({
        caPem: this.config.caPem,
        insecureSkipTlsVerify: this.config.insecureSkipTlsVerify,
        clientCertPem: auth.clientCertPem,
        clientKeyPem: auth.clientKeyPem,
      });
      const headers: Record<string, string> = { accept: "application/json" };
      if (auth.token) headers.authorization = `Bearer ${auth.token}`;
      if (o.contentType) headers["content-type"] = o.contentType;
      const deadline = o.stream
        ? new AbortController().signal
        : AbortSignal.timeout(this.#timeoutMs);
      const f = o.stream
        ? withDeadlines(base, { connectTimeoutMs: this.#timeoutMs, idleTimeoutMs: 0 })
        : base;
      let res: Response;
      try {
        res = await f(this.config.server + path, {
          method,
          headers,
          body: o.body,
          signal: o.stream ? o.signal : deadline,
        });
      } catch (e) {
        throw this.#unreachable(e, method, path, deadline.aborted || isDeadlineError(e));
      }
      if (res.ok) return { res, deadline };
      let text: string;
      try {
        // Error bodies: only their first 1 MiB.
        text = new TextDecoder().decode(await readBodyPrefix(res, SMALL_BODY_MAX_BYTES));
      } catch (e) {
        throw this.#unreachable(e, method, path, deadline.aborted);
      }
      if (res.status === 401 && attempt === 0) {
        this.config.auth.invalidate();
        continue;
      }
      throw this.#error(res.status, text, method, target);
    }
  }

  #unreachable(e: unknown, method: string, path: string, timedOut: boolean): KarsError {
    return new KarsError(
      "TRANSIENT",
      timedOut
        ? `the Kubernetes API of ${this.describe()} did not answer ${method} ${path} within ${this.#timeoutMs} ms`
        : `cannot reach the Kubernetes API of ${this.describe()}: ${(e as Error)?.message ?? e}${
          tlsHint(e)
        }`,
      { cause: e, details: { server: this.config.server } },
    );
  }

  #error(status: number, text: string, method: string, t: RequestTarget): KarsError {
    let st: KubeStatus = {};
    try {
      const j = JSON.parse(text);
      if (j && typeof j === "object") st = j;
    } catch { /* not JSON */ }
    const where = `${this.describe()}${t.namespace ? `, namespace ${t.namespace}` : ""}`;
    const serverMsg = st.message ? `: ${st.message}` : "";
    const gr = t.group ? `${t.resource}.${t.group}` : t.resource;
    const details = {
      httpStatus: status,
      reason: st.reason,
      server: this.config.server,
      context: this.config.contextName,
      namespace: t.namespace,
      verb: t.verb,
      resource: gr,
    };
    if (status === 401) {
      return new KarsError(
        "AUTH",
        `${where}: the API server rejected the credentials (401 Unauthorized); refresh your login for context ${this.config.contextName}`,
        { details },
      );
    }
    if (status === 403) {
      const m = /cannot (\S+) resource "([^"]+)" in API group "([^"]*)"/.exec(st.message ?? "");
      const verb = m?.[1] ?? t.verb;
      const resource = m?.[2] ?? t.resource;
      const group = m ? m[3] : t.group;
      const scope = t.namespace ? `in namespace ${t.namespace}` : "cluster-wide (a ClusterRole)";
      return new KarsError(
        "AUTH",
        `${where}: forbidden${serverMsg}. Grant the verb "${verb}" on resource "${resource}" in API group "${
          group || "core"
        }" ${scope} to this identity (RBAC rule: apiGroups: ["${group}"], resources: ["${resource}"], verbs: ["${verb}"])`,
        { details: { ...details, verb } },
      );
    }
    if (status === 404) {
      const what = t.name ? `${gr} "${t.name}"` : gr;
      return new KarsError("NOT_FOUND", `${where}: ${what} not found${serverMsg}`, { details });
    }
    if (status === 429 || status >= 500) {
      return new KarsError(
        "TRANSIENT",
        `${where}: ${method} ${gr} failed with HTTP ${status}${serverMsg}; try again`,
        { details },
      );
    }
    return new KarsError(
      "KUBE",
      `${where}: ${method} ${gr}${t.name ? ` "${t.name}"` : ""} failed with HTTP ${status}${
        st.reason ? ` (${st.reason})` : ""
      }${serverMsg}`,
      { details },
    );
  }
}

function tlsHint(e: unknown): string {
  const s = String((e as Error)?.message ?? "") + String((e as Error)?.cause ?? "");
  if (/certificate|UnknownIssuer|self.signed|CERT|tls/i.test(s)) {
    return " (TLS verification failed: check the cluster's certificate-authority in your kubeconfig)";
  }
  return "";
}
