/**
 * A deliberately hostile HTTP/1.1 server for the attack tests (raw TCP on 127.0.0.1, so it
 * can lie about `Content-Length`, stream without end, or accept and never answer). Each
 * request is routed to a handler that writes the raw response; the server counts requests
 * and the body bytes it managed to write, and stops every endless body after
 * `maxBodyBytes` (so that a test of a broken client still ends).
 *
 * @module
 */

/** What a handler can do with one request. */
export interface HostileExchange {
  /** Request method. */
  method: string;
  /** Request path with query. */
  path: string;
  /** Request headers (lower-case names). */
  headers: Record<string, string>;
  /** Writes a status line and headers (`content-length` / `transfer-encoding` as given). */
  head(status: number, headers?: Record<string, string>): Promise<void>;
  /** Writes raw bytes; false once the peer has gone. Counted in `bodyBytes`. */
  write(bytes: Uint8Array): Promise<boolean>;
  /** Writes a complete response with a fixed body. */
  respond(
    status: number,
    body?: Uint8Array | string,
    headers?: Record<string, string>,
  ): Promise<void>;
  /** Streams an endless chunked body of `chunk`-sized chunks (stops at `maxBodyBytes`). */
  endlessChunked(status: number, headers?: Record<string, string>): Promise<void>;
  /** Keeps the connection open without writing anything until the peer or server closes. */
  hang(): Promise<void>;
}

/** A running hostile server. */
export interface HostileServer {
  /** `127.0.0.1:<port>`. */
  host: string;
  /** Requests received, as `METHOD path`. */
  requests: string[];
  /** Body bytes written to clients so far. */
  bodyBytes(): number;
  /** Stops the server and closes every connection. */
  stop(): Promise<void>;
}

/** Options of {@link startHostileServer}. */
export interface HostileServerOptions {
  /** Cap of every endless body, in bytes (default 512 MiB). */
  maxBodyBytes?: number;
}

const enc = new TextEncoder();
const REASONS: Record<number, string> = {
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * Starts a hostile server; `handler` answers each request (one request per connection:
 * responses carry `connection: close`).
 *
 * @example
 * ```ts
 * import { startHostileServer } from "./hostile_http.ts";
 * const s = await startHostileServer((x) => x.hang());
 * await s.stop();
 * ```
 */
export function startHostileServer(
  handler: (x: HostileExchange) => Promise<void>,
  opts: HostileServerOptions = {},
): Promise<HostileServer> {
  const maxBody = opts.maxBodyBytes ?? 512 * 1024 * 1024;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const requests: string[] = [];
  let bodyBytes = 0;
  let stopped = false;
  const stopSignal = Promise.withResolvers<void>();
  const tasks = new Set<Promise<void>>();

  async function serve(conn: Deno.Conn): Promise<void> {
    conns.add(conn);
    try {
      const head = await readHead(conn);
      if (!head) return;
      const [requestLine, ...lines] = head.split("\r\n");
      const [method, path] = requestLine.split(" ");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      requests.push(`${method} ${path}`);
      let alive = true;
      const writeAll = async (b: Uint8Array): Promise<boolean> => {
        if (!alive || stopped) return false;
        try {
          let off = 0;
          while (off < b.length) off += await conn.write(b.subarray(off));
          return true;
        } catch {
          alive = false;
          return false;
        }
      };
      const x: HostileExchange = {
        method,
        path,
        headers,
        head: async (status, h = {}) => {
          const hs = Object.entries({ connection: "close", ...h }).map(([k, v]) => `${k}: ${v}\r\n`)
            .join("");
          await writeAll(enc.encode(`HTTP/1.1 ${status} ${REASONS[status] ?? "X"}\r\n${hs}\r\n`));
        },
        write: async (b) => {
          const ok = await writeAll(b);
          if (ok) bodyBytes += b.length;
          return ok;
        },
        respond: async (status, body = new Uint8Array(), h = {}) => {
          const b = typeof body === "string" ? enc.encode(body) : body;
          await x.head(status, { "content-length": String(b.length), ...h });
          await x.write(b);
        },
        endlessChunked: async (status, h = {}) => {
          await x.head(status, { "transfer-encoding": "chunked", ...h });
          const data = new Uint8Array(64 * 1024).fill(0x61);
          const frame = new Uint8Array([
            ...enc.encode(`${data.length.toString(16)}\r\n`),
            ...data,
            ...enc.encode("\r\n"),
          ]);
          let sent = 0;
          while (sent < maxBody && !stopped) {
            if (!(await writeAll(frame))) return;
            sent += data.length;
            bodyBytes += data.length;
          }
        },
        hang: () => Promise.race([stopSignal.promise, waitClosed(conn)]),
      };
      await handler(x);
    } catch {
      // peer gone
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      const t = serve(conn);
      tasks.add(t);
      t.finally(() => tasks.delete(t));
    }
  })();

  return Promise.resolve({
    host: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    bodyBytes: () => bodyBytes,
    stop: async () => {
      stopped = true;
      stopSignal.resolve();
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
      await Promise.allSettled([...tasks]);
    },
  });
}

async function readHead(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(64 * 1024);
  let n = 0;
  const dec = new TextDecoder();
  while (n < buf.length) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) return undefined;
    n += r;
    const text = dec.decode(buf.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return text.slice(0, end);
  }
  return undefined;
}

async function waitClosed(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    while ((await conn.read(buf)) !== null) { /* discard */ }
  } catch { /* closed */ }
}
