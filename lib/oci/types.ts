/**
 * OCI data types and the one {@link Target} abstraction (in the style of oras-go) that
 * every storage backend implements: a remote registry repository, an OCI image layout
 * on disk, or memory. Push, copy and signature attachment are written once against it.
 *
 * @module
 */
import type { Digest } from "../encoding/digest.ts";

/** Media type of an OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Media type of an OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** Media type of a Docker schema 2 manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Media type of a Docker manifest list. */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Media type of the OCI empty descriptor (`{}`). */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** Digest of the two bytes `{}`. */
export const OCI_EMPTY_DIGEST: Digest =
  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/** An OCI content descriptor. */
export interface Descriptor {
  /** Media type of the referenced content. */
  mediaType: string;
  /** Digest of the referenced content. */
  digest: Digest;
  /** Size in bytes of the referenced content. */
  size: number;
  /** Artifact type, for manifests that declare one. */
  artifactType?: string;
  /** Annotations. */
  annotations?: Record<string, string>;
}

/** An OCI image manifest (schema version 2). */
export interface ImageManifest {
  /** Always 2. */
  schemaVersion: 2;
  /** {@link OCI_MANIFEST}. */
  mediaType: string;
  /** Artifact type, when this manifest is an artifact. */
  artifactType?: string;
  /** The config descriptor. */
  config: Descriptor;
  /** The layers. */
  layers: Descriptor[];
  /** The manifest this one refers to (referrers API). */
  subject?: Descriptor;
  /** Annotations. */
  annotations?: Record<string, string>;
}

/** An OCI image index. */
export interface ImageIndex {
  /** Always 2. */
  schemaVersion: 2;
  /** {@link OCI_INDEX}. */
  mediaType: string;
  /** The manifests listed. */
  manifests: Descriptor[];
  /** Artifact type, if any. */
  artifactType?: string;
  /** Annotations. */
  annotations?: Record<string, string>;
}

/** A manifest as fetched: its exact bytes and the descriptor that addresses them. */
export interface FetchedManifest {
  /** Descriptor (media type from the response / content, digest of the bytes). */
  descriptor: Descriptor;
  /** The exact bytes served, already checked against the digest when fetched by digest. */
  bytes: Uint8Array;
}

/** Per-call options of {@link Target} methods. */
export interface RequestOptions {
  /**
   * Cancels the call when it fires (the call then rejects). Used by operations that run
   * sibling requests in parallel to stop the others after the first failure.
   */
  signal?: AbortSignal;
}

/**
 * One repository of content-addressed storage. Implementations: remote registry
 * repository, OCI image layout directory, memory.
 *
 * Failures are `KarsError`s: code `NOT_FOUND` for absent content, `AUTH` for refused
 * credentials, `TRANSIENT` for network faults and 5xx, `REGISTRY` for the rest, and
 * `REGISTRY` with `details.reason === "DigestMismatch"` when served bytes do not match
 * the digest asked for.
 */
export interface Target {
  /** Human-readable location for messages, e.g. `127.0.0.1:5000/policy/egress-allowlist/x` or `oci:/dir`. */
  readonly location: string;
  /** True when the blob is present. */
  blobExists(digest: Digest, options?: RequestOptions): Promise<boolean>;
  /** Fetches a blob; the bytes are checked against `digest` (and `size` when given). */
  fetchBlob(digest: Digest, size?: number, options?: RequestOptions): Promise<Uint8Array>;
  /** Stores a blob unless already present; the bytes are checked against `desc.digest`. */
  pushBlob(
    desc: Pick<Descriptor, "digest" | "size">,
    data: Uint8Array,
    options?: RequestOptions,
  ): Promise<void>;
  /** Resolves a tag or digest to the manifest descriptor, or `null` when absent. */
  resolve(reference: string, options?: RequestOptions): Promise<Descriptor | null>;
  /** Fetches a manifest (OCI or Docker, image or index) by tag or digest. */
  fetchManifest(reference: string, options?: RequestOptions): Promise<FetchedManifest>;
  /**
   * Stores manifest bytes (their blobs must already be present) and, when `tag` is
   * given, points the tag at them. A manifest with a `subject` becomes discoverable
   * through {@link Target.referrers} (natively, or through the `sha256-<hex>` fallback
   * tag index where the backend has no referrers API).
   */
  pushManifest(bytes: Uint8Array, mediaType: string, tag?: string): Promise<Descriptor>;
  /**
   * Optional atomic compare-and-swap tag update (backends that can, e.g. the OCI layout):
   * stores the manifest and points `tag` at it only when `tag` currently resolves to
   * `expected` (`null`: absent). Returns `null`, tagging nothing, when the tag moved.
   */
  pushManifestIf?(
    bytes: Uint8Array,
    mediaType: string,
    tag: string,
    expected: Digest | null,
  ): Promise<Descriptor | null>;
  /** Points `tag` at an existing manifest. */
  tag(desc: Descriptor, tag: string): Promise<void>;
  /** Lists tags. */
  listTags(): Promise<string[]>;
  /** Lists the manifests whose `subject` is `subject`, optionally of one artifact type. */
  referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]>;
}
