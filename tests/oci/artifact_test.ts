import assert from "assert";
import {
  ALLOWLIST_MEDIA_TYPE,
  buildAllowlistArtifact,
  checkLayerBytes,
  EMPTY_CONFIG_BYTES,
  parseAllowlistManifest,
} from "../../lib/oci/artifact.ts";
import { emitCanonicalAllowlist } from "../../lib/allowlist/canonical.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { fromUtf8, utf8 } from "../../lib/encoding/bytes.ts";
import { isKarsError } from "../../lib/errors.ts";
import { OCI_EMPTY_DIGEST } from "../../lib/oci/types.ts";

const bytes = emitCanonicalAllowlist({
  generation: 1,
  endpoints: [{ host: "api.github.com", port: 443 }],
});

Deno.test("artifact: manifest bytes are exactly the documented deterministic JSON", () => {
  const a = buildAllowlistArtifact(bytes);
  const layerDigest = digestBytes(bytes);
  assert.equal(
    fromUtf8(a.manifestBytes),
    `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"${ALLOWLIST_MEDIA_TYPE}",` +
      `"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},` +
      `"layers":[{"mediaType":"${ALLOWLIST_MEDIA_TYPE}","digest":"${layerDigest}","size":${bytes.length}}]}`,
  );
  assert.equal(a.manifestDigest, digestBytes(a.manifestBytes));
  assert.equal(digestBytes(EMPTY_CONFIG_BYTES), OCI_EMPTY_DIGEST);
  assert.deepEqual(a.layer, {
    mediaType: ALLOWLIST_MEDIA_TYPE,
    digest: layerDigest,
    size: bytes.length,
  });
  assert.deepEqual(JSON.parse(fromUtf8(a.manifestBytes)), a.manifest);
  // A pure function of the bytes.
  assert.deepEqual(buildAllowlistArtifact(bytes.slice()), a);
  assert.notEqual(
    buildAllowlistArtifact(utf8(fromUtf8(bytes).replace("generation: 1", "generation: 2")))
      .manifestDigest,
    a.manifestDigest,
  );
});

Deno.test("artifact: parseAllowlistManifest accepts ours and checks everything", () => {
  const a = buildAllowlistArtifact(bytes);
  const p = parseAllowlistManifest(a.manifestBytes, { expectedDigest: a.manifestDigest });
  assert.deepEqual(p.layer, a.layer);
  assert.equal(p.deterministic, true);
  // Same content, other key order / whitespace / annotations: accepted but not deterministic.
  const m = JSON.parse(fromUtf8(a.manifestBytes));
  m.annotations = { "org.opencontainers.image.created": "x" };
  const other = parseAllowlistManifest(utf8(JSON.stringify(m, null, 2)));
  assert.equal(other.deterministic, false);
  assert.deepEqual(other.layer, a.layer);

  const reject = (mut: (m: Record<string, unknown>) => void, re: RegExp) => {
    const x = JSON.parse(fromUtf8(a.manifestBytes));
    mut(x);
    assert.throws(
      () => parseAllowlistManifest(utf8(JSON.stringify(x))),
      (e: unknown) =>
        isKarsError(e, "VERIFY") && e.details?.reason === "CanonicalFormViolation" &&
        re.test(e.message),
    );
  };
  reject((x) => (x.artifactType = "application/x"), /artifactType/);
  reject((x) => (x.schemaVersion = 1), /schemaVersion/);
  reject(
    (x) => (x.mediaType = "application/vnd.docker.distribution.manifest.v2+json"),
    /mediaType/,
  );
  reject((x) => ((x.config as Record<string, unknown>).size = 3), /config/);
  reject((x) => (x.layers = []), /exactly one layer/);
  reject(
    (x) => (x.layers = [(x.layers as unknown[])[0], (x.layers as unknown[])[0]]),
    /exactly one layer/,
  );
  reject(
    (x) => ((x.layers as Record<string, unknown>[])[0].mediaType = "text/plain"),
    /layer mediaType/,
  );
  reject((x) => ((x.layers as Record<string, unknown>[])[0].digest = "sha256:ABC"), /layer digest/);
  reject((x) => ((x.layers as Record<string, unknown>[])[0].size = -1), /layer size/);
  reject((x) => (x.subject = { digest: "x" }), /unexpected field "subject"/);
  reject(
    (x) => ((x.layers as Record<string, unknown>[])[0].urls = ["http://x"]),
    /unexpected layer field/,
  );
  reject((x) => (x.annotations = { a: 1 }), /annotations/);
  assert.throws(() => parseAllowlistManifest(utf8("not json")), /not valid UTF-8 JSON/);
  assert.throws(() => parseAllowlistManifest(utf8("[]")), /not a JSON object/);
  assert.throws(
    () => parseAllowlistManifest(a.manifestBytes, { expectedDigest: digestBytes(utf8("other")) }),
    (e: unknown) => isKarsError(e, "VERIFY") && e.details?.reason === "DigestMismatch",
  );
});

Deno.test("artifact: checkLayerBytes", () => {
  const a = buildAllowlistArtifact(bytes);
  checkLayerBytes(a.layer, bytes);
  const tampered = bytes.slice();
  tampered[tampered.length - 2] ^= 1;
  assert.throws(
    () => checkLayerBytes(a.layer, tampered),
    (e: unknown) => isKarsError(e, "VERIFY") && e.details?.reason === "DigestMismatch",
  );
  assert.throws(() => checkLayerBytes(a.layer, bytes.subarray(1)), /DigestMismatch|does not match/);
});
