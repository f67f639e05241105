/**
 * The one retry policy of the registry client: which answers are worth another attempt
 * (408, 429, 5xx), how long to wait (exponential backoff with equal jitter: a random wait
 * between half and all of the capped exponential step; `Retry-After` honoured up to a
 * bound), and the one loop that applies it within an operation's deadline.
 * `RegistryClient.send` retries idempotent requests with it; a blob upload restarts from
 * its start with it.
 *
 * @module
 */
import { abortableSleep } from "../io/concurrency.ts";

/** Retry policy for idempotent requests. */
export interface RetryOptions {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  /**
   * First backoff step in ms (default 200); the step doubles each time up to `maxMs`, and the
   * wait is a random time between half and all of it (equal jitter).
   */
  baseMs?: number;
  /** Largest backoff step in ms (default 5000). */
  maxMs?: number;
  /**
   * Largest honoured `Retry-After` in ms (default 10000). A server asking for a longer wait
   * fails the request at once (`TRANSIENT`) instead of holding the caller.
   */
  maxRetryAfterMs?: number;
}

/** A retry policy with every default filled in. */
export type RetryPolicy = Readonly<Required<RetryOptions>>;

/**
 * The policy in force for `options`: each unset field takes its default (4 attempts,
 * 200 ms first backoff, 5 s largest backoff, 10 s largest honoured `Retry-After`).
 *
 * @example
 * ```ts
 * import { retryPolicy } from "./retry.ts";
 * retryPolicy({ attempts: 2 }); // { attempts: 2, baseMs: 200, maxMs: 5000, maxRetryAfterMs: 10000 }
 * ```
 */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    attempts: options.attempts ?? 4,
    baseMs: options.baseMs ?? 200,
    maxMs: options.maxMs ?? 5000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
  };
}

/**
 * True for 408, 429 and 5xx.
 *
 * @example
 * ```ts
 * import { isRetryableStatus } from "./retry.ts";
 * isRetryableStatus(503); // true
 * ```
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * Parses `Retry-After` (delta seconds or HTTP date) into ms; `undefined` when absent/invalid.
 *
 * @example
 * ```ts
 * import { retryAfterMs } from "./retry.ts";
 * retryAfterMs("2"); // 2000
 * ```
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** What bounds the retries: the operation's deadline (epoch ms) and its abort signal. */
export interface RetryScope {
  /** Epoch ms after which no further wait is started. */
  deadline: number;
  /** Aborted when the operation is over (deadline, cancellation). */
  signal: AbortSignal;
}

/**
 * The outcome of one attempt: `done` ends the loop with a value; `retry` asks for another
 * attempt after the backoff (or after `afterMs`, a server's `Retry-After`), and is thrown
 * when no attempt or no time is left.
 */
export type Attempt<T> = { done: T } | { retry: unknown; afterMs?: number };

/**
 * Runs `attempt` up to `attempts` times (at least once), waiting between attempts as the
 * `policy` says, never past `scope.deadline` and never after `scope.signal` aborted: then the
 * last attempt's `retry` error is thrown. `attempt` gets its number (from 1) and whether it
 * is the last one; whatever it throws ends the loop.
 *
 * @example
 * ```ts
 * import { retryPolicy, withRetries } from "./retry.ts";
 * const scope = { deadline: Date.now() + 1000, signal: new AbortController().signal };
 * const policy = retryPolicy({ baseMs: 1 });
 * const v = await withRetries(scope, policy, 3, (n) =>
 *   Promise.resolve(n < 2 ? { retry: new Error("flaky") } : { done: n }));
 * v; // 2
 * ```
 */
export async function withRetries<T>(
  scope: RetryScope,
  policy: RetryPolicy,
  attempts: number,
  attempt: (n: number, last: boolean) => Promise<Attempt<T>>,
): Promise<T> {
  const total = Math.max(1, attempts);
  for (let n = 1;; n++) {
    const r = await attempt(n, n >= total);
    if ("done" in r) return r.done;
    if (n >= total || !(await backoff(scope, policy, n, r.afterMs))) throw r.retry;
  }
}

/** Waits before attempt `n + 1`; false when the deadline or an abort leaves no time for it. */
async function backoff(
  scope: RetryScope,
  policy: RetryPolicy,
  n: number,
  retryAfter: number | undefined,
): Promise<boolean> {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
  const delay = retryAfter ?? Math.floor(exp / 2 + Math.random() * exp / 2);
  if (Date.now() + delay >= scope.deadline || scope.signal.aborted) return false;
  await abortableSleep(delay, scope.signal);
  return !scope.signal.aborted;
}
