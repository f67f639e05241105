/**
 * A small cache of verification verdicts, keyed by artifact (registry, repository, manifest
 * digest) and SignerPolicy hash. Only verdicts are stored — never transient faults — and not
 * the access-dependent verdicts `NotFound` / `Unauthorized`, which may change without the
 * content changing. Entries expire after `ttlMs`; the oldest go first past `maxEntries`.
 *
 * Keys name the trust root in force (by object identity): after a trust-root refresh a lookup
 * under the new root never returns a verdict reached under the old one — not even one stored
 * by a verification that was still running when the root changed. Clearing the cache on a
 * refresh only frees the old entries sooner.
 *
 * @module
 */
import type { AllowlistVerifiedCondition } from "./conditions.ts";

/** What the cache needs of a result. */
export interface Cacheable {
  /** The condition. */
  condition: AllowlistVerifiedCondition;
}

/** Options of {@link VerdictCache}. */
export interface VerdictCacheOptions {
  /** Lifetime of an entry in ms (default 300 000). */
  ttlMs?: number;
  /** Most entries kept (default 1 000). */
  maxEntries?: number;
  /** Clock in ms (default `Date.now`); injectable for tests. */
  clock?: () => number;
}

const rootIds = new WeakMap<object, number>();
let nextRootId = 1;

/** A number naming one trust-root object for as long as it lives. */
function rootId(root: object): number {
  let id = rootIds.get(root);
  if (id === undefined) rootIds.set(root, id = nextRootId++);
  return id;
}

/**
 * The cache key of an artifact under a policy and, when given, the trust root in force (by
 * object identity: a refreshed root is a new object, so it gets new keys). Pass the root
 * whenever it can change while the cache lives: a key without it must not outlive the root
 * its verdict was reached under.
 *
 * @example
 * ```ts
 * import { verdictCacheKey } from "./cache.ts";
 * verdictCacheKey({ registry: "r.example", repository: "p", digest: "sha256:" + "0".repeat(64) }, "sha256:1");
 * ```
 */
export function verdictCacheKey(
  ref: { registry: string; repository: string; digest: string },
  policyHash: string,
  trustRoot?: object,
): string {
  const root = trustRoot ? `|root#${rootId(trustRoot)}` : "";
  return `${ref.registry}/${ref.repository}@${ref.digest}|${policyHash}${root}`;
}

/**
 * Verdict cache.
 *
 * @example
 * ```ts
 * import { VerdictCache } from "./cache.ts";
 * import { verifiedCondition } from "./conditions.ts";
 * const cache = new VerdictCache<{ condition: ReturnType<typeof verifiedCondition> }>();
 * cache.set("k", { condition: verifiedCondition("sha256:" + "0".repeat(64), 1) });
 * cache.get("k")?.condition.status; // "True"
 * ```
 */
export class VerdictCache<T extends Cacheable = Cacheable> {
  #entries = new Map<string, { value: T; expires: number }>();
  #ttl: number;
  #max: number;
  #clock: () => number;

  /**
   * Builds an empty cache.
   *
   * @param opts see {@link VerdictCacheOptions}
   */
  constructor(opts: VerdictCacheOptions = {}) {
    this.#ttl = opts.ttlMs ?? 300_000;
    this.#max = opts.maxEntries ?? 1000;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Number of live entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** The cached result for `key`, or `undefined` (expired entries are dropped). */
  get(key: string): T | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (this.#clock() >= e.expires) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Stores `value` when it is cacheable (a verdict other than NotFound/Unauthorized); returns whether it did. */
  set(key: string, value: T): boolean {
    if (!VerdictCache.cacheable(value)) return false;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.#clock() + this.#ttl });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return true;
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }

  /** True for verdicts (True/False) except the access-dependent NotFound and Unauthorized. */
  static cacheable(value: Cacheable): boolean {
    const c = value.condition;
    if (c.status === "True") return true;
    if (c.status !== "False") return false;
    return c.reason !== "NotFound" && c.reason !== "Unauthorized";
  }
}
