/**
 * An in-memory {@link Target}: for tests, dry runs and staging before a copy.
 * It implements the referrers API natively (it indexes every manifest's `subject`).
 *
 * @module
 */
import { bytesEqual, fromUtf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import type { Descriptor, FetchedManifest, ImageManifest, Target } from "./types.ts";

/**
 * A {@link Target} held in memory.
 *
 * @example
 * ```ts
 * import { MemoryTarget } from "./memory.ts";
 * import { digestBytes } from "../encoding/digest.ts";
 * const t = new MemoryTarget();
 * const blob = new TextEncoder().encode("hello");
 * await t.pushBlob({ digest: digestBytes(blob), size: blob.length }, blob);
 * await t.blobExists(digestBytes(blob)); // true
 * ```
 */
export class MemoryTarget implements Target {
  /** See {@link Target.location}. */
  readonly location: string;
  #blobs = new Map<string, Uint8Array>();
  #manifests = new Map<string, { mediaType: string; bytes: Uint8Array }>();
  #tags = new Map<string, Digest>();

  /**
   * Creates an empty in-memory target.
   *
   * @param location the name used in messages
   */
  constructor(location = "memory") {
    this.location = location;
  }

  /** See {@link Target.blobExists}. */
  blobExists(digest: Digest): Promise<boolean> {
    return Promise.resolve(this.#blobs.has(digest));
  }

  /** See {@link Target.fetchBlob}. */
  fetchBlob(digest: Digest, size?: number): Promise<Uint8Array> {
    const b = this.#blobs.get(digest);
    if (!b) {
      return Promise.reject(
        new KarsError("NOT_FOUND", `${this.location}: blob ${digest} not found`),
      );
    }
    if (size !== undefined && b.length !== size) {
      return Promise.reject(
        new KarsError(
          "REGISTRY",
          `${this.location}: blob ${digest} has size ${b.length}, expected ${size}`,
          {
            details: { reason: "DigestMismatch" },
          },
        ),
      );
    }
    return Promise.resolve(b.slice());
  }

  /** See {@link Target.pushBlob}. */
  pushBlob(desc: Pick<Descriptor, "digest" | "size">, data: Uint8Array): Promise<void> {
    const d = digestBytes(data);
    if (d !== desc.digest || data.length !== desc.size) {
      return Promise.reject(
        new KarsError("REGISTRY", `${this.location}: blob content does not match ${desc.digest}`, {
          details: { reason: "DigestMismatch" },
        }),
      );
    }
    this.#blobs.set(d, data.slice());
    return Promise.resolve();
  }

  /** See {@link Target.resolve}. */
  resolve(reference: string): Promise<Descriptor | null> {
    const digest = isDigest(reference) ? reference : this.#tags.get(reference);
    const m = digest ? this.#manifests.get(digest) : undefined;
    if (!digest || !m) return Promise.resolve(null);
    return Promise.resolve(descriptorOf(m.bytes, m.mediaType, digest));
  }

  /** See {@link Target.fetchManifest}. */
  async fetchManifest(reference: string): Promise<FetchedManifest> {
    const desc = await this.resolve(reference);
    if (!desc) {
      throw new KarsError("NOT_FOUND", `${this.location}: manifest ${reference} not found`);
    }
    return { descriptor: desc, bytes: this.#manifests.get(desc.digest)!.bytes.slice() };
  }

  /** See {@link Target.pushManifest}. */
  pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor> {
    const digest = digestBytes(bytes);
    const existing = this.#manifests.get(digest);
    if (!existing || !bytesEqual(existing.bytes, bytes)) {
      this.#manifests.set(digest, { mediaType, bytes: bytes.slice() });
    }
    if (tag) this.#tags.set(tag, digest);
    return Promise.resolve(descriptorOf(bytes, mediaType, digest));
  }

  /** See {@link Target.tag}. */
  tag(desc: Descriptor, tag: string): Promise<void> {
    if (!this.#manifests.has(desc.digest)) {
      return Promise.reject(
        new KarsError(
          "NOT_FOUND",
          `${this.location}: cannot tag ${tag}: manifest ${desc.digest} not found`,
        ),
      );
    }
    this.#tags.set(tag, desc.digest);
    return Promise.resolve();
  }

  /** See {@link Target.listTags}. */
  listTags(): Promise<string[]> {
    return Promise.resolve([...this.#tags.keys()].sort());
  }

  /** See {@link Target.referrers}. */
  referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const [digest, m] of this.#manifests) {
      const d = descriptorOf(m.bytes, m.mediaType, digest as Digest);
      const parsed = parseJson(m.bytes) as Partial<ImageManifest> | undefined;
      if (parsed?.subject?.digest !== subject) continue;
      if (artifactType && d.artifactType !== artifactType) continue;
      out.push(d);
    }
    return Promise.resolve(out.sort((a, b) => (a.digest < b.digest ? -1 : 1)));
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    return undefined;
  }
}

function descriptorOf(bytes: Uint8Array, mediaType: string, digest: Digest): Descriptor {
  const d: Descriptor = { mediaType, digest, size: bytes.length };
  const m = parseJson(bytes) as
    | {
      artifactType?: string;
      config?: { mediaType?: string };
      annotations?: Record<string, string>;
    }
    | undefined;
  const at = m?.artifactType ?? m?.config?.mediaType;
  if (at && at !== "application/vnd.oci.empty.v1+json") d.artifactType = at;
  if (m?.annotations) d.annotations = m.annotations;
  return d;
}
