/**
 * HTTP calls to the signing services (Fulcio, Rekor, TSA, Azure, GitHub Actions) with
 * failures turned into `KarsError("SIGN")` that name the service, the URL and the fix —
 * and never contain a credential: request headers are never echoed, and anything that
 * looks like a JWT or bearer token in a response body is redacted before it is quoted.
 *
 * @module
 */
import { concatBytes } from "../encoding/bytes.ts";
import { KarsError } from "../errors.ts";
import { isDeadlineError, type RequestDeadlines, withDeadlines } from "../io/deadline.ts";

/** The `fetch` signature the signers accept (injectable for tests and custom transports). */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const JWT_RE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/**
 * Removes JWT-shaped strings and the given secrets from `text`, and caps its length.
 *
 * @example
 * ```ts
 * import { redact } from "./http.ts";
 * redact("bad token abcdefgh.ijklmnop.qrstuvwx", []); // "bad token [redacted]"
 * ```
 */
export function redact(text: string, secrets: string[], max = 300): string {
  let out = text.replace(JWT_RE, "[redacted]");
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  out = out.replace(/\s+/g, " ").trim();
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/**
 * Options of {@link callService}. `connectTimeoutMs` and `idleTimeoutMs` (default 30 s each)
 * bound the request; a deadline fails with `TRANSIENT`.
 */
export interface ServiceCall extends RequestDeadlines {
  /** Service name for messages, e.g. `Fulcio`. */
  service: string;
  /** What to do about a failure, appended to the message (in library terms, no flags). */
  hint: string;
  /**
   * The library options that fix a failure (e.g. `["rekorUrl", "tlogUpload"]`), carried as
   * `details.fixOptions` of every error so the CLI can name its flags.
   */
  fixOptions?: readonly string[];
  /** Secrets sent with the request: redacted from anything quoted. */
  secrets?: string[];
  /** Status codes accepted (default: 200, 201). */
  ok?: number[];
  /** Transport. */
  fetch?: FetchFn;
  /** Largest response body accepted (default 16 MiB). */
  maxBytes?: number;
}

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

async function readLimited(res: Response, max: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body) {
    n += chunk.length;
    if (n > max) {
      await res.body.cancel().catch(() => {});
      throw new KarsError("SIGN", `response larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return concatBytes(...chunks);
}

/**
 * Sends a request and returns the response body bytes when the status is accepted;
 * otherwise throws `KarsError("SIGN")` with `details: { service, url, status? }`.
 *
 * @example
 * ```ts
 * import { callService } from "./http.ts";
 * const body = await callService("https://rekor.sigstore.dev/api/v1/log/entries", {
 *   method: "POST",
 *   body: "{}",
 * }, { service: "Rekor", hint: "check the Rekor URL", fixOptions: ["rekorUrl"] });
 * ```
 */
export async function callService(
  url: string,
  init: RequestInit,
  call: ServiceCall,
): Promise<Uint8Array> {
  const f = withDeadlines((call.fetch ?? fetch) as typeof fetch, {
    ...(call.connectTimeoutMs !== undefined ? { connectTimeoutMs: call.connectTimeoutMs } : {}),
    ...(call.idleTimeoutMs !== undefined ? { idleTimeoutMs: call.idleTimeoutMs } : {}),
  });
  const secrets = call.secrets ?? [];
  const where = safeUrl(url);
  const fix = call.fixOptions?.length ? { fixOptions: [...call.fixOptions] } : {};
  const timedOut = (e: KarsError) =>
    new KarsError("TRANSIENT", `${call.service} at ${where}: ${e.message}; retry later`, {
      cause: e,
      details: { service: call.service, url: where, reason: "timeout", ...e.details, ...fix },
    });
  let res: Response;
  try {
    res = await f(url, init);
  } catch (e) {
    if (isDeadlineError(e)) throw timedOut(e);
    const why = redact(e instanceof Error ? e.message : String(e), secrets);
    // Connection refused, DNS, reset: worth a retry (exit 5), as registry faults are.
    throw new KarsError(
      "TRANSIENT",
      `${call.service} at ${where} is unreachable (${why}); ${call.hint}`,
      { details: { service: call.service, url: where, reason: "unreachable", ...fix } },
    );
  }
  let body: Uint8Array;
  try {
    body = await readLimited(res, call.maxBytes ?? MAX_RESPONSE_BYTES);
  } catch (e) {
    if (isDeadlineError(e)) throw timedOut(e);
    if (e instanceof KarsError) {
      throw new KarsError("SIGN", `${call.service} at ${where}: ${e.message}; ${call.hint}`, {
        details: { service: call.service, url: where, reason: "too-large", ...fix },
      });
    }
    const why = redact(e instanceof Error ? e.message : String(e), secrets);
    throw new KarsError(
      "SIGN",
      `${call.service} at ${where}: response interrupted (${why}); ${call.hint}`,
      { details: { service: call.service, url: where, reason: "unreachable", ...fix } },
    );
  }
  if (!(call.ok ?? [200, 201]).includes(res.status)) {
    let text = "";
    try {
      text = new TextDecoder().decode(body.subarray(0, 2000));
    } catch { /* binary */ }
    const quoted = redact(text, secrets);
    throw new KarsError(
      res.status >= 500 || res.status === 429 || res.status === 408 ? "TRANSIENT" : "SIGN",
      `${call.service} at ${where} answered HTTP ${res.status}${quoted ? ` (${quoted})` : ""}; ${
        res.status >= 500 ? "the service failed, retry later or " : ""
      }${call.hint}`,
      { details: { service: call.service, url: where, status: res.status, ...fix } },
    );
  }
  return body;
}

/**
 * Parses a JSON service response, throwing `KarsError("SIGN")` naming the service when
 * it is not JSON.
 *
 * @example
 * ```ts
 * import { parseServiceJson } from "./http.ts";
 * parseServiceJson(new TextEncoder().encode("{}"), "Rekor"); // {}
 * ```
 */
export function parseServiceJson(body: Uint8Array, service: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new KarsError("SIGN", `${service} returned a response that is not JSON`, {
      details: { service },
    });
  }
}

/** The URL without credentials or query (for messages). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}
