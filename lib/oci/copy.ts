/**
 * Moving content between {@link Target}s: {@link copy} (a manifest or index graph, blobs
 * first, skipping what the destination has) and {@link pushArtifact} (the push path with
 * the fewest requests).
 *
 * @module
 */
import { fromUtf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes } from "../encoding/digest.ts";
import { isKarsError, KarsError } from "../errors.ts";
import { parallelMap } from "../io/concurrency.ts";
import type { UploadOptions } from "./blob_upload.ts";
import { checkContent } from "./content.ts";
import { referrerDescriptor } from "./referrers.ts";
import { retryPolicy, withRetries } from "./retry.ts";
import {
  type Descriptor,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  type RequestOptions,
  type Target,
} from "./types.ts";

/** A target that can upload without a prior existence check (e.g. `RegistryTarget`). */
interface Uploader {
  uploadBlob(
    desc: Pick<Descriptor, "digest" | "size">,
    data: Uint8Array,
    opts?: UploadOptions,
  ): Promise<void>;
}

/**
 * Blobs up to this size are uploaded without a HEAD first when the push is known to be
 * fresh (see {@link pushArtifact} and {@link storeBlob}).
 */
export const SMALL_BLOB_BYTES = 64 * 1024;

/**
 * Stores a blob. With `knownAbsent` (the caller has just learnt that nothing referencing it
 * exists), a small blob is uploaded straight away, saving the HEAD that would answer 404;
 * otherwise the target checks for it first ({@link Target.pushBlob}).
 *
 * @example
 * ```ts
 * import { storeBlob } from "./copy.ts";
 * import { MemoryTarget } from "./memory.ts";
 * import { digestBytes } from "../encoding/digest.ts";
 * const data = new TextEncoder().encode("{}");
 * await storeBlob(new MemoryTarget(), { digest: digestBytes(data), size: 2 }, data, { knownAbsent: true });
 * ```
 */
export async function storeBlob(
  target: Target,
  desc: Pick<Descriptor, "digest" | "size">,
  data: Uint8Array,
  opts: { knownAbsent?: boolean } & RequestOptions = {},
): Promise<void> {
  const req = opts.signal ? { signal: opts.signal } : {};
  if (opts.knownAbsent && desc.size <= SMALL_BLOB_BYTES && hasUpload(target)) {
    checkContent(target.location, "blob to push", desc.digest, data, desc.size);
    await target.uploadBlob(desc, data, req);
  } else {
    await target.pushBlob(desc, data, req);
  }
}

function hasUpload(t: Target): t is Target & Uploader {
  return typeof (t as Partial<Uploader>).uploadBlob === "function";
}

function declarePush(t: Target): void {
  const w = (t as { willPush?: () => void }).willPush;
  if (typeof w === "function") w.call(t);
}

/** Options of {@link copy}. */
export interface CopyOptions {
  /** Tag to give the root manifest at the destination (default: the source tag, if any). */
  tag?: string;
  /** Blobs transferred in parallel (default 4). */
  concurrency?: number;
  /**
   * Also copy the manifests that refer to the root (`subject`, e.g. Sigstore bundles), and
   * theirs, recursively (default false).
   */
  referrers?: boolean;
  /** Cancels the blob transfers still running when it fires. */
  signal?: AbortSignal;
}

interface Parsed {
  mediaType: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

function parseManifest(bytes: Uint8Array, where: string): Parsed {
  try {
    const j = JSON.parse(fromUtf8(bytes));
    if (!j || typeof j !== "object") throw new Error("not an object");
    return j as Parsed;
  } catch (cause) {
    throw new KarsError("REGISTRY", `${where}: manifest is not JSON`, { cause });
  }
}

/**
 * Copies the manifest (or index, recursively) named by `reference` from `src` to `dst`:
 * blobs first (skipping those `dst` has), then child manifests, then the root, which gets
 * `opts.tag` (default: `reference` when it is a tag). When `dst` already has the tag (or
 * digest) at the same manifest, nothing is written. Returns the root descriptor.
 *
 * @example
 * ```ts
 * import { copy } from "./copy.ts";
 * import { MemoryTarget } from "./memory.ts";
 * const src = new MemoryTarget(), dst = new MemoryTarget();
 * // ... push something to src as "latest" ...
 * // await copy(src, dst, "latest");
 * ```
 */
export async function copy(
  src: Target,
  dst: Target,
  reference: string,
  opts: CopyOptions = {},
): Promise<Descriptor> {
  declarePush(dst);
  const root = await src.fetchManifest(reference);
  const tag = opts.tag ?? (reference.startsWith("sha256:") ? undefined : reference);
  const current = await dst.resolve(tag ?? root.descriptor.digest);
  const done = new Set<string>();
  let out = root.descriptor;
  if (current?.digest !== root.descriptor.digest) {
    await copyGraph(src, dst, root.descriptor, root.bytes, opts, done, true);
    out = await dst.pushManifest(root.bytes, root.descriptor.mediaType, tag);
  }
  if (opts.referrers) await copyReferrers(src, dst, root.descriptor.digest, opts, done);
  return out;
}

async function copyReferrers(
  src: Target,
  dst: Target,
  subject: Digest,
  opts: CopyOptions,
  done: Set<string>,
): Promise<void> {
  for (const r of await src.referrers(subject)) {
    if (done.has(`referrer:${r.digest}`)) continue;
    done.add(`referrer:${r.digest}`);
    const m = await src.fetchManifest(r.digest);
    const have = await dst.resolve(r.digest);
    if (!have) {
      await copyGraph(src, dst, m.descriptor, m.bytes, opts, done, true);
      await dst.pushManifest(m.bytes, m.descriptor.mediaType);
    }
    await copyReferrers(src, dst, r.digest, opts, done);
  }
}

async function copyGraph(
  src: Target,
  dst: Target,
  desc: Descriptor,
  bytes: Uint8Array,
  opts: CopyOptions,
  done: Set<string>,
  isRoot: boolean,
): Promise<void> {
  if (done.has(desc.digest)) return;
  done.add(desc.digest);
  if (!isRoot && (await dst.resolve(desc.digest))) return;
  const m = parseManifest(bytes, `${src.location}@${desc.digest}`);
  const mt = m.mediaType ?? desc.mediaType;
  if (mt === OCI_INDEX || mt === DOCKER_MANIFEST_LIST || Array.isArray(m.manifests)) {
    for (const child of m.manifests ?? []) {
      if (done.has(child.digest)) continue;
      const c = await src.fetchManifest(child.digest);
      await copyGraph(src, dst, c.descriptor, c.bytes, opts, done, false);
      await dst.pushManifest(c.bytes, child.mediaType || c.descriptor.mediaType);
    }
    return;
  }
  const blobs = [m.config, ...(m.layers ?? [])].filter((d): d is Descriptor => !!d?.digest);
  // On the first failure the other transfers are aborted and awaited before copy throws.
  await parallelMap(blobs, opts.concurrency ?? 4, async (b, signal) => {
    if (done.has(b.digest)) return;
    done.add(b.digest);
    if (await dst.blobExists(b.digest, { signal })) return;
    const data = await src.fetchBlob(b.digest, b.size, { signal });
    if (hasUpload(dst)) await dst.uploadBlob(b, data, { signal });
    else await dst.pushBlob(b, data, { signal });
  }, { signal: opts.signal });
}

/** An artifact ready to push: exact manifest bytes and the blobs it references. */
export interface ArtifactToPush {
  /** Exact manifest bytes. */
  manifestBytes: Uint8Array;
  /** Blobs (config and layers) with their bytes. */
  blobs: { desc: Pick<Descriptor, "digest" | "size">; data: Uint8Array }[];
}

/** Options of {@link pushArtifact}. */
export interface PushArtifactOptions {
  /** Tags to point at the manifest (e.g. `["latest"]`); none pushes by digest only. */
  tags?: string[];
  /** Manifest media type (default: the manifest's `mediaType`, else OCI image manifest). */
  mediaType?: string;
  /** Repository of the same registry to mount missing blobs from. */
  mountFrom?: string;
  /** Cancels the blob transfers still running when it fires. */
  signal?: AbortSignal;
  /**
   * Called once, as soon as the first HEAD shows the manifest is not there yet (so it and its
   * blobs are about to be uploaded): a caller can start independent work that only a new
   * artifact needs (e.g. the Fulcio certificate) while the blobs upload.
   */
  onNew?: () => void;
}

/** Manifest PUTs refused with `BLOB_UNKNOWN`: 4 attempts, 50 ms first backoff. */
const BLOB_UNKNOWN_RETRY = retryPolicy({ attempts: 4, baseMs: 50 });

/**
 * Pushes an artifact with the fewest requests: one HEAD of the first tag (or the digest);
 * when it already names this manifest, only the other tags are written. Otherwise blobs are
 * checked in parallel (HEAD), missing ones uploaded (mount, monolithic or chunked), then the
 * manifest is PUT by its first tag (or digest) and once per further tag. A tag never points
 * at a manifest whose blobs are not all stored. Returns the manifest descriptor.
 *
 * @example
 * ```ts
 * import { pushArtifact } from "./copy.ts";
 * import { MemoryTarget } from "./memory.ts";
 * const t = new MemoryTarget();
 * // const desc = await pushArtifact(t, { manifestBytes, blobs }, { tags: ["latest"] });
 * ```
 */
export async function pushArtifact(
  target: Target,
  artifact: ArtifactToPush,
  opts: PushArtifactOptions = {},
): Promise<Descriptor> {
  const bytes = artifact.manifestBytes;
  const digest: Digest = digestBytes(bytes);
  for (const b of artifact.blobs) {
    checkContent(target.location, "blob to push", b.desc.digest, b.data, b.desc.size);
  }
  const parsed = parseManifest(bytes, `manifest ${digest}`);
  const mediaType = opts.mediaType ?? parsed.mediaType ?? OCI_MANIFEST;
  const tags = [...new Set(opts.tags ?? [])];
  declarePush(target);
  const current = await target.resolve(tags[0] ?? digest);
  // A target whose stored blobs can be altered behind its back (an OCI layout on disk) checks
  // them again even when the manifest is already tagged.
  const recheck = (target as { recheckBlobs?: boolean }).recheckBlobs === true;
  if (current?.digest !== digest || recheck) {
    if (current === null) opts.onNew?.();
    const unique = [...new Map(artifact.blobs.map((b) => [b.desc.digest, b])).values()];
    // Nothing at the tag (a fresh repository or tag): small blobs are uploaded without a HEAD
    // first — an upload is idempotent, and the HEAD would almost always answer 404.
    const probe = (b: { desc: { size: number } }) =>
      current !== null || !hasUpload(target) || b.desc.size > SMALL_BLOB_BYTES;
    // Sibling requests: the first failure aborts the others, and every one of them has
    // settled before pushArtifact returns or throws (nothing of the push runs afterwards).
    const present = await parallelMap(
      unique,
      unique.length,
      (b, signal) =>
        probe(b) ? target.blobExists(b.desc.digest, { signal }) : Promise.resolve(false),
      { signal: opts.signal },
    );
    const upload = () =>
      parallelMap(unique, unique.length, async (b, signal, i) => {
        if (present[i]) return;
        if (hasUpload(target)) {
          await target.uploadBlob(
            b.desc,
            b.data,
            opts.mountFrom ? { mountFrom: opts.mountFrom, signal } : { signal },
          );
        } else await target.pushBlob(b.desc, b.data, { signal });
      }, { signal: opts.signal });
    await upload();
    // A concurrent writer of the same blobs can make a registry briefly report them unknown
    // (docker-registry's filesystem driver rewrites the repository's blob link in place):
    // upload again and retry, bounded, with jitter.
    const scope = {
      deadline: Number.POSITIVE_INFINITY,
      signal: opts.signal ?? new AbortController().signal,
    };
    const d = await withRetries<Descriptor>(
      scope,
      BLOB_UNKNOWN_RETRY,
      BLOB_UNKNOWN_RETRY.attempts,
      async (n) => {
        if (n > 1) {
          present.fill(false);
          await upload();
        }
        try {
          return { done: await target.pushManifest(bytes, mediaType, tags[0]) };
        } catch (e) {
          if (!isBlobUnknown(e)) throw e;
          return { retry: e };
        }
      },
    );
    if (d.digest !== digest) {
      throw new KarsError(
        "REGISTRY",
        `${target.location}: pushed ${digest} but the target reports ${d.digest}`,
        {
          details: { reason: "DigestMismatch", expected: digest, actual: d.digest },
        },
      );
    }
  }
  for (const t of tags.slice(1)) {
    await tagManifest(target, bytes, mediaType, t, opts.signal ? { signal: opts.signal } : {});
  }
  return referrerDescriptor(bytes, mediaType, digest);
}

/**
 * Tags a manifest whose blobs are already in `target` (e.g. moving `latest` after signing).
 * A concurrent pusher of the same blobs can make docker-registry briefly report one of them
 * unknown (it rewrites the repository's blob link in place): the tag is retried, bounded, with
 * the same jittered policy as {@link pushArtifact}.
 *
 * @example
 * ```ts
 * import { MemoryTarget } from "./memory.ts";
 * import { pushArtifact, tagManifest } from "./copy.ts";
 * import { buildAllowlistArtifact, EMPTY_CONFIG_BYTES } from "./artifact.ts";
 * const bytes = new TextEncoder().encode("apiVersion: v1\n");
 * const a = buildAllowlistArtifact(bytes);
 * const t = new MemoryTarget();
 * await pushArtifact(t, {
 *   manifestBytes: a.manifestBytes,
 *   blobs: [{ desc: a.config, data: EMPTY_CONFIG_BYTES }, { desc: a.layer, data: bytes }],
 * });
 * await tagManifest(t, a.manifestBytes, "application/vnd.oci.image.manifest.v1+json", "latest");
 * ```
 */
export function tagManifest(
  target: Target,
  bytes: Uint8Array,
  mediaType: string,
  tag: string,
  options: RequestOptions = {},
): Promise<Descriptor> {
  const scope = {
    deadline: Number.POSITIVE_INFINITY,
    signal: options.signal ?? new AbortController().signal,
  };
  return withRetries<Descriptor>(
    scope,
    BLOB_UNKNOWN_RETRY,
    BLOB_UNKNOWN_RETRY.attempts,
    async () => {
      try {
        return { done: await target.pushManifest(bytes, mediaType, tag) };
      } catch (e) {
        if (!isBlobUnknown(e)) throw e;
        return { retry: e };
      }
    },
  );
}

/**
 * True when a registry refused a manifest because a blob it references is unknown — what a
 * concurrent writer of the same blob can briefly cause; worth uploading again.
 *
 * @example
 * ```ts
 * import { isBlobUnknown } from "./copy.ts";
 * isBlobUnknown(new Error("x")); // false
 * ```
 */
export function isBlobUnknown(e: unknown): boolean {
  const codes = isKarsError(e) ? e.details?.registryCodes : undefined;
  return Array.isArray(codes) &&
    codes.some((c) => c === "MANIFEST_BLOB_UNKNOWN" || c === "BLOB_UNKNOWN");
}
