/**
 * The registry client's request log: one {@link RequestLogEntry} per HTTP request (token
 * requests included), with every URL redacted first, so credentials, signed-URL signatures
 * and upload state never reach a log.
 *
 * @module
 */

/** One logged HTTP request. */
export interface RequestLogEntry {
  /** HTTP method. */
  method: string;
  /** URL with credentials and secret query parameters redacted, `_state` shortened. */
  url: string;
  /** HTTP status, or 0 when no response arrived. */
  status: number;
  /** Duration in milliseconds. */
  ms: number;
}

const SECRET_PARAMS =
  /^(token|access_token|refresh_token|password|code|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|se|sv|skoid|sktid|skt|ske|sks|skv|client_secret|assertion)$/i;

/**
 * Redacts a URL for logs: drops userinfo, replaces secret query values by `REDACTED`, and
 * shortens upload `_state` values.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./request_log.ts";
 * redactUrl("https://u:p@r.io/v2/?access_token=abc&n=1"); // "https://r.io/v2/?access_token=REDACTED&n=1"
 * ```
 */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "<invalid url>";
  }
  u.username = "";
  u.password = "";
  if (!u.search) return u.href;
  const parts = u.search.slice(1).split("&").map((kv) => {
    const eq = kv.indexOf("=");
    const k = eq < 0 ? kv : kv.slice(0, eq);
    let name = k;
    try {
      name = decodeURIComponent(k);
    } catch { /* keep raw */ }
    if (SECRET_PARAMS.test(name)) return `${k}=REDACTED`;
    if (name === "_state" && eq >= 0) return `${k}=${kv.slice(eq + 1, eq + 9)}…`;
    return kv;
  });
  return `${u.origin}${u.pathname}?${parts.join("&")}`;
}

/**
 * Wraps `fetch` so that every request made through it is reported to `log` (when given) with
 * its method, redacted URL, status (0 when no response arrived) and duration.
 *
 * @example
 * ```ts
 * import { loggedFetch, type RequestLogEntry } from "./request_log.ts";
 * const seen: RequestLogEntry[] = [];
 * const f = loggedFetch(() => Promise.resolve(new Response("ok")), (e) => seen.push(e));
 * await f(new URL("https://r.example/v2/?access_token=abc"), { method: "GET" });
 * seen[0].url; // "https://r.example/v2/?access_token=REDACTED"
 * ```
 */
export function loggedFetch(
  f: (url: URL, init: RequestInit) => Promise<Response>,
  log?: (entry: RequestLogEntry) => void,
): (url: URL, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const t0 = Date.now();
    const entry = (status: number) =>
      log?.({
        method: init.method ?? "GET",
        url: redactUrl(url.href),
        status,
        ms: Date.now() - t0,
      });
    try {
      const res = await f(url, init);
      entry(res.status);
      return res;
    } catch (e) {
      entry(0);
      throw e;
    }
  };
}
