/**
 * A TCP proxy on 127.0.0.1 that drops a connection (closes both sides) when a request head
 * matches a predicate — to simulate a connection reset in the middle of an exchange.
 *
 * @module
 */

/** A running reset proxy. */
export interface ResetProxy {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Number of connections dropped so far. */
  readonly resets: number;
  /** Stops the proxy and closes every connection. */
  stop(): Promise<void>;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Starts a proxy to `127.0.0.1:upstreamPort`; `shouldReset(head)` sees the start of each
 * request (request line and headers) and returns true to drop the connection instead of
 * forwarding it.
 *
 * @example
 * ```ts
 * import { startResetProxy } from "./reset_proxy.ts";
 * const p = startResetProxy(5000, (head) => head.startsWith("PUT "));
 * await p.stop();
 * ```
 */
export function startResetProxy(
  upstreamPort: number,
  shouldReset: (head: string) => boolean,
): ResetProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let resets = 0;
  const close = (c: Deno.Conn) => {
    if (!conns.delete(c)) return;
    try {
      c.close();
    } catch { /* already closed */ }
  };
  async function pipe(client: Deno.Conn): Promise<void> {
    conns.add(client);
    let up: Deno.Conn;
    try {
      up = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
    } catch {
      close(client);
      return;
    }
    conns.add(up);
    const both = () => {
      close(client);
      close(up);
    };
    const c2u = (async () => {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await client.read(buf);
          if (n === null) break;
          const chunk = buf.slice(0, n);
          const head = new TextDecoder().decode(chunk.subarray(0, Math.min(n, 1024)));
          if (/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(head) && shouldReset(head)) {
            // Swallow the request (so the client has finished writing it and cannot treat
            // the connection as stale and resend transparently), then drop the connection.
            resets++;
            await new Promise((r) => setTimeout(r, 50));
            break;
          }
          await writeAll(up, chunk);
        }
      } catch { /* closed */ }
      both();
    })();
    const u2c = (async () => {
      const buf = new Uint8Array(65536);
      try {
        for (;;) {
          const n = await up.read(buf);
          if (n === null) break;
          await writeAll(client, buf.slice(0, n));
        }
      } catch { /* closed */ }
      both();
    })();
    await Promise.all([c2u, u2c]);
  }
  const acceptLoop = (async () => {
    try {
      for await (const c of listener) {
        const t = pipe(c);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch { /* listener closed */ }
  })();
  return {
    host: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get resets() {
      return resets;
    },
    stop: async () => {
      listener.close();
      await acceptLoop;
      for (const c of [...conns]) close(c);
      await Promise.all([...tasks]);
    },
  };
}
