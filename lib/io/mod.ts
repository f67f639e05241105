/**
 * Bounded, safe I/O the rest of the library is built on: {@link writeFileAtomic} (write to
 * a temporary file, then rename: never half-written), {@link createFetch} (a `fetch` with a
 * custom CA or client certificate), {@link withDeadlines} (connect and idle deadlines on
 * every request) and {@link readBody} (read a response body up to a byte limit).
 *
 * @example
 * ```ts
 * import { MANIFEST_MAX_BYTES, readBody, withDeadlines } from "jsr:@kars/egress/io";
 *
 * const f = withDeadlines(fetch, { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000 });
 * const res = await f("https://example.com/");
 * const body = await readBody(res, { maxBytes: MANIFEST_MAX_BYTES, what: "the page" });
 * console.log(body.length);
 * ```
 *
 * @module
 */

export { writeFileAtomic } from "./fs_atomic.ts";
export type { WriteOptions } from "./fs_atomic.ts";
export { createFetch } from "./transport.ts";
export type { TransportOptions } from "./transport.ts";
export { withDeadlines } from "./deadline.ts";
export type { DeadlineFetchOptions, RequestDeadlines } from "./deadline.ts";
export { MANIFEST_MAX_BYTES, readBody, SMALL_BODY_MAX_BYTES } from "./body.ts";
export type { ReadBodyOptions } from "./body.ts";

// Types the signatures above use.
export type { ErrorCode } from "../errors.ts";
