/**
 * Moved to `lib/io/transport.ts` (TLS transports, deadlines and bounded reads live in
 * `lib/io/`); this module re-exports it so existing imports keep working.
 *
 * @example
 * ```ts
 * import { createFetch } from "./transport.ts";
 * const f = createFetch();
 * ```
 *
 * @module
 */
export * from "./io/transport.ts";
