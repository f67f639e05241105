/**
 * A counting HTTP reverse proxy on 127.0.0.1 for tests and benchmarks: every request a
 * client sends is recorded (method, path, status, bytes of request body) and forwarded to
 * the upstream. `Location` headers that point at the upstream are rewritten to the proxy,
 * so a client following an upload URL keeps going through it and every request is counted
 * on the wire, whatever the client (kars, skopeo) logs.
 *
 * @module
 */

/** One request seen by the proxy. */
export interface ProxiedRequest {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** Upstream status. */
  status: number;
  /** Request body size in bytes. */
  bodyBytes: number;
}

/** A running proxy. */
export interface CountingProxy {
  /** `127.0.0.1:PORT` (use as the registry host). */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Requests seen so far, in order. */
  requests: ProxiedRequest[];
  /** Forgets the requests seen so far. */
  reset(): void;
  /** Stops the proxy. */
  stop(): Promise<void>;
}

/**
 * Starts a counting proxy in front of `upstream` (an `http://host:port` URL).
 *
 * @example
 * ```ts
 * import { startCountingProxy } from "./counting_proxy.ts";
 * const proxy = await startCountingProxy("http://127.0.0.1:5000");
 * try {
 *   await (await fetch(`${proxy.url}/v2/`)).body?.cancel();
 *   proxy.requests.length; // 1
 * } finally {
 *   await proxy.stop();
 * }
 * ```
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const up = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  let self = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
      const headers = new Headers(req.headers);
      headers.delete("host");
      const res = await fetch(`${up.origin}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: body && body.length > 0 ? body : undefined,
        redirect: "manual",
      });
      requests.push({
        method: req.method,
        path: url.pathname + url.search,
        status: res.status,
        bodyBytes: body?.length ?? 0,
      });
      const out = new Headers(res.headers);
      const loc = out.get("location");
      if (loc) {
        const l = new URL(loc, up.origin);
        if (l.host === up.host) out.set("location", `${self}${l.pathname}${l.search}`);
      }
      const resBody = req.method === "HEAD" ? null : new Uint8Array(await res.arrayBuffer());
      if (req.method === "HEAD") await res.body?.cancel();
      return new Response(resBody, { status: res.status, headers: out });
    },
  );
  const port = (server.addr as Deno.NetAddr).port;
  self = `http://127.0.0.1:${port}`;
  await Promise.resolve();
  return {
    host: `127.0.0.1:${port}`,
    url: self,
    requests,
    reset() {
      requests.length = 0;
    },
    async stop() {
      await server.shutdown();
    },
  };
}
