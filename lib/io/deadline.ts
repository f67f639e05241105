/**
 * Per-request deadlines over any `fetch`: a connect deadline (until the response head
 * arrives: connection, TLS, request upload and the server's first answer — `fetch` offers no
 * finer hook) and an idle deadline while the body is read (it restarts whenever bytes
 * arrive, so a slow but steady download is never cut). An overall `signal` (a command's time
 * budget) aborts every request. A deadline fails with `KarsError("TRANSIENT")` naming the
 * host, the request and the phase.
 *
 * Long-lived streams (Kubernetes watches, kept alive by bookmarks) opt out of the idle
 * deadline with `idleTimeoutMs: 0`.
 *
 * @module
 */
import { KarsError } from "../errors.ts";

/** Default connect and idle deadline of one request (30 s). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Per-request deadlines, in milliseconds. `0` or `Infinity` turns one off. */
export interface RequestDeadlines {
  /** Until the response head has arrived (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  connectTimeoutMs?: number;
  /** Longest pause between body bytes (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  idleTimeoutMs?: number;
}

/** Options of {@link withDeadlines}. */
export interface DeadlineFetchOptions extends RequestDeadlines {
  /** Aborts every request made through the returned `fetch` (e.g. a command's budget). */
  signal?: AbortSignal;
}

/**
 * True for an error produced by a deadline of {@link withDeadlines} (or the overall signal
 * given to it).
 *
 * @example
 * ```ts
 * import { isDeadlineError } from "./deadline.ts";
 * isDeadlineError(new Error("x")); // false
 * ```
 */
export function isDeadlineError(e: unknown): e is KarsError {
  return e instanceof KarsError && e.code === "TRANSIENT" && e.details?.deadline !== undefined;
}

/**
 * A `KarsError("TRANSIENT")` for a spent time budget (the reason to abort an overall signal
 * with, so that requests report it).
 *
 * @example
 * ```ts
 * import { budgetExceeded } from "./deadline.ts";
 * const ac = new AbortController();
 * ac.abort(budgetExceeded(120_000));
 * ```
 */
export function budgetExceeded(ms: number): KarsError {
  return new KarsError(
    "TRANSIENT",
    `the time budget of ${formatMs(ms)} ran out`,
    { details: { deadline: "total", timeoutMs: ms } },
  );
}

/**
 * Wraps `base` so that every request gets the connect and idle deadlines and the overall
 * signal. The caller's own `init.signal` still works (its reason is passed on). A response
 * body that is never read holds no timer.
 *
 * @example
 * ```ts
 * import { withDeadlines } from "./deadline.ts";
 * const f = withDeadlines(fetch, { connectTimeoutMs: 5_000, idleTimeoutMs: 5_000 });
 * // const res = await f("https://registry.example/v2/");
 * ```
 */
export function withDeadlines(base: typeof fetch, opts: DeadlineFetchOptions = {}): typeof fetch {
  const connectMs = opts.connectTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const overall = opts.signal;
  const f = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init.method ?? (input instanceof Request ? input.method : "GET");
    const what = `${method} ${url.origin}${url.pathname}`;
    const ac = new AbortController();
    const links: (() => void)[] = [];
    const link = (s: AbortSignal | null | undefined) => {
      if (!s) return;
      const on = () => ac.abort(s.reason);
      if (s.aborted) on();
      else {
        s.addEventListener("abort", on, { once: true });
        links.push(() => s.removeEventListener("abort", on));
      }
    };
    link(init.signal);
    link(overall);
    const unlink = () => links.splice(0).forEach((u) => u());
    const fail = (phase: "connect" | "idle", ms: number) =>
      new KarsError(
        "TRANSIENT",
        phase === "connect"
          ? `${url.host}: no response to ${what} within ${formatMs(ms)}`
          : `${url.host}: no data for ${formatMs(ms)} while reading the response to ${what}`,
        { details: { deadline: phase, host: url.host, timeoutMs: ms } },
      );
    const reasonOr = (e: unknown) => {
      const r = ac.signal.reason;
      return ac.signal.aborted && r instanceof KarsError ? r : e;
    };
    let timer = on(connectMs)
      ? setTimeout(() => ac.abort(fail("connect", connectMs)), connectMs)
      : 0;
    let res: Response;
    try {
      res = await base(input, { ...init, signal: ac.signal });
    } catch (e) {
      clearTimeout(timer);
      unlink();
      throw reasonOr(e);
    }
    clearTimeout(timer);
    if (!res.body || NULL_BODY.has(res.status)) {
      unlink();
      return res;
    }
    const reader = res.body.getReader();
    let finished = false;
    const finish = () => {
      finished = true;
      clearTimeout(timer);
      unlink();
    };
    ac.signal.addEventListener("abort", () => {
      if (!finished) reader.cancel(ac.signal.reason).catch(() => {});
    }, { once: true });
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        if (on(idleMs)) timer = setTimeout(() => ac.abort(fail("idle", idleMs)), idleMs);
        try {
          const { done, value } = await reader.read();
          clearTimeout(timer);
          if (ac.signal.aborted) throw ac.signal.reason;
          if (done) {
            finish();
            ctrl.close();
          } else ctrl.enqueue(value);
        } catch (e) {
          finish();
          ctrl.error(reasonOr(e));
        }
      },
      async cancel(reason) {
        finish();
        await reader.cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  };
  return f as typeof fetch;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function on(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0;
}

/**
 * Formats milliseconds as Go-style duration text: `30s`, `2m`, `1m30s`, `250ms`.
 *
 * @example
 * ```ts
 * import { formatMs } from "./deadline.ts";
 * formatMs(90_000); // "1m30s"
 * ```
 */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${r || (!h && !m) ? `${r}s` : ""}`;
}
