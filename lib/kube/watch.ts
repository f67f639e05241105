/**
 * List-then-watch, the protocol of client-go's reflector: LIST (paged) to get the state and its
 * `resourceVersion`, then WATCH from that version with `allowWatchBookmarks=true`; every event
 * and BOOKMARK advances the version, so a reconnect resumes where the last one stopped and
 * nothing is missed. A `410 Gone` (ERROR event or HTTP status) means the history is compacted:
 * LIST again. A dropped connection or a transient fault is retried with bounded exponential
 * backoff and jitter. The stream has no idle deadline (bookmarks keep it alive); it runs until
 * `signal` aborts or a non-transient error (401/403/404/bad request) is thrown.
 *
 * @module
 */
import { isKarsError, KarsError } from "../errors.ts";
import { backoffDelay, type BackoffOptions, sleep } from "./backoff.ts";
import type { KubeClient, RequestTarget } from "./client.ts";

/** Metadata every watched object carries. */
export interface WatchedObject {
  /** Object metadata. */
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** What {@link listWatch} yields. */
export type ListWatchUpdate<T extends WatchedObject> =
  /** The full state after a (re)list; replaces everything known. */
  | { type: "SYNC"; items: T[]; resourceVersion: string }
  /** One change. */
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T; resourceVersion: string };

/** Why the stream reconnects (for logs and tests). */
export interface WatchRetry {
  /** `relist` after 410 Gone, `rewatch` after a drop / timeout / transient fault. */
  action: "relist" | "rewatch";
  /** Delay before it (ms). */
  delayMs: number;
  /** The fault, when there was one. */
  error?: unknown;
}

/** Options of {@link listWatch}. */
export interface ListWatchOptions {
  /** Collection path, e.g. `/apis/kars.azure.com/v1alpha1/namespaces/ns/karssandboxes`. */
  path: string;
  /** For error messages and RBAC hints (verb is set per request). */
  target: Omit<RequestTarget, "verb">;
  /** `fieldSelector` (e.g. `metadata.name=my-agent`). */
  fieldSelector?: string;
  /** `labelSelector`. */
  labelSelector?: string;
  /** LIST page size (default 500, as kubectl and client-go). */
  pageSize?: number;
  /** Server-side watch timeout in seconds (default: random in 300–600, as client-go). */
  watchTimeoutSeconds?: number;
  /** Ends the stream. */
  signal?: AbortSignal;
  /** Reconnect backoff. */
  backoff?: BackoffOptions;
  /** Random source for jitter (tests). */
  random?: () => number;
  /** Called before each reconnect. */
  onRetry?: (r: WatchRetry) => void;
  /** Largest accepted event line in bytes (default 16 MiB). */
  maxEventBytes?: number;
}

const DEFAULT_MAX_EVENT = 16 << 20;

class Gone extends Error {}

function query(params: Record<string, string | undefined>): string {
  const q = Object.entries(params).filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`);
  return q.length ? `?${q.join("&")}` : "";
}

/**
 * Lists then watches a collection; yields a `SYNC` after each (re)list and every change after
 * it. Runs until `signal` aborts (then returns) or a non-transient error is thrown.
 *
 * @example
 * ```ts
 * import { listWatch } from "./watch.ts";
 * // for await (const u of listWatch(client, { path, target, fieldSelector: "metadata.name=a", signal })) {
 * //   if (u.type === "SYNC") ...; else ...;
 * // }
 * ```
 */
export async function* listWatch<T extends WatchedObject>(
  client: KubeClient,
  opts: ListWatchOptions,
): AsyncGenerator<ListWatchUpdate<T>, void, undefined> {
  const random = opts.random ?? Math.random;
  let failures = 0;
  const pause = async (r: Omit<WatchRetry, "delayMs">) => {
    const delayMs = backoffDelay(failures++, opts.backoff, random);
    opts.onRetry?.({ ...r, delayMs });
    try {
      await sleep(delayMs, opts.signal);
    } catch {
      /* aborted: the loop ends below */
    }
  };
  relist: while (!opts.signal?.aborted) {
    let listed: { items: T[]; resourceVersion: string };
    try {
      listed = await listAll<T>(client, opts);
    } catch (e) {
      if (opts.signal?.aborted) return;
      if (e instanceof Gone || isKarsError(e, "TRANSIENT")) {
        await pause({ action: "relist", error: e });
        continue;
      }
      throw e;
    }
    failures = 0;
    let rv = listed.resourceVersion;
    yield { type: "SYNC", items: listed.items, resourceVersion: rv };
    while (!opts.signal?.aborted) {
      const timeout = opts.watchTimeoutSeconds ?? Math.floor(300 + random() * 300);
      const path = opts.path + query({
        watch: "1",
        resourceVersion: rv,
        allowWatchBookmarks: "true",
        timeoutSeconds: String(timeout),
        fieldSelector: opts.fieldSelector,
        labelSelector: opts.labelSelector,
      });
      let body: ReadableStream<Uint8Array>;
      try {
        body = await client.openStream(path, { ...opts.target, verb: "watch" }, {
          signal: opts.signal,
        });
      } catch (e) {
        if (opts.signal?.aborted) return;
        if (isKarsError(e, "KUBE") && e.details?.httpStatus === 410) {
          await pause({ action: "relist", error: e });
          continue relist;
        }
        if (isKarsError(e, "TRANSIENT")) {
          await pause({ action: "rewatch", error: e });
          continue;
        }
        throw e;
      }
      let delivered = false;
      try {
        for await (const ev of events(body, opts.maxEventBytes ?? DEFAULT_MAX_EVENT)) {
          const type = ev.type;
          const obj = ev.object as T | undefined;
          if (type === "ERROR") {
            const st = ev.object as { code?: number; message?: string; reason?: string };
            if (st?.code === 410 || st?.reason === "Expired" || st?.reason === "Gone") {
              throw new Gone(st.message ?? "410 Gone");
            }
            throw new KarsError(
              "TRANSIENT",
              `watch ${opts.path} on ${client.describe()} ended with an error: ${
                st?.message ?? JSON.stringify(st)
              }`,
            );
          }
          const nextRv = obj?.metadata?.resourceVersion;
          if (typeof nextRv !== "string" || nextRv === "") {
            throw new KarsError(
              "KUBE",
              `watch ${opts.path} on ${client.describe()}: an event without metadata.resourceVersion`,
            );
          }
          rv = nextRv;
          delivered = true;
          if (type === "BOOKMARK") continue;
          if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") continue;
          yield { type, object: obj!, resourceVersion: rv };
        }
      } catch (e) {
        if (opts.signal?.aborted) return;
        if (e instanceof Gone) {
          await pause({ action: "relist", error: e });
          continue relist;
        }
        if (isKarsError(e) && e.code !== "TRANSIENT") throw e;
        // A reset connection, a broken chunk, a server fault: resume from rv.
        await pause({ action: "rewatch", error: e });
        continue;
      }
      // The server closed the watch (timeoutSeconds): resume at once from rv when it delivered
      // something, else after a backoff (a server that closes at once must not make us spin).
      if (delivered) {
        failures = 0;
        opts.onRetry?.({ action: "rewatch", delayMs: 0 });
      } else {
        await pause({ action: "rewatch" });
      }
    }
  }
}

/**
 * LISTs a whole collection, page by page (`limit` / `continue`), and returns the items and the
 * list's resourceVersion. A 410 on a continue token restarts from the first page (bounded).
 *
 * @example
 * ```ts
 * import { listObjects } from "./watch.ts";
 * // const { items } = await listObjects(client, { path, target: { resource, group } });
 * ```
 */
export async function listObjects<T extends WatchedObject>(
  client: KubeClient,
  opts: Pick<ListWatchOptions, "path" | "target" | "fieldSelector" | "labelSelector" | "pageSize">,
): Promise<{ items: T[]; resourceVersion: string }> {
  for (let attempt = 0;; attempt++) {
    try {
      return await listAll<T>(client, opts);
    } catch (e) {
      if (!(e instanceof Gone) || attempt >= 2) {
        if (e instanceof Gone) {
          throw new KarsError(
            "TRANSIENT",
            `LIST ${opts.path} on ${client.describe()}: ${e.message}`,
          );
        }
        throw e;
      }
    }
  }
}

async function listAll<T extends WatchedObject>(
  client: KubeClient,
  opts: Pick<ListWatchOptions, "path" | "target" | "fieldSelector" | "labelSelector" | "pageSize">,
): Promise<{ items: T[]; resourceVersion: string }> {
  const items: T[] = [];
  let cont: string | undefined;
  let rv = "";
  for (let page = 0; page < 100_000; page++) {
    let list: { metadata?: { resourceVersion?: string; continue?: string }; items?: T[] };
    try {
      list = await client.get(
        opts.path + query({
          limit: String(opts.pageSize ?? 500),
          continue: cont,
          fieldSelector: opts.fieldSelector,
          labelSelector: opts.labelSelector,
        }),
        { ...opts.target, verb: "list" },
      );
    } catch (e) {
      if (isKarsError(e, "KUBE") && e.details?.httpStatus === 410) throw new Gone(e.message);
      throw e;
    }
    if (!list || typeof list !== "object" || !Array.isArray(list.items)) {
      throw new KarsError("KUBE", `LIST ${opts.path} on ${client.describe()}: not a list`);
    }
    items.push(...list.items);
    if (page === 0) rv = list.metadata?.resourceVersion ?? "";
    cont = list.metadata?.continue || undefined;
    if (!cont) break;
  }
  if (!rv) {
    throw new KarsError(
      "KUBE",
      `LIST ${opts.path} on ${client.describe()}: the list has no metadata.resourceVersion`,
    );
  }
  return { items, resourceVersion: rv };
}

/** Newline-delimited JSON events from a chunked body; each line bounded by `max` bytes. */
async function* events(
  body: ReadableStream<Uint8Array>,
  max: number,
): AsyncGenerator<{ type?: string; object?: unknown }> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) yield parseEvent(line);
      }
      if (buf.length > max) {
        throw new KarsError("TRANSIENT", `a watch event is larger than ${max} bytes`);
      }
    }
    const rest = (buf + dec.decode()).trim();
    if (rest) yield parseEvent(rest);
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function parseEvent(line: string): { type?: string; object?: unknown } {
  try {
    const ev = JSON.parse(line);
    if (ev && typeof ev === "object") return ev;
  } catch { /* below */ }
  throw new KarsError("TRANSIENT", "a watch event is not JSON (broken stream)");
}
