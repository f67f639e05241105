/**
 * Bounded exponential backoff with jitter, as client-go's reflector uses between relists and
 * re-watches: `initialMs · factor^attempt`, capped at `maxMs`, then scaled by a random factor
 * in `[1 - jitter, 1]` so that many clients do not reconnect in lockstep.
 *
 * @module
 */

/** Backoff parameters. */
export interface BackoffOptions {
  /** First delay in ms (default 500). */
  initialMs?: number;
  /** Largest delay in ms (default 30 000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is random, 0–1 (default 0.5). */
  jitter?: number;
}

/**
 * The delay before retry number `attempt` (0-based).
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * backoffDelay(0, { initialMs: 100, jitter: 0 }); // 100
 * backoffDelay(10, { initialMs: 100, maxMs: 1000, jitter: 0 }); // 1000
 * ```
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = opts.initialMs ?? 500;
  const max = opts.maxMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  const base = Math.min(max, initial * Math.pow(factor, Math.min(attempt, 64)));
  return Math.round(base * (1 - jitter * random()));
}

/**
 * Sleeps `ms`, ending early (rejecting with the signal's reason) when `signal` aborts.
 *
 * @example
 * ```ts
 * import { sleep } from "./backoff.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
