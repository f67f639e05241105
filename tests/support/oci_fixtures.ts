/**
 * OCI test fixtures: an allowlist-like artifact (formats.md §3: empty config, one layer,
 * artifactType) built from YAML text, ready for `pushArtifact`.
 *
 * @module
 */
import { utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { OCI_EMPTY, OCI_EMPTY_DIGEST, OCI_MANIFEST } from "../../lib/oci/types.ts";

/** Artifact type used by the fixtures. */
export const ALLOWLIST_TYPE = "application/vnd.kars.egress-allowlist.v1+yaml";

/**
 * An allowlist-like artifact.
 *
 * @example
 * ```ts
 * import { allowlistArtifact } from "./oci_fixtures.ts";
 * const a = allowlistArtifact("hosts: []\n");
 * a.blobs.length; // 2
 * ```
 */
export function allowlistArtifact(yaml: string, extra: Record<string, unknown> = {}) {
  const layer = utf8(yaml);
  const layerDesc = { mediaType: ALLOWLIST_TYPE, digest: digestBytes(layer), size: layer.length };
  const manifestBytes = utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ALLOWLIST_TYPE,
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [layerDesc],
    ...extra,
  }));
  return {
    manifestBytes,
    digest: digestBytes(manifestBytes),
    layer,
    layerDesc,
    blobs: [
      { desc: { digest: OCI_EMPTY_DIGEST, size: 2 }, data: utf8("{}") },
      { desc: layerDesc, data: layer },
    ],
  };
}
