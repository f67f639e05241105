/**
 * The allowlist OCI artifact (formats.md §3): an image manifest whose single layer holds
 * the canonical allowlist bytes, with the empty config. The manifest bytes are a pure
 * function of the allowlist bytes (no timestamps, no annotations, no host data), so the
 * manifest digest is too.
 *
 * Serialisation (fixed, compact JSON, no whitespace, no trailing newline), key order:
 * manifest `schemaVersion`, `mediaType`, `artifactType`, `config`, `layers`;
 * descriptor `mediaType`, `digest`, `size` — the field order of the OCI Go structs that
 * oras and cosign use, so the same artifact built by those tools has the same digest.
 *
 * @module
 */
import { KarsError } from "../errors.ts";
import { fromUtf8, utf8 } from "../encoding/bytes.ts";
import { type Digest, digestBytes, isDigest } from "../encoding/digest.ts";
import {
  type Descriptor,
  type ImageManifest,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  OCI_MANIFEST,
} from "./types.ts";

/** Artifact type and layer media type of a signed egress allowlist. */
export const ALLOWLIST_MEDIA_TYPE = "application/vnd.kars.egress-allowlist.v1+yaml";

/**
 * Largest allowlist layer accepted when parsing a manifest (32 MiB): the largest canonical
 * allowlist is 100,000 endpoints (`MAX_ENDPOINTS`) of at most ~290 bytes each (a 253-character
 * host, port 65535, the YAML around them), about 29 MB. A tighter cap also bounds what a
 * hostile registry can make a verifier read and hold for one layer.
 */
export const MAX_ALLOWLIST_LAYER_BYTES = 32 * 1024 * 1024;

/** The empty config descriptor (blob `{}`). */
export const EMPTY_CONFIG: Descriptor = { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 };

/** The empty config blob, `{}`. */
export const EMPTY_CONFIG_BYTES: Uint8Array = utf8("{}");

/** Everything needed to push the artifact. */
export interface AllowlistArtifact {
  /** Layer descriptor (the canonical allowlist bytes). */
  layer: Descriptor;
  /** Config descriptor (always {@link EMPTY_CONFIG}). */
  config: Descriptor;
  /** Exact manifest bytes to push. */
  manifestBytes: Uint8Array;
  /** Digest of `manifestBytes` (the `allowlistRef.digest`). */
  manifestDigest: Digest;
  /** The manifest as an object. */
  manifest: ImageManifest;
}

function serialize(layerDigest: Digest, layerSize: number): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ALLOWLIST_MEDIA_TYPE,
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [{ mediaType: ALLOWLIST_MEDIA_TYPE, digest: layerDigest, size: layerSize }],
  });
}

/**
 * Builds the artifact for canonical allowlist bytes, offline.
 *
 * @example
 * ```ts
 * import { buildAllowlistArtifact } from "./artifact.ts";
 * const a = buildAllowlistArtifact(new TextEncoder().encode("apiVersion: kars.dev/v1alpha1\n"));
 * a.manifestDigest.startsWith("sha256:"); // true
 * ```
 */
export function buildAllowlistArtifact(canonicalBytes: Uint8Array): AllowlistArtifact {
  const layer: Descriptor = {
    mediaType: ALLOWLIST_MEDIA_TYPE,
    digest: digestBytes(canonicalBytes),
    size: canonicalBytes.length,
  };
  const manifestBytes = utf8(serialize(layer.digest, layer.size));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ALLOWLIST_MEDIA_TYPE,
    config: { ...EMPTY_CONFIG },
    layers: [layer],
  };
  return {
    layer,
    config: { ...EMPTY_CONFIG },
    manifestBytes,
    manifestDigest: digestBytes(manifestBytes),
    manifest,
  };
}

/** Result of {@link parseAllowlistManifest}. */
export interface ParsedAllowlistManifest {
  /** The manifest. */
  manifest: ImageManifest;
  /** The one allowlist layer. */
  layer: Descriptor;
  /** True when the bytes are exactly what {@link buildAllowlistArtifact} writes. */
  deterministic: boolean;
}

const MANIFEST_KEYS = new Set([
  "schemaVersion",
  "mediaType",
  "artifactType",
  "config",
  "layers",
  "annotations",
]);

/**
 * Parses and checks allowlist manifest bytes (used by verification). Checks: valid JSON
 * object; schemaVersion 2; OCI manifest media type; artifactType; config is exactly the
 * empty descriptor; exactly one layer of the allowlist media type with a well-formed digest
 * and size; no keys other than those (string `annotations` are tolerated, as other tools
 * add them). With `expectedDigest`, the bytes must hash to it.
 *
 * Errors are `KarsError("VERIFY")` with `details.reason` `DigestMismatch` or
 * `CanonicalFormViolation`.
 *
 * @example
 * ```ts
 * import { buildAllowlistArtifact, parseAllowlistManifest } from "./artifact.ts";
 * const a = buildAllowlistArtifact(new TextEncoder().encode("x"));
 * parseAllowlistManifest(a.manifestBytes, { expectedDigest: a.manifestDigest }).layer.size; // 1
 * ```
 */
export function parseAllowlistManifest(
  bytes: Uint8Array,
  options: { expectedDigest?: Digest } = {},
): ParsedAllowlistManifest {
  if (options.expectedDigest !== undefined) {
    const got = digestBytes(bytes);
    if (got !== options.expectedDigest) {
      throw new KarsError(
        "VERIFY",
        `manifest digest mismatch: expected ${options.expectedDigest}, content hashes to ${got}`,
        {
          details: { reason: "DigestMismatch", expected: options.expectedDigest, actual: got },
        },
      );
    }
  }
  const fail = (why: string): never => {
    throw new KarsError("VERIFY", `allowlist manifest is malformed: ${why}`, {
      details: { reason: "CanonicalFormViolation", problem: why },
    });
  };
  let m: Record<string, unknown>;
  try {
    const v = JSON.parse(fromUtf8(bytes));
    if (v === null || typeof v !== "object" || Array.isArray(v)) return fail("not a JSON object");
    m = v;
  } catch (e) {
    if (e instanceof KarsError) throw e;
    return fail("not valid UTF-8 JSON");
  }
  for (const k of Object.keys(m)) {
    if (!MANIFEST_KEYS.has(k)) fail(`unexpected field ${JSON.stringify(k)}`);
  }
  if (m.schemaVersion !== 2) fail("schemaVersion is not 2");
  if (m.mediaType !== OCI_MANIFEST) fail(`mediaType is not ${OCI_MANIFEST}`);
  if (m.artifactType !== ALLOWLIST_MEDIA_TYPE) fail(`artifactType is not ${ALLOWLIST_MEDIA_TYPE}`);
  const c = m.config as Record<string, unknown> | null;
  if (
    !c || typeof c !== "object" || c.mediaType !== OCI_EMPTY || c.digest !== OCI_EMPTY_DIGEST ||
    c.size !== 2
  ) fail("config is not the empty descriptor");
  for (const k of Object.keys(c!)) {
    if (!["mediaType", "digest", "size", "data"].includes(k)) {
      fail(`unexpected config field ${JSON.stringify(k)}`);
    }
  }
  if (c!.data !== undefined && c!.data !== "e30=") fail("config data is not {}");
  if (!Array.isArray(m.layers) || m.layers.length !== 1) fail("must have exactly one layer");
  const l = (m.layers as unknown[])[0] as Record<string, unknown>;
  if (!l || typeof l !== "object") return fail("layer is not an object");
  if (l.mediaType !== ALLOWLIST_MEDIA_TYPE) fail(`layer mediaType is not ${ALLOWLIST_MEDIA_TYPE}`);
  if (!isDigest(l.digest)) fail("layer digest is not sha256:<64 lowercase hex>");
  if (
    typeof l.size !== "number" || !Number.isSafeInteger(l.size) || l.size < 1 ||
    l.size > MAX_ALLOWLIST_LAYER_BYTES
  ) {
    fail(`layer size must be an integer 1-${MAX_ALLOWLIST_LAYER_BYTES}`);
  }
  for (const k of Object.keys(l)) {
    if (!["mediaType", "digest", "size", "annotations"].includes(k)) {
      fail(`unexpected layer field ${JSON.stringify(k)}`);
    }
  }
  for (const a of [m.annotations, l.annotations]) {
    if (a === undefined) continue;
    if (
      !a || typeof a !== "object" || Array.isArray(a) ||
      Object.values(a).some((v) => typeof v !== "string")
    ) {
      fail("annotations must map strings to strings");
    }
  }
  const layer: Descriptor = {
    mediaType: ALLOWLIST_MEDIA_TYPE,
    digest: l.digest as Digest,
    size: l.size as number,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ALLOWLIST_MEDIA_TYPE,
    config: { ...EMPTY_CONFIG },
    layers: [layer],
  };
  if (m.annotations) manifest.annotations = m.annotations as Record<string, string>;
  const deterministic = fromUtf8(bytes) === serialize(layer.digest, layer.size);
  return { manifest, layer, deterministic };
}

/**
 * Checks fetched layer bytes against their descriptor (size, then digest); throws
 * `KarsError("VERIFY", …, {details: {reason: "DigestMismatch"}})`.
 *
 * @example
 * ```ts
 * import { buildAllowlistArtifact, checkLayerBytes } from "./artifact.ts";
 * const bytes = new TextEncoder().encode("x");
 * checkLayerBytes(buildAllowlistArtifact(bytes).layer, bytes); // ok
 * ```
 */
export function checkLayerBytes(layer: Descriptor, bytes: Uint8Array): void {
  const got = digestBytes(bytes);
  if (bytes.length !== layer.size || got !== layer.digest) {
    throw new KarsError(
      "VERIFY",
      `allowlist layer does not match its descriptor: expected ${layer.digest} (${layer.size} bytes), got ${got} (${bytes.length} bytes)`,
      { details: { reason: "DigestMismatch", expected: layer.digest, actual: got } },
    );
  }
}
