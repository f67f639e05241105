/**
 * The referrers tag-schema fallback of the OCI distribution spec v1.1: for registries
 * without the referrers API, the manifests that refer to `sha256:<hex>` are listed in an
 * OCI image index stored at tag `sha256-<hex>`.
 *
 * @module
 */
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import type { Digest } from "../encoding/digest.ts";
import { KarsError } from "../errors.ts";
import { type Descriptor, type ImageIndex, OCI_EMPTY, OCI_INDEX } from "./types.ts";

/**
 * The fallback tag for a subject digest: `sha256:<hex>` → `sha256-<hex>`.
 *
 * @example
 * ```ts
 * import { referrersTag } from "./referrers.ts";
 * referrersTag(`sha256:${"a".repeat(64)}`); // "sha256-aaaa…"
 * ```
 */
export function referrersTag(subject: Digest): string {
  return subject.replace(":", "-");
}

/**
 * Parses and validates fallback-tag (or referrers API) content: it must be an OCI image index.
 * Throws `REGISTRY` (reason `NotAnIndex`) otherwise, naming `where`.
 *
 * @example
 * ```ts
 * import { parseReferrersIndex } from "./referrers.ts";
 * parseReferrersIndex(new TextEncoder().encode('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'), "x");
 * ```
 */
export function parseReferrersIndex(
  bytes: Uint8Array,
  where: string,
  mediaType?: string,
): ImageIndex {
  let j: Partial<ImageIndex>;
  try {
    j = JSON.parse(fromUtf8(bytes));
  } catch (cause) {
    throw new KarsError("REGISTRY", `${where} is not JSON; expected an OCI image index`, {
      cause,
      details: { reason: "NotAnIndex" },
    });
  }
  const mt = j?.mediaType ?? mediaType;
  if (
    !j || typeof j !== "object" || j.schemaVersion !== 2 || mt !== OCI_INDEX ||
    !Array.isArray(j.manifests) ||
    !j.manifests.every((d) =>
      d && typeof d.digest === "string" && typeof d.mediaType === "string" &&
      typeof d.size === "number"
    )
  ) {
    throw new KarsError(
      "REGISTRY",
      `${where} does not hold an OCI image index (media type ${
        mt ?? "missing"
      }); the referrers fallback tag was overwritten by something else: delete or repair that tag`,
      { details: { reason: "NotAnIndex" } },
    );
  }
  return j as ImageIndex;
}

/**
 * The index entry describing a referrer manifest: media type, digest, size, artifact type
 * (the manifest's `artifactType`, else its config media type unless empty) and annotations.
 *
 * @example
 * ```ts
 * import { referrerDescriptor } from "./referrers.ts";
 * import { digestBytes } from "../encoding/digest.ts";
 * const bytes = new TextEncoder().encode('{"schemaVersion":2,"artifactType":"x/y"}');
 * referrerDescriptor(bytes, "application/vnd.oci.image.manifest.v1+json", digestBytes(bytes)).artifactType; // "x/y"
 * ```
 */
export function referrerDescriptor(
  bytes: Uint8Array,
  mediaType: string,
  digest: Digest,
): Descriptor {
  const d: Descriptor = { mediaType, digest, size: bytes.length };
  let m: {
    artifactType?: string;
    config?: { mediaType?: string };
    annotations?: Record<string, string>;
  } = {};
  try {
    m = JSON.parse(fromUtf8(bytes)) ?? {};
  } catch { /* not JSON: bare descriptor */ }
  const at = m.artifactType ?? m.config?.mediaType;
  if (at && at !== OCI_EMPTY) d.artifactType = at;
  if (m.annotations && typeof m.annotations === "object") d.annotations = m.annotations;
  return d;
}

/**
 * The `subject` digest a manifest declares, if any.
 *
 * @example
 * ```ts
 * import { subjectOf } from "./referrers.ts";
 * subjectOf(new TextEncoder().encode("{}")); // undefined
 * ```
 */
export function subjectOf(bytes: Uint8Array): Digest | undefined {
  try {
    const m = JSON.parse(fromUtf8(bytes)) as { subject?: { digest?: string } };
    const d = m?.subject?.digest;
    return typeof d === "string" && /^sha256:[0-9a-f]{64}$/.test(d) ? d as Digest : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Adds `entry` to a fallback index (or creates one), without duplicates (same digest).
 * Returns `null` when the entry is already listed (nothing to write).
 *
 * @example
 * ```ts
 * import { addToReferrersIndex } from "./referrers.ts";
 * const digest = `sha256:${"0".repeat(64)}` as const;
 * const bytes = addToReferrersIndex(undefined, { mediaType: "m", digest, size: 1 });
 * ```
 */
export function addToReferrersIndex(
  existing: ImageIndex | undefined,
  entry: Descriptor,
): Uint8Array | null {
  const manifests = existing ? [...existing.manifests] : [];
  if (manifests.some((d) => d.digest === entry.digest)) return null;
  manifests.push(entry);
  const index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests };
  return utf8(JSON.stringify(index));
}

/**
 * Filters descriptors by artifact type (all when undefined), without duplicates, sorted by digest.
 *
 * @example
 * ```ts
 * import { filterReferrers } from "./referrers.ts";
 * filterReferrers([], "application/vnd.dev.sigstore.bundle.v0.3+json"); // []
 * ```
 */
export function filterReferrers(list: Descriptor[], artifactType?: string): Descriptor[] {
  const seen = new Set<string>();
  return list
    .filter((d) => !artifactType || d.artifactType === artifactType)
    .filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)))
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}
