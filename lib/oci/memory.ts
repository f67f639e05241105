/**
 * An in-memory {@link Target}: for tests, dry runs and staging before a copy.
 * It implements the referrers API natively (it indexes every manifest's `subject` when the
 * manifest is pushed, so a referrers query reads only the manifests that name the subject).
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
  #manifests = new Map<string, StoredManifest>();
  #tags = new Map<string, Digest>();
  /** Manifest digests by the digest of their `subject` (the referrers index). */
  #referrers = new Map<string, Set<Digest>>();

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
    return Promise.resolve(copyDescriptor(m.descriptor));
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
      if (existing?.subject) this.#referrers.get(existing.subject)?.delete(digest);
      const stored = storeManifest(bytes.slice(), mediaType, digest);
      this.#manifests.set(digest, stored);
      if (stored.subject) {
        let set = this.#referrers.get(stored.subject);
        if (!set) this.#referrers.set(stored.subject, set = new Set());
        set.add(digest);
      }
    }
    if (tag) this.#tags.set(tag, digest);
    return Promise.resolve(descriptorOf(parseJson(bytes), mediaType, digest, bytes.length));
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
    for (const digest of this.#referrers.get(subject) ?? []) {
      const d = this.#manifests.get(digest)!.descriptor;
      if (artifactType && d.artifactType !== artifactType) continue;
      out.push(copyDescriptor(d));
    }
    return Promise.resolve(out.sort((a, b) => (a.digest < b.digest ? -1 : 1)));
  }
}

/** A stored manifest: its bytes, and what was read from them once, when it was pushed. */
interface StoredManifest {
  mediaType: string;
  bytes: Uint8Array;
  descriptor: Descriptor;
  /** The digest its `subject` names, if any. */
  subject?: string;
}

function storeManifest(bytes: Uint8Array, mediaType: string, digest: Digest): StoredManifest {
  const parsed = parseJson(bytes);
  const subject = (parsed as Partial<ImageManifest> | undefined)?.subject?.digest;
  return {
    mediaType,
    bytes,
    descriptor: descriptorOf(parsed, mediaType, digest, bytes.length),
    ...(typeof subject === "string" ? { subject } : {}),
  };
}

/** A copy the caller may change without changing the store. */
function copyDescriptor(d: Descriptor): Descriptor {
  return d.annotations ? { ...d, annotations: { ...d.annotations } } : { ...d };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    return undefined;
  }
}

function descriptorOf(
  parsed: unknown,
  mediaType: string,
  digest: Digest,
  size: number,
): Descriptor {
  const d: Descriptor = { mediaType, digest, size };
  const m = parsed as
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
