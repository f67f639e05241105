/**
 * Structured concurrency for sibling requests: run tasks in parallel under one
 * `AbortController`; on the first failure abort the others and wait for every one of them to
 * settle before reporting. Nothing started by an operation runs after the operation has
 * returned or thrown (no stray request reaches a server later, no write lands late).
 *
 * @module
 */

/** Options of {@link parallel} and {@link parallelMap}. */
export interface ParallelOptions {
  /** Aborts every task (and starts no new one) when it fires. */
  signal?: AbortSignal;
}

/**
 * Runs `fn` over `items` with at most `concurrency` tasks at a time. Each task gets an
 * `AbortSignal` shared by all of them: it fires on the first failure (reason: that error) or
 * when `options.signal` fires. Always waits for every started task to settle; then returns the
 * results in item order or throws the first error. When `options.signal` fires before every
 * item has started, throws its reason.
 *
 * @example
 * ```ts
 * import { parallelMap } from "./concurrency.ts";
 * const lengths = await parallelMap(["a", "bb"], 4, (s, signal) => {
 *   signal.throwIfAborted();
 *   return Promise.resolve(s.length);
 * });
 * // lengths: [1, 2]
 * ```
 */
export async function parallelMap<I, T>(
  items: readonly I[],
  concurrency: number,
  fn: (item: I, signal: AbortSignal, index: number) => Promise<T>,
  options: ParallelOptions = {},
): Promise<T[]> {
  const ac = new AbortController();
  const parent = options.signal;
  const onParent = () => ac.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  const results = new Array<T>(items.length);
  let failed = false;
  let first: unknown;
  let next = 0;
  let completed = 0;
  const worker = async () => {
    while (!failed && !ac.signal.aborted && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], ac.signal, i);
        completed++;
      } catch (e) {
        if (!failed) {
          failed = true;
          first = e;
          ac.abort(e);
        }
      }
    }
  };
  try {
    const n = Math.max(1, Math.min(Math.floor(concurrency) || 1, items.length));
    // Workers never reject: this waits for every started task.
    await Promise.all(Array.from({ length: n }, worker));
  } finally {
    parent?.removeEventListener("abort", onParent);
  }
  if (failed) throw first;
  if (completed < items.length) throw parent?.reason ?? new Error("aborted");
  return results;
}

/**
 * Runs every task at once; see {@link parallelMap} for the abort-and-await contract.
 *
 * @example
 * ```ts
 * import { parallel } from "./concurrency.ts";
 * const [a, b] = await parallel([
 *   () => Promise.resolve(1),
 *   (signal) => new Promise<number>((r) => signal.aborted ? r(0) : r(2)),
 * ]);
 * ```
 */
export function parallel<T>(
  tasks: readonly ((signal: AbortSignal) => Promise<T>)[],
  options: ParallelOptions = {},
): Promise<T[]> {
  return parallelMap(tasks, tasks.length, (t, signal) => t(signal), options);
}

/**
 * Waits `ms` milliseconds, or less when `signal` aborts (it resolves either way; the caller
 * checks the signal).
 *
 * @example
 * ```ts
 * import { abortableSleep } from "./concurrency.ts";
 * await abortableSleep(10, new AbortController().signal);
 * ```
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
