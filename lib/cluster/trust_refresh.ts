/**
 * The trust root of a long-running process (the webhook), refreshed periodically (a TUF
 * refresh): a failed refresh keeps the current root; a new one replaces it (the caller's
 * `onChange`; the verdict cache's keys name the root, so emptying it only frees memory).
 *
 * @module
 */
import { sleep } from "../kube/backoff.ts";
import type { TrustedRoot } from "../verify/sigstore/mod.ts";

/** Options of {@link TrustRootKeeper.run}. */
export interface TrustRefreshOptions {
  /** Fetches the current root (e.g. `resolveTrustedRoot({ refresh: true })`). */
  refresh: () => Promise<TrustedRoot>;
  /** Time between refreshes in ms. */
  intervalMs: number;
  /** Called after a new root is in place (e.g. clear the verdict cache). */
  onChange?: (root: TrustedRoot) => void;
  /** Called when a refresh fails (the current root stays). */
  onError?: (e: unknown) => void;
  /** Ends the loop. */
  signal: AbortSignal;
}

/**
 * Holds the trust root in force.
 *
 * @example
 * ```ts
 * import { TrustRootKeeper } from "./trust_refresh.ts";
 * const keeper = new TrustRootKeeper({} as never);
 * keeper.current(); // the root given
 * ```
 */
export class TrustRootKeeper {
  #root: TrustedRoot;

  /** Keeps `initial` until a refresh replaces it. @param initial the root in force at start */
  constructor(initial: TrustedRoot) {
    this.#root = initial;
  }

  /** The root in force. */
  current(): TrustedRoot {
    return this.#root;
  }

  /** Refreshes every `intervalMs` until `signal` aborts. */
  async run(o: TrustRefreshOptions): Promise<void> {
    while (!o.signal.aborted) {
      try {
        await sleep(o.intervalMs, o.signal);
      } catch {
        return;
      }
      let next: TrustedRoot;
      try {
        next = await o.refresh();
      } catch (e) {
        o.onError?.(e);
        continue;
      }
      if (next !== this.#root) {
        this.#root = next;
        o.onChange?.(next);
      }
    }
  }
}
