/**
 * Storing a legacy signature for a subject new to the target (lib/sign/store.ts): the payload
 * and the one-layer `.sig` config are uploaded first — no HEAD, or staged ahead of signing —
 * and the one read of the `.sig` tag before the write follows them directly; when the hint was
 * wrong (a `.sig` manifest is there), nothing of it is lost and the config matches the layers.
 */
import assert from "assert";
import { fromUtf8, utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { type ImageManifest, OCI_MANIFEST } from "../../lib/oci/types.ts";
import { attachSignature, stageLegacySignature } from "../../lib/sign/store.ts";
import { simpleSigningPayload } from "../../lib/cosign/simple_signing.ts";
import { startRegistryServer } from "../support/registry_server.ts";

const REPO = "policy/egress-allowlist/staged";
const subject = { mediaType: OCI_MANIFEST, digest: digestBytes(utf8("subject")), size: 7 };
const tag = `sha256-${subject.digest.slice(7)}.sig`;
const payload = simpleSigningPayload(`reg.example/${REPO}`, subject.digest);
const ours = {
  format: "legacy" as const,
  payload,
  annotations: { "dev.cosignproject.cosign/signature": "ours" },
};

function shapes(reqs: { method: string; path: string; status: number }[]): string[] {
  return reqs.map((r) =>
    `${r.method} ${
      r.path.replace(`/v2/${REPO}/`, "").replace(tag, "<sig>").replace(/uploads\/.*/, "uploads/…")
    } ${r.status}`
  );
}

for (const how of ["subjectNew", "staged"] as const) {
  Deno.test(`store (${how}): two uploads, one read, the write, one confirming read`, async () => {
    const server = await startRegistryServer({ referrersApi: false, singlePost: false });
    try {
      const t = new RegistryTarget({ registry: server.host, repository: REPO });
      const staged = how === "staged"
        ? stageLegacySignature(t, `reg.example/${REPO}`, subject.digest)
        : undefined;
      await attachSignature(t, subject, ours, how === "staged" ? { staged } : { subjectNew: true });
      const got = shapes(server.requests);
      // The uploads run in parallel: only their kinds are fixed; then the .sig tag in order.
      assert.deepEqual(got.slice(0, 4).sort(), [
        "POST blobs/uploads/… 202",
        "POST blobs/uploads/… 202",
        "PUT blobs/uploads/… 201",
        "PUT blobs/uploads/… 201",
      ]);
      assert.deepEqual(got.slice(4), [
        "GET manifests/<sig> 404",
        "PUT manifests/<sig> 201",
        "GET manifests/<sig> 200",
      ]);
      const m = JSON.parse(fromUtf8((await t.fetchManifest(tag)).bytes)) as ImageManifest;
      assert.deepEqual(m.layers.map((l) => l.digest), [digestBytes(payload)]);
      if (staged) assert.equal(m.config.digest, staged.configDigest);
      assert.ok(await t.blobExists(m.config.digest));
    } finally {
      await server.stop();
    }
  });
}

Deno.test("store (subjectNew, but a .sig is there): its layer is kept; the config names both", async () => {
  const server = await startRegistryServer({ referrersApi: false });
  try {
    const t = new RegistryTarget({ registry: server.host, repository: REPO });
    const rival = utf8("rival payload");
    await attachSignature(t, subject, {
      format: "legacy",
      payload: rival,
      annotations: { "dev.cosignproject.cosign/signature": "rival" },
    });
    const staged = stageLegacySignature(t, `reg.example/${REPO}`, subject.digest);
    await attachSignature(t, subject, ours, { staged, subjectNew: true });
    const m = JSON.parse(fromUtf8((await t.fetchManifest(tag)).bytes)) as ImageManifest;
    assert.deepEqual(m.layers.map((l) => l.annotations?.["dev.cosignproject.cosign/signature"]), [
      "rival",
      "ours",
    ]);
    assert.notEqual(m.config.digest, staged.configDigest, "the staged one-layer config is not it");
    const config = JSON.parse(fromUtf8(await t.fetchBlob(m.config.digest, m.config.size)));
    assert.deepEqual(config.rootfs.diff_ids, m.layers.map((l) => l.digest));
  } finally {
    await server.stop();
  }
});

Deno.test("store: blobs staged for another payload are not used (the payload decides)", async () => {
  const server = await startRegistryServer({ referrersApi: false });
  try {
    const t = new RegistryTarget({ registry: server.host, repository: REPO });
    const other = stageLegacySignature(t, "reg.example/other", subject.digest);
    await attachSignature(t, subject, ours, { staged: other });
    const m = JSON.parse(fromUtf8((await t.fetchManifest(tag)).bytes)) as ImageManifest;
    assert.deepEqual(m.layers.map((l) => l.digest), [digestBytes(payload)]);
    assert.notEqual(m.config.digest, other.configDigest);
    assert.ok(await t.blobExists(m.config.digest));
  } finally {
    await server.stop();
  }
});
