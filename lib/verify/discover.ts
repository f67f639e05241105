/**
 * Finds the signatures of a manifest in a {@link Target}: legacy cosign layers at the
 * `sha256-<hex>.sig` tag, and Sigstore bundles attached as referrers (the Target answers
 * through the referrers API or its `sha256-<hex>` fallback index). Every manifest and blob is
 * fetched by digest and re-hashed; a malformed signature is reported as a problem (it counts
 * as a signature that failed), never skipped silently.
 *
 * Registry faults (`AUTH`, `TRANSIENT`, …) propagate: the verdict decides what they mean.
 *
 * @module
 */
import { signatureTag, SIMPLE_SIGNING_MEDIA_TYPE } from "../cosign/vocabulary.ts";
import { fromUtf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import { isKarsError } from "../errors.ts";
import type { Descriptor, ImageManifest, Target } from "../oci/types.ts";

/** Media type (and artifact type) of a Sigstore bundle v0.3 stored as an OCI referrer. */
export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

/** Most signatures read per layout (legacy layers, bundle referrers); more are reported as a problem. */
export const MAX_SIGNATURES = 64;
/** Largest simple-signing payload fetched (bytes). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Largest bundle blob fetched (bytes). */
export const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

/** A legacy signature layer, payload fetched and re-hashed. */
export interface LegacyCandidate {
  /** Signature layout. */
  format: "legacy";
  /** Where it was found, for messages (`sha256-….sig layer 0`). */
  where: string;
  /** The simple-signing payload bytes. */
  payload: Uint8Array;
  /** The layer annotations (signature, certificate, chain, Rekor bundle, timestamp). */
  annotations: Record<string, string>;
}

/** A bundle attached as a referrer, blob fetched and re-hashed. */
export interface BundleCandidate {
  /** Signature layout. */
  format: "bundle";
  /** Where it was found, for messages (`referrer sha256:…`). */
  where: string;
  /** The parsed bundle JSON. */
  bundle: unknown;
}

/** A signature found, or a problem with something that claimed to be one. */
export type Candidate = LegacyCandidate | BundleCandidate;

/** Something that claimed to be a signature but could not be read. */
export interface Problem {
  /** Where (`sha256-….sig layer 1`, `referrer sha256:…`). */
  where: string;
  /** What is wrong. */
  message: string;
}

/** What discovery found. */
export interface Discovered {
  /** Signatures to verify. */
  candidates: Candidate[];
  /** Signature-like things that could not be read (each counts as a failed signature). */
  problems: Problem[];
}

function parseManifest(bytes: Uint8Array): Partial<ImageManifest> | undefined {
  try {
    const m = JSON.parse(fromUtf8(bytes));
    return m && typeof m === "object" && !Array.isArray(m) ? m : undefined;
  } catch {
    return undefined;
  }
}

function passThrough(e: unknown): boolean {
  return isKarsError(e) && e.code !== "NOT_FOUND" &&
    !(e.code === "REGISTRY" && e.details?.reason === "DigestMismatch");
}

async function fetchExact(target: Target, d: Descriptor): Promise<Uint8Array> {
  const bytes = await target.fetchBlob(d.digest, d.size);
  if (digestBytes(bytes) !== d.digest || bytes.length !== d.size) {
    throw new Error(`blob ${d.digest} does not match its digest or size`);
  }
  return bytes;
}

/**
 * Finds the legacy and bundle signatures of `digest` in `target`.
 *
 * @example
 * ```ts
 * import { discoverSignatures } from "./discover.ts";
 * import { MemoryTarget } from "../oci/memory.ts";
 * const found = await discoverSignatures(new MemoryTarget(), `sha256:${"0".repeat(64)}`);
 * found.candidates.length; // 0
 * ```
 */
export async function discoverSignatures(target: Target, digest: Digest): Promise<Discovered> {
  const out: Discovered = { candidates: [], problems: [] };
  await discoverLegacy(target, digest, out);
  await discoverBundles(target, digest, out);
  return out;
}

async function discoverLegacy(target: Target, digest: Digest, out: Discovered): Promise<void> {
  const tag = signatureTag(digest);
  let fetched;
  try {
    const desc = await target.resolve(tag);
    if (!desc) return;
    fetched = await target.fetchManifest(desc.digest);
    if (digestBytes(fetched.bytes) !== desc.digest) {
      out.problems.push({ where: tag, message: `manifest bytes do not match ${desc.digest}` });
      return;
    }
  } catch (e) {
    if (passThrough(e)) throw e;
    if (isKarsError(e, "NOT_FOUND")) return;
    out.problems.push({ where: tag, message: (e as Error).message });
    return;
  }
  const m = parseManifest(fetched.bytes);
  if (!m || !Array.isArray(m.layers)) {
    out.problems.push({ where: tag, message: "not an image manifest" });
    return;
  }
  if (m.layers.length > MAX_SIGNATURES) {
    out.problems.push({
      where: tag,
      message: `${m.layers.length} layers; only the first ${MAX_SIGNATURES} are read`,
    });
  }
  for (let i = 0; i < Math.min(m.layers.length, MAX_SIGNATURES); i++) {
    const l = m.layers[i];
    const where = `${tag} layer ${i}`;
    if (
      !l || l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || !isDigest(l.digest) ||
      !Number.isSafeInteger(l.size)
    ) {
      out.problems.push({ where, message: `not a ${SIMPLE_SIGNING_MEDIA_TYPE} layer` });
      continue;
    }
    if (l.size > MAX_PAYLOAD_BYTES) {
      out.problems.push({
        where,
        message: `payload of ${l.size} bytes exceeds ${MAX_PAYLOAD_BYTES}`,
      });
      continue;
    }
    try {
      const payload = await fetchExact(target, l);
      out.candidates.push({
        format: "legacy",
        where,
        payload,
        annotations: { ...(l.annotations ?? {}) },
      });
    } catch (e) {
      if (passThrough(e)) throw e;
      out.problems.push({ where, message: (e as Error).message });
    }
  }
}

async function discoverBundles(target: Target, digest: Digest, out: Discovered): Promise<void> {
  let refs: Descriptor[];
  try {
    refs = await target.referrers(digest, BUNDLE_V03_MEDIA_TYPE);
  } catch (e) {
    if (passThrough(e)) throw e;
    if (isKarsError(e, "NOT_FOUND")) return;
    out.problems.push({ where: `referrers of ${digest}`, message: (e as Error).message });
    return;
  }
  if (refs.length > MAX_SIGNATURES) {
    out.problems.push({
      where: `referrers of ${digest}`,
      message: `${refs.length} referrers; only the first ${MAX_SIGNATURES} are read`,
    });
  }
  for (const r of refs.slice(0, MAX_SIGNATURES)) {
    if (r.artifactType !== undefined && r.artifactType !== BUNDLE_V03_MEDIA_TYPE) continue;
    const where = `referrer ${r.digest}`;
    try {
      const fm = await target.fetchManifest(r.digest);
      if (digestBytes(fm.bytes) !== r.digest) {
        out.problems.push({ where, message: "manifest bytes do not match its digest" });
        continue;
      }
      const m = parseManifest(fm.bytes);
      if (!m || m.artifactType !== BUNDLE_V03_MEDIA_TYPE) {
        if (m && m.artifactType === undefined && m.config?.mediaType === BUNDLE_V03_MEDIA_TYPE) {
          // older layout: artifact type carried by the config media type
        } else continue;
      }
      if (m.subject?.digest !== digest) {
        out.problems.push({
          where: where,
          message: `subject is ${m.subject?.digest ?? "absent"}, not ${digest}`,
        });
        continue;
      }
      const layers = (m.layers ?? []).filter((l) => l?.mediaType === BUNDLE_V03_MEDIA_TYPE);
      if (layers.length !== 1 || !isDigest(layers[0].digest)) {
        out.problems.push({ where, message: `expected one ${BUNDLE_V03_MEDIA_TYPE} layer` });
        continue;
      }
      if (!Number.isSafeInteger(layers[0].size) || layers[0].size > MAX_BUNDLE_BYTES) {
        out.problems.push({
          where,
          message: `bundle of ${layers[0].size} bytes exceeds ${MAX_BUNDLE_BYTES}`,
        });
        continue;
      }
      const bytes = await fetchExact(target, layers[0]);
      let bundle: unknown;
      try {
        bundle = JSON.parse(fromUtf8(bytes));
      } catch {
        out.problems.push({ where, message: "bundle is not JSON" });
        continue;
      }
      out.candidates.push({ format: "bundle", where, bundle });
    } catch (e) {
      if (passThrough(e)) throw e;
      out.problems.push({ where, message: (e as Error).message });
    }
  }
}
