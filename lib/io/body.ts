/**
 * Bounded reads of HTTP response bodies: streamed with a cap, never buffered past it. A
 * `Content-Length` above the cap fails before any byte is read; a body that grows past the
 * cap (chunked, or lying about its length) is cancelled after `cap + 1` bytes.
 *
 * The caps used by the library: {@link MANIFEST_MAX_BYTES} for manifests, referrers indexes
 * and other registry JSON; {@link SMALL_BODY_MAX_BYTES} for token responses and error
 * bodies; a blob's descriptor size for blobs.
 *
 * @module
 */
import { concatBytes } from "../encoding/bytes.ts";
import { type ErrorCode, KarsError } from "../errors.ts";

/** Largest manifest accepted (4 MiB, the limit of the distribution registry). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** Largest token response or error body read (1 MiB). */
export const SMALL_BODY_MAX_BYTES = 1024 * 1024;

/** Options of {@link readBody}. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** What is read, for messages, e.g. `127.0.0.1:5000/a/b: fetch manifest latest`. */
  what: string;
  /** Code of the error thrown when the body is too large (default `REGISTRY`). */
  code?: ErrorCode;
  /** Extra error details for the too-large error (e.g. `{ reason: "DigestMismatch" }`). */
  details?: Record<string, unknown>;
  /**
   * The size the body should have (a blob's descriptor size): the bytes are then read into one
   * buffer of that size instead of being collected and joined (half the peak memory).
   */
  expectedBytes?: number;
}

/**
 * Reads a whole response body, at most `maxBytes` of it. Throws `KarsError` (`code`, default
 * `REGISTRY`, `details.reason` `TooLarge` unless given) when `Content-Length` or the bytes
 * received exceed the cap; the body is then cancelled. A failure while reading (connection
 * lost) is `TRANSIENT`; a deadline error from the transport is passed on with `what` prefixed.
 *
 * @example
 * ```ts
 * import { readBody } from "./body.ts";
 * const bytes = await readBody(new Response("{}"), { maxBytes: 1024, what: "example" });
 * bytes.length; // 2
 * ```
 */
export async function readBody(res: Response, opts: ReadBodyOptions): Promise<Uint8Array> {
  const max = opts.maxBytes;
  const tooLarge = (n: string) =>
    new KarsError(
      opts.code ?? "REGISTRY",
      `${opts.what}: the response is larger than the limit of ${max} bytes (${n}); refusing to read it`,
      { details: { reason: "TooLarge", maxBytes: max, ...opts.details } },
    );
  const announced = contentLength(res);
  if (announced !== undefined && announced > max) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(`Content-Length ${announced}`);
  }
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  let over = false;
  // One buffer of the expected (or announced) size, allocated when the first bytes arrive.
  const presize = opts.expectedBytes ?? announced;
  let buf: Uint8Array | undefined;
  let sized = presize !== undefined && presize > 0 && presize <= max;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const at = n;
      n += value.length;
      if (n > max) {
        over = true;
        break;
      }
      if (sized) {
        buf ??= new Uint8Array(presize!);
        if (n <= buf.length) {
          buf.set(value, at);
          continue;
        }
        // Longer than expected (but within the cap): collect from here on.
        chunks.push(buf.subarray(0, at));
        buf = undefined;
        sized = false;
      }
      chunks.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw readError(opts.what, e);
  } finally {
    if (over) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  if (over) throw tooLarge(`at least ${n} bytes received`);
  if (buf) return n === buf.length ? buf : buf.subarray(0, n);
  return chunks.length === 1 ? chunks[0] : concatBytes(...chunks);
}

/**
 * Reads at most `maxBytes` of a body and cancels the rest; never fails on size (for error
 * bodies, which are only quoted). A read failure yields what arrived so far.
 *
 * @example
 * ```ts
 * import { readBodyPrefix } from "./body.ts";
 * const head = await readBodyPrefix(new Response("0123456789"), 4);
 * new TextDecoder().decode(head); // "0123"
 * ```
 */
export async function readBodyPrefix(res: Response, maxBytes: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < maxBytes) {
      const { done, value } = await reader.read();
      if (done) return concatBytes(...chunks);
      const take = value.subarray(0, Math.min(value.length, maxBytes - n));
      chunks.push(take);
      n += take.length;
    }
    await reader.cancel().catch(() => {});
  } catch {
    await reader.cancel().catch(() => {});
  } finally {
    reader.releaseLock();
  }
  return concatBytes(...chunks);
}

/**
 * Reads a body as UTF-8 text with {@link readBody}'s cap.
 *
 * @example
 * ```ts
 * import { readBodyText } from "./body.ts";
 * await readBodyText(new Response("ok"), { maxBytes: 16, what: "example" }); // "ok"
 * ```
 */
export async function readBodyText(res: Response, opts: ReadBodyOptions): Promise<string> {
  return new TextDecoder().decode(await readBody(res, opts));
}

function contentLength(res: Response): number | undefined {
  const v = res.headers.get("content-length");
  if (v === null || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

function readError(what: string, e: unknown): KarsError {
  if (e instanceof KarsError) {
    return new KarsError(e.code, `${what}: ${e.message}`, {
      cause: e,
      ...(e.details ? { details: e.details } : {}),
    });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new KarsError(
    "TRANSIENT",
    `${what}: the response was interrupted (${msg.slice(0, 200)}); retry`,
    { cause: e },
  );
}
