/**
 * HTTP transport with TLS options: a private CA, a client certificate, or (where the runtime
 * allows it) no server verification. This is the only module in `lib/` that branches on the
 * runtime:
 *
 * - **Deno**: `Deno.createHttpClient({ caCerts, cert, key })` passed to the global `fetch`.
 *   Deno's client cannot skip server verification, so `insecureSkipTlsVerify` uses the
 *   `node:https` path below instead (Deno implements `rejectUnauthorized: false` there).
 * - **Node and others**: `node:https` / `node:http` wrapped as a `fetch` (Node 20 bundles
 *   undici but does not let applications import it).
 *
 * With no option set, {@link createFetch} returns the global `fetch` unchanged. Transports are
 * memoised per option set; {@link closeTransports} releases them (tests use it so that no
 * resource outlives a test).
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { toHex, utf8 } from "../encoding/bytes.ts";
import { sha256Bytes } from "../encoding/digest.ts";

/** TLS options of a transport. All PEM strings; none of them is ever logged. */
export interface TransportOptions {
  /** PEM CA certificate(s) to trust for the server, in addition to the system roots on Deno. */
  caPem?: string;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify?: boolean;
  /** PEM client certificate (chain) presented to the server. Needs {@link clientKeyPem}. */
  clientCertPem?: string;
  /** PEM private key of the client certificate. */
  clientKeyPem?: string;
}

interface Entry {
  fetch: typeof fetch;
  close(): void;
}

const cache = new Map<string, Entry>();

// deno-lint-ignore no-explicit-any
type AnyRecord = any;

function denoNs(): AnyRecord | undefined {
  // deno-lint-ignore no-explicit-any
  const d = (globalThis as any).Deno;
  return d && typeof d.createHttpClient === "function" ? d : undefined;
}

function keyOf(o: TransportOptions): string {
  // The key is a hash so that the memo table holds no second copy of the private key text.
  const s = JSON.stringify([
    o.caPem ?? null,
    o.insecureSkipTlsVerify === true,
    o.clientCertPem ?? null,
    o.clientKeyPem ?? null,
  ]);
  return toHex(sha256Bytes(utf8(s)));
}

/**
 * Returns a `fetch` that applies the given TLS options. Without options it is the global
 * `fetch` (looked up at call time, so test stubs still apply). Memoised per option set.
 *
 * @throws KarsError `USAGE` when a client certificate is given without its key or vice versa.
 *
 * @example
 * ```ts
 * import { createFetch } from "./transport.ts";
 * const f = createFetch({ caPem: "-----BEGIN CERTIFICATE-----\n..." });
 * // const res = await f("https://127.0.0.1:6443/version");
 * ```
 */
export function createFetch(options: TransportOptions = {}): typeof fetch {
  const o = options;
  if (!!o.clientCertPem !== !!o.clientKeyPem) {
    throw new KarsError(
      "USAGE",
      "a client certificate needs both the certificate and its private key; one of them is missing",
    );
  }
  if (!o.caPem && !o.insecureSkipTlsVerify && !o.clientCertPem) {
    return ((input: RequestInfo | URL, init?: RequestInit) =>
      globalThis.fetch(input, init)) as typeof fetch;
  }
  const key = keyOf(o);
  const hit = cache.get(key);
  if (hit) return hit.fetch;
  const d = denoNs();
  let entry: Entry;
  if (d && !o.insecureSkipTlsVerify) {
    const client = d.createHttpClient({
      ...(o.caPem ? { caCerts: [o.caPem] } : {}),
      ...(o.clientCertPem ? { cert: o.clientCertPem, key: o.clientKeyPem } : {}),
    });
    entry = {
      fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
        globalThis.fetch(input, { ...(init ?? {}), client } as RequestInit)) as typeof fetch,
      close: () =>
        client.close(),
    };
  } else {
    // On Deno this path only serves `insecureSkipTlsVerify`; no keep-alive there, so that no
    // idle socket outlives a test that forgets closeTransports().
    entry = nodeFetch(o, !d);
  }
  cache.set(key, entry);
  return entry.fetch;
}

/**
 * Closes every memoised transport (idle connections, Deno HTTP clients). Later calls to
 * {@link createFetch} create fresh ones.
 *
 * @example
 * ```ts
 * import { closeTransports } from "./transport.ts";
 * closeTransports();
 * ```
 */
export function closeTransports(): void {
  for (const e of cache.values()) {
    try {
      e.close();
    } catch { /* already closed */ }
  }
  cache.clear();
}

/**
 * The `node:https`/`node:http` transport that {@link createFetch} uses on Node (and on Deno for
 * `insecureSkipTlsVerify`), exported so that it can be tested on every runtime. Request bodies
 * are buffered; response bodies stream. Redirects are followed like `fetch` does (at most 10;
 * `Authorization` is dropped when the origin changes).
 *
 * @example
 * ```ts
 * import { createNodeFetch } from "./transport.ts";
 * const f = createNodeFetch({ insecureSkipTlsVerify: true });
 * // const res = await f("https://127.0.0.1:6443/version");
 * ```
 */
export function createNodeFetch(
  options: TransportOptions & { keepAlive?: boolean } = {},
): typeof fetch {
  return nodeFetch(options, options.keepAlive ?? false).fetch;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Methods the Fetch standard upper-cases (PATCH is not one of them). */
const METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The parts of a request the Node transport sends. */
interface RequestParts {
  url: URL;
  method: string;
  headers: Headers;
  body?: Uint8Array;
  redirect: RequestRedirect;
}

/**
 * Reads a request's parts as `new Request(input, init)` would, without constructing one when
 * the input is a URL and the body a string, bytes or form parameters (what this library
 * sends): on Node the first `Request` evaluates the bundled undici, tens of milliseconds of
 * CPU in a short run. Other inputs (a `Request`, a stream or `Blob` body) go through
 * `Request`.
 */
async function requestParts(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
): Promise<RequestParts> {
  const b = init?.body;
  const simpleBody = b === undefined || b === null || typeof b === "string" ||
    b instanceof ArrayBuffer || ArrayBuffer.isView(b) || b instanceof URLSearchParams;
  if ((typeof input === "string" || input instanceof URL) && simpleBody) {
    const url = new URL(String(input));
    if (url.username || url.password) {
      throw new TypeError(`request URL includes credentials: ${url.origin}`);
    }
    const m = init?.method ?? "GET";
    if (!TOKEN.test(m)) throw new TypeError(`invalid request method ${JSON.stringify(m)}`);
    const method = METHODS.has(m.toUpperCase()) ? m.toUpperCase() : m;
    if (FORBIDDEN_METHODS.has(m.toUpperCase())) {
      throw new TypeError(`forbidden request method ${JSON.stringify(m)}`);
    }
    const headers = new Headers(init?.headers);
    let body: Uint8Array | undefined;
    if (b !== undefined && b !== null) {
      if (method === "GET" || method === "HEAD") {
        throw new TypeError(`a ${method} request cannot have a body`);
      }
      let type: string | undefined;
      if (typeof b === "string") {
        body = utf8(b);
        type = "text/plain;charset=UTF-8";
      } else if (b instanceof URLSearchParams) {
        body = utf8(b.toString());
        type = "application/x-www-form-urlencoded;charset=UTF-8";
      } else if (b instanceof ArrayBuffer) body = new Uint8Array(b.slice(0));
      else {
        const v = b as ArrayBufferView;
        body = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
      }
      if (type && !headers.has("content-type")) headers.set("content-type", type);
    }
    return { url, method, headers, body, redirect: init?.redirect ?? "follow" };
  }
  const req = new Request(input, init);
  return {
    url: new URL(req.url),
    method: req.method,
    headers: new Headers(req.headers),
    body: req.body ? new Uint8Array(await req.arrayBuffer()) : undefined,
    redirect: req.redirect ?? "follow",
  };
}

/** A `fetch` over `node:https`/`node:http` with the given TLS options (buffers request bodies). */
function nodeFetch(o: TransportOptions, keepAlive: boolean): Entry {
  let closed = false;
  // Keep-alive (when asked): a run talks to one registry (and Fulcio/Rekor) many times;
  // reusing the connection saves a TCP (and TLS) handshake per request. Idle sockets are
  // unref'd by Node's agent, so they never hold a Node process open; `close()` destroys them.
  // Each side (`node:http`, `node:https` with its TLS stack) is loaded on its first request.
  const sides = new Map<boolean, Promise<{ mod: AnyRecord; agent: AnyRecord }>>();
  const side = (tls: boolean) => {
    let p = sides.get(tls);
    if (!p) {
      p = (async () => {
        // `process.getBuiltinModule` (Node ≥ 20.16) first: a Node single-executable binary's
        // main script has no dynamic-import support, and `deno bundle` leaves
        // `import("node:…")` as a real dynamic import.
        const builtin = (globalThis as AnyRecord).process?.getBuiltinModule;
        const mod = tls
          ? (typeof builtin === "function" ? builtin("node:https") : await import("node:https"))
          : (typeof builtin === "function" ? builtin("node:http") : await import("node:http"));
        const agent = tls
          ? new mod.Agent({
            keepAlive,
            rejectUnauthorized: !o.insecureSkipTlsVerify,
            ...(o.caPem ? { ca: o.caPem } : {}),
            ...(o.clientCertPem ? { cert: o.clientCertPem, key: o.clientKeyPem } : {}),
          })
          : new mod.Agent({ keepAlive });
        if (closed) agent.destroy();
        return { mod, agent };
      })();
      sides.set(tls, p);
    }
    return p;
  };

  const f = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req0 = await requestParts(input, init);
    let url = req0.url;
    let method = req0.method;
    const headers = req0.headers;
    let body = req0.body;
    const signal = init?.signal ?? undefined;
    for (let hop = 0; hop <= 10; hop++) {
      const { mod, agent } = await side(url.protocol === "https:");
      const res = await nodeRequest(mod, url, {
        method,
        headers,
        body,
        agent,
        signal,
      });
      const redirect = req0.redirect;
      if (!REDIRECTS.has(res.status) || redirect === "manual") return res;
      const loc = res.headers.get("location");
      if (!loc) return res;
      if (redirect === "error") {
        await res.body?.cancel();
        throw new TypeError(`redirect from ${url.origin} refused (redirect: "error")`);
      }
      await res.body?.cancel();
      const next = new URL(loc, url);
      if (next.origin !== url.origin) headers.delete("authorization");
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
        headers.delete("content-type");
        headers.delete("content-length");
      }
      url = next;
    }
    throw new TypeError(`too many redirects fetching ${req0.url.href}`);
  };
  return {
    fetch: f as typeof fetch,
    close: () => {
      closed = true;
      for (const p of sides.values()) p.then(({ agent }) => agent.destroy(), () => {});
    },
  };
}

function nodeRequest(
  mod: AnyRecord,
  url: URL,
  o: {
    method: string;
    headers: Headers;
    body?: Uint8Array;
    agent?: AnyRecord;
    signal?: AbortSignal;
  },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = {};
    o.headers.forEach((v, k) => (h[k] = v));
    if (o.body) h["content-length"] = String(o.body.length);
    const req = mod.request(url, {
      method: o.method,
      headers: h,
      agent: o.agent,
      signal: o.signal,
    }, (res: AnyRecord) => {
      const rh = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (Array.isArray(v)) { for (const x of v) rh.append(k, String(x)); }
        else if (v !== undefined) rh.set(k, String(v));
      }
      const status: number = res.statusCode ?? 0;
      const noBody = o.method === "HEAD" || status === 204 || status === 304;
      let done = false;
      const stream = noBody ? null : new ReadableStream<Uint8Array>({
        start(ctrl) {
          res.on("data", (c: Uint8Array) => {
            if (done) return;
            ctrl.enqueue(new Uint8Array(c));
            if ((ctrl.desiredSize ?? 1) <= 0) res.pause();
          });
          res.on("end", () => {
            if (!done) (done = true, ctrl.close());
          });
          res.on("error", (e: unknown) => {
            if (!done) (done = true, ctrl.error(e));
          });
        },
        pull() {
          res.resume();
        },
        cancel() {
          done = true;
          res.destroy();
        },
      });
      if (noBody) res.resume();
      resolve(new Response(stream, { status, statusText: res.statusMessage ?? "", headers: rh }));
    });
    req.on(
      "error",
      (e: unknown) => reject(new TypeError(`fetch failed: ${url.origin}`, { cause: e })),
    );
    if (o.body) req.end(o.body);
    else req.end();
  });
}
