/**
 * A {@link Target} over an OCI image layout directory (`oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`), readable by `skopeo copy oci:DIR:TAG` and `oras --oci-layout`.
 * Tags are `org.opencontainers.image.ref.name` annotations of `index.json` entries; every
 * manifest pushed is listed in `index.json` (untagged ones without the annotation), so that
 * referrers can be found by scanning `subject`. Every file is written atomically (temporary
 * file in the same directory, then rename). Uses `node:fs` only.
 *
 * The blob store is `layout_blobs.ts`, `index.json` and its lock `layout_index.ts`, the
 * directory (symlink checks, atomic writes) `layout_dir.ts`. Safe with concurrent writers
 * and hostile content:
 * - every `index.json` read-modify-write holds a cross-process lock (`index.json.lock`,
 *   created with `O_EXCL`; stale-lock recovery in `lib/io/lock.ts`), and tags can be moved
 *   with a compare-and-swap ({@link LayoutTarget.pushManifestIf});
 * - an existing blob counts as present only when its bytes hash to its name; a corrupted one
 *   is rewritten on push;
 * - a symbolic link anywhere below the layout directory (`blobs`, `blobs/sha256`, a blob,
 *   `index.json`, `oci-layout`, the lock) is refused (`FILE`, reason `Symlink`), so nothing
 *   is read from or written outside the layout. (The layout directory itself may be a link:
 *   that is the operator's choice.) The checks are `lstat`s right before each access: a
 *   process that can write into the layout concurrently can still race them.
 *
 * @module
 */
import { fromUtf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { LayoutBlobs } from "./layout_blobs.ts";
import { LayoutDir } from "./layout_dir.ts";
import { LayoutIndex } from "./layout_index.ts";
import { validateTag } from "./reference.ts";
import {
  filterReferrers,
  parseReferrersIndex,
  referrerDescriptor,
  referrersTag,
  subjectOf,
} from "./referrers.ts";
import {
  type Descriptor,
  type FetchedManifest,
  OCI_INDEX,
  OCI_MANIFEST,
  type Target,
} from "./types.ts";

/**
 * The annotation that names a tag in `index.json`.
 *
 * @example
 * ```ts
 * import { REF_NAME } from "./layout.ts";
 * const entry = { annotations: { [REF_NAME]: "latest" } };
 * ```
 */
export const REF_NAME = "org.opencontainers.image.ref.name";

/**
 * An OCI image layout directory as a {@link Target}. The directory is created on first write.
 *
 * @example
 * ```ts
 * import { LayoutTarget } from "./layout.ts";
 * const t = new LayoutTarget("./layout");
 * const blob = new TextEncoder().encode("{}");
 * await t.pushBlob({ digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2 }, blob);
 * await t.listTags(); // []
 * ```
 */
export class LayoutTarget implements Target {
  /** `oci:<dir>`. */
  readonly location: string;
  /** The layout directory. */
  readonly dir: string;
  /**
   * Files on disk can change behind our back: pushes re-hash existing blobs even when the
   * manifest is already tagged (read by `pushArtifact`).
   */
  readonly recheckBlobs = true;
  readonly #blobs: LayoutBlobs;
  readonly #index: LayoutIndex;

  /**
   * Opens (lazily: nothing is read or created until first use) the layout at `dir`.
   *
   * @param dir the layout directory
   */
  constructor(dir: string) {
    const d = new LayoutDir(dir);
    this.dir = dir;
    this.location = d.location;
    this.#blobs = new LayoutBlobs(d);
    this.#index = new LayoutIndex(d);
  }

  /**
   * See {@link Target.blobExists}: true only when the blob file is a regular file whose bytes
   * hash to `digest` (a corrupted or truncated file counts as absent, so it gets rewritten).
   */
  blobExists(digest: Digest): Promise<boolean> {
    return this.#blobs.has(digest);
  }

  /** See {@link Target.fetchBlob}. */
  fetchBlob(digest: Digest, size?: number): Promise<Uint8Array> {
    return this.#blobs.read(digest, "blob", size);
  }

  /**
   * Streams a blob from disk (constant memory); the stream errors with
   * `REGISTRY`/`DigestMismatch` at its end when the file does not match `digest` (or `size`).
   *
   * @example
   * ```ts
   * import { LayoutTarget } from "./layout.ts";
   * const t = new LayoutTarget("./layout");
   * // const s = await t.fetchBlobStream("sha256:...", 2);
   * ```
   */
  fetchBlobStream(digest: Digest, size?: number): Promise<ReadableStream<Uint8Array>> {
    return this.#blobs.stream(digest, size);
  }

  /** See {@link Target.pushBlob}. */
  pushBlob(desc: Pick<Descriptor, "digest" | "size">, data: Uint8Array): Promise<void> {
    return this.#blobs.write(desc, data);
  }

  /** See {@link Target.resolve}. */
  async resolve(reference: string): Promise<Descriptor | null> {
    const index = await this.#index.read();
    if (isDigest(reference)) {
      const entry = index.manifests.find((d) => d.digest === reference);
      if (!(await this.#blobs.has(reference))) return null;
      const bytes = await this.#blobs.read(reference, "manifest");
      const mediaType = entry?.mediaType ?? mediaTypeOf(bytes);
      if (!mediaType) return null; // a blob, not a manifest
      return referrerDescriptor(bytes, mediaType, reference);
    }
    const entry = index.manifests.find((d) => d.annotations?.[REF_NAME] === reference);
    if (!entry) return null;
    return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
  }

  /** See {@link Target.fetchManifest}. */
  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const d = await this.resolve(reference);
    if (!d) throw new KarsError("NOT_FOUND", `${this.location}: manifest ${reference} not found`);
    const bytes = await this.#blobs.read(d.digest, "manifest", d.size);
    return {
      descriptor: referrerDescriptor(bytes, mediaTypeOf(bytes) || d.mediaType, d.digest),
      bytes,
    };
  }

  /** See {@link Target.pushManifest}. */
  async pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    if (tag !== undefined) validateTag(tag);
    const digest = digestBytes(bytes);
    await this.#blobs.write({ digest, size: bytes.length }, bytes);
    const desc = referrerDescriptor(bytes, mediaType, digest);
    await this.#record(desc, tag);
    return desc;
  }

  /**
   * See {@link Target.pushManifestIf}: under the `index.json` lock, `tag` moves to the new
   * manifest only when it still points at `expected` (`null`: untagged); otherwise `null`.
   *
   * @example
   * ```ts
   * import { LayoutTarget } from "./layout.ts";
   * const t = new LayoutTarget("./layout");
   * declare const bytes: Uint8Array;
   * const d = await t.pushManifestIf(bytes, "application/vnd.oci.image.manifest.v1+json", "v1", null);
   * ```
   */
  async pushManifestIf(
    bytes: Uint8Array,
    mediaType: string,
    tag: string,
    expected: Digest | null,
  ): Promise<Descriptor | null> {
    validateTag(tag);
    const digest = digestBytes(bytes);
    await this.#blobs.write({ digest, size: bytes.length }, bytes);
    const desc = referrerDescriptor(bytes, mediaType, digest);
    return (await this.#record(desc, tag, expected)) ? desc : null;
  }

  /** Records `desc` in index.json (tagged when `tag`); false when `expected` did not hold. */
  async #record(desc: Descriptor, tag?: string, expected?: Digest | null): Promise<boolean> {
    const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
    if (desc.artifactType) entry.artifactType = desc.artifactType;
    let ok = true;
    await this.#index.update((manifests) => {
      if (expected !== undefined && tag !== undefined) {
        const now = manifests.find((d) => d.annotations?.[REF_NAME] === tag)?.digest ?? null;
        if (now !== expected) {
          ok = false;
          return null;
        }
      }
      if (tag === undefined) {
        if (manifests.some((d) => d.digest === desc.digest)) return null;
        return [...manifests, entry];
      }
      const current = manifests.find((d) => d.annotations?.[REF_NAME] === tag);
      if (current?.digest === desc.digest) return null;
      const rest = manifests.filter((d) =>
        d.annotations?.[REF_NAME] !== tag &&
        !(d.digest === desc.digest && !d.annotations?.[REF_NAME])
      );
      return [...rest, { ...entry, annotations: { [REF_NAME]: tag } }];
    });
    return ok;
  }

  /** See {@link Target.tag}. */
  async tag(desc: Descriptor, tag: string): Promise<void> {
    validateTag(tag);
    const bytes = await this.#blobs.read(desc.digest, "manifest");
    await this.#record(
      referrerDescriptor(bytes, mediaTypeOf(bytes) || desc.mediaType, desc.digest),
      tag,
    );
  }

  /** See {@link Target.listTags}. */
  async listTags(): Promise<string[]> {
    const index = await this.#index.read();
    const tags = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string =>
      typeof t === "string"
    );
    return [...new Set(tags)].sort();
  }

  /**
   * See {@link Target.referrers}: every manifest listed in `index.json` whose `subject` is
   * `subject`, plus the entries of a `sha256-<hex>` fallback index if one was copied in.
   */
  async referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const index = await this.#index.read();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of index.manifests) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (d.size > 4 * 1024 * 1024) continue;
      let bytes: Uint8Array;
      try {
        bytes = await this.#blobs.read(d.digest, "manifest", d.size);
      } catch (e) {
        if (e instanceof KarsError && e.code === "NOT_FOUND") continue;
        throw e;
      }
      if (subjectOf(bytes) === subject) {
        out.push(referrerDescriptor(bytes, mediaTypeOf(bytes) || d.mediaType, d.digest));
      }
    }
    const fb = index.manifests.find((d) => d.annotations?.[REF_NAME] === referrersTag(subject));
    if (fb) {
      const bytes = await this.#blobs.read(fb.digest, "manifest", fb.size);
      out.push(
        ...parseReferrersIndex(bytes, `${this.location}:${referrersTag(subject)}`, fb.mediaType)
          .manifests,
      );
    }
    return filterReferrers(out, artifactType);
  }
}

function mediaTypeOf(bytes: Uint8Array): string {
  try {
    const m = JSON.parse(fromUtf8(bytes));
    if (m?.schemaVersion !== 2) return "";
    if (typeof m.mediaType === "string") return m.mediaType;
    return Array.isArray(m.manifests) ? OCI_INDEX : m.config ? OCI_MANIFEST : "";
  } catch {
    return "";
  }
}
