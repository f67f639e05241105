/**
 * A per-run read cache over a {@link Target}: what one run has already read **by digest** from
 * a repository is answered again without a request — a manifest fetched by digest, a blob, and
 * the existence (`resolve`, `blobExists`) of either. Content-addressed reads are safe to share:
 * the bytes of a digest never change, and the Target checked them against the digest when it
 * fetched them.
 *
 * Tags are not content-addressed: a tag is never answered from the cache (`resolve("latest")`,
 * `fetchManifest("sha256-….sig")` always reach the target), and nothing is cached from a write —
 * a read-back after a write stays a real request. The cache is bounded (entry and total bytes;
 * the oldest entries go first) and lives as long as the wrapper: one run.
 *
 * @module
 */
import { type Digest, isDigest } from "../encoding/digest.ts";
import type { UploadOptions } from "./blob_upload.ts";
import type { Descriptor, FetchedManifest, RequestOptions, Target } from "./types.ts";

/** Bounds of a {@link cachingTarget}'s cache. */
export interface ReadCacheOptions {
  /** Largest manifest or blob kept (bytes; default 4 MiB). */
  maxEntryBytes?: number;
  /** Most bytes kept in all (default 16 MiB); the oldest entries are dropped first. */
  maxBytes?: number;
}

/** What a {@link cachingTarget} answered from memory (tests, benchmarks). */
export interface ReadCacheStats {
  /** Reads answered without a request. */
  hits: number;
  /** Reads passed to the target. */
  misses: number;
}

/** A {@link Target} with a per-run read cache (see the module documentation). */
export interface CachingTarget extends Target {
  /** Hits and misses so far. */
  readonly stats: ReadCacheStats;
  /** The wrapped target. */
  readonly inner: Target;
}

type Entry =
  | { kind: "manifest"; fetched: FetchedManifest }
  | { kind: "blob"; bytes: Uint8Array };

/**
 * Wraps `inner` in a per-run read cache (see the module documentation). Optional capabilities
 * of the target (`uploadBlob`, `willPush`, `recheckBlobs`, `pushManifestIf`) are kept.
 *
 * @example
 * ```ts
 * import { cachingTarget } from "./read_cache.ts";
 * import { MemoryTarget } from "./memory.ts";
 * import { digestBytes } from "../encoding/digest.ts";
 * const inner = new MemoryTarget();
 * const blob = new TextEncoder().encode("hello");
 * const d = digestBytes(blob);
 * await inner.pushBlob({ digest: d, size: blob.length }, blob);
 * const t = cachingTarget(inner);
 * await t.fetchBlob(d, blob.length); // a read of the target
 * await t.fetchBlob(d, blob.length); // answered from the cache
 * await t.blobExists(d); // true, from the cache
 * t.stats; // { hits: 2, misses: 1 }
 * ```
 */
export function cachingTarget(inner: Target, opts: ReadCacheOptions = {}): CachingTarget {
  const maxEntry = opts.maxEntryBytes ?? 4 * 1024 * 1024;
  const maxTotal = opts.maxBytes ?? 16 * 1024 * 1024;
  const entries = new Map<Digest, Entry>();
  let total = 0;
  const stats: ReadCacheStats = { hits: 0, misses: 0 };
  const recheck = (inner as { recheckBlobs?: boolean }).recheckBlobs === true;
  const sizeOf = (e: Entry) => e.kind === "blob" ? e.bytes.length : e.fetched.bytes.length;
  const put = (digest: Digest, e: Entry) => {
    const n = sizeOf(e);
    if (n > maxEntry || n > maxTotal || entries.has(digest)) return;
    for (const [k, old] of entries) {
      if (total + n <= maxTotal) break;
      entries.delete(k);
      total -= sizeOf(old);
    }
    entries.set(digest, e);
    total += n;
  };
  const copy = (b: Uint8Array) => b.slice(); // a caller may alter what it was given
  const hit = () => stats.hits++;
  const miss = () => stats.misses++;

  const t: CachingTarget = {
    location: inner.location,
    stats,
    inner,
    async blobExists(digest: Digest, options?: RequestOptions): Promise<boolean> {
      // A layout's files can be altered behind its back: its push re-checks them for real.
      if (!recheck && entries.get(digest)?.kind === "blob") {
        hit();
        return true;
      }
      miss();
      return await inner.blobExists(digest, options);
    },
    async fetchBlob(digest: Digest, size?: number, options?: RequestOptions) {
      const e = entries.get(digest);
      if (e?.kind === "blob" && (size === undefined || e.bytes.length === size)) {
        hit();
        return copy(e.bytes);
      }
      miss();
      const bytes = await inner.fetchBlob(digest, size, options);
      put(digest, { kind: "blob", bytes: copy(bytes) });
      return bytes;
    },
    pushBlob: (desc, data, options) => inner.pushBlob(desc, data, options),
    async resolve(reference: string, options?: RequestOptions): Promise<Descriptor | null> {
      const e = isDigest(reference) ? entries.get(reference) : undefined;
      if (e?.kind === "manifest") {
        hit();
        return { ...e.fetched.descriptor };
      }
      miss();
      return await inner.resolve(reference, options);
    },
    async fetchManifest(reference: string, options?: RequestOptions): Promise<FetchedManifest> {
      if (!isDigest(reference)) {
        miss();
        return await inner.fetchManifest(reference, options); // a tag: never cached
      }
      const e = entries.get(reference);
      if (e?.kind === "manifest") {
        hit();
        return { descriptor: { ...e.fetched.descriptor }, bytes: copy(e.fetched.bytes) };
      }
      miss();
      const got = await inner.fetchManifest(reference, options);
      // The target checked the bytes against the digest it was asked for.
      if (got.descriptor.digest === reference) {
        put(reference, {
          kind: "manifest",
          fetched: { descriptor: { ...got.descriptor }, bytes: copy(got.bytes) },
        });
      }
      return got;
    },
    pushManifest: (bytes, mediaType, tag) => inner.pushManifest(bytes, mediaType, tag),
    tag: (desc, tag) => inner.tag(desc, tag),
    listTags: () => inner.listTags(),
    referrers: (subject, artifactType) => inner.referrers(subject, artifactType),
  };
  if (inner.pushManifestIf) {
    const cas = inner.pushManifestIf.bind(inner);
    t.pushManifestIf = (bytes, mediaType, tag, expected) => cas(bytes, mediaType, tag, expected);
  }
  // Capabilities found by duck typing (copy.ts): kept, so the wrapper pushes the same way.
  const caps = inner as Partial<{
    uploadBlob: (
      d: Pick<Descriptor, "digest" | "size">,
      b: Uint8Array,
      o?: UploadOptions,
    ) => Promise<void>;
    willPush: () => void;
    recheckBlobs: boolean;
  }>;
  const out = t as CachingTarget & typeof caps;
  if (typeof caps.uploadBlob === "function") out.uploadBlob = caps.uploadBlob.bind(inner);
  if (typeof caps.willPush === "function") out.willPush = caps.willPush.bind(inner);
  if (caps.recheckBlobs !== undefined) out.recheckBlobs = caps.recheckBlobs;
  return t;
}
