/**
 * The `sha256-<hex>` referrers fallback index under a rival writer (in-process registry without
 * the referrers API): a stale index written by someone else after our write, before our
 * (delayed) confirming read — once, or again after we merged and wrote a second time — never
 * costs an entry, ours or theirs. The same for `.sig`.
 */
import assert from "assert";
import { fromUtf8, utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { attachSignature } from "../../lib/sign/store.ts";
import {
  type ImageIndex,
  type ImageManifest,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../../lib/oci/types.ts";
import { startRegistryServer } from "../support/registry_server.ts";

const REPO = "policy/egress-allowlist/race";

for (const times of [1, 2]) {
  const when = times === 1 ? "our delayed confirming read" : "each of our two confirming reads";
  Deno.test(`referrers fallback: a rival's stale index landing before ${when} is merged, not lost`, async () => {
    const server = await startRegistryServer({ referrersApi: false });
    try {
      const t = new RegistryTarget({ registry: server.host, repository: REPO });
      await t.pushBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, utf8("{}"));
      const subjectBytes = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
        layers: [],
      }));
      const subject = await t.pushManifest(subjectBytes, OCI_MANIFEST, "latest");
      const tag = `sha256-${subject.digest.slice(7)}`;
      // The rival's own referrer manifest, stored by digest (its index write comes later).
      const rivalBytes = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/rival",
        config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
        layers: [],
        subject,
      }));
      const rival = {
        mediaType: OCI_MANIFEST,
        digest: digestBytes(rivalBytes),
        size: rivalBytes.length,
      };
      const put = async (ref: string, mediaType: string, body: Uint8Array) => {
        const res = await fetch(`${server.url}/v2/${REPO}/manifests/${ref}`, {
          method: "PUT",
          headers: { "content-type": mediaType },
          body: new Uint8Array(body),
        });
        await res.body?.cancel();
        assert.equal(res.status, 201, `rival PUT ${ref}`);
      };
      await put(rival.digest, OCI_MANIFEST, rivalBytes);
      const stale = utf8(
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [rival] }),
      );
      // Our PUTs of the tag, and the rival's stale write landing just before the first GET
      // after each of them (then our GET is answered), `times` times.
      let ourPuts = 0, firedAt = 0, fired = 0, rivalWriting = false;
      server.setFault(async (req, url) => {
        if (!url.pathname.endsWith(`/manifests/${tag}`)) return undefined;
        if (req.method === "PUT" && !rivalWriting) ourPuts++;
        if (req.method === "GET" && ourPuts > firedAt && fired < times) {
          fired++;
          firedAt = ourPuts;
          rivalWriting = true;
          await put(tag, OCI_INDEX, stale);
          rivalWriting = false;
        }
        return undefined;
      });
      const referrer = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/example",
        config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
        layers: [],
        subject,
      }));
      const ours = await t.pushManifest(referrer, OCI_MANIFEST);
      assert.equal(fired, times, "the rival wrote");
      server.setFault(undefined);
      const index = JSON.parse(fromUtf8((await t.fetchManifest(tag)).bytes)) as ImageIndex;
      assert.deepEqual(
        index.manifests.map((d) => d.digest).sort(),
        [ours.digest, rival.digest].sort(),
      );
    } finally {
      await server.stop();
    }
  });
}

for (const [times, subjectNew] of [[1, false], [2, false], [1, true], [2, true]] as const) {
  const when = times === 1 ? "our delayed confirming read" : "each of our two confirming reads";
  const staged = subjectNew ? " (blobs staged for a subject new to the target)" : "";
  Deno.test(`.sig manifest: a rival's stale .sig landing before ${when} is merged, not lost${staged}`, async () => {
    const server = await startRegistryServer({ referrersApi: false });
    try {
      const t = new RegistryTarget({ registry: server.host, repository: REPO });
      const subject = { mediaType: OCI_MANIFEST, digest: digestBytes(utf8("subject")), size: 7 };
      const tag = `sha256-${subject.digest.slice(7)}.sig`;
      // The rival's signature layer and its one-layer .sig manifest (blobs stored up front).
      const rivalPayload = utf8("rival payload");
      const rivalLayer = {
        mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
        digest: digestBytes(rivalPayload),
        size: rivalPayload.length,
        annotations: { "dev.cosignproject.cosign/signature": "rival" },
      };
      await t.pushBlob(rivalLayer, rivalPayload);
      await t.pushBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, utf8("{}"));
      const stale = utf8(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
        layers: [rivalLayer],
      }));
      let ourPuts = 0, firedAt = 0, fired = 0, rivalWriting = false;
      server.setFault(async (req, url) => {
        if (!url.pathname.endsWith(`/manifests/${tag}`)) return undefined;
        if (req.method === "PUT" && !rivalWriting) ourPuts++;
        if (req.method === "GET" && ourPuts > firedAt && fired < times) {
          fired++;
          firedAt = ourPuts;
          rivalWriting = true;
          const res = await fetch(`${server.url}/v2/${REPO}/manifests/${tag}`, {
            method: "PUT",
            headers: { "content-type": OCI_MANIFEST },
            body: new Uint8Array(stale),
          });
          await res.body?.cancel();
          rivalWriting = false;
          assert.equal(res.status, 201);
        }
        return undefined;
      });
      const payload = utf8("our payload");
      await attachSignature(t, subject, {
        format: "legacy",
        payload,
        annotations: { "dev.cosignproject.cosign/signature": "ours" },
      }, { subjectNew });
      assert.equal(fired, times, "the rival wrote");
      server.setFault(undefined);
      const sig = JSON.parse(fromUtf8((await t.fetchManifest(tag)).bytes)) as ImageManifest;
      assert.deepEqual(
        sig.layers.map((l) => l.annotations?.["dev.cosignproject.cosign/signature"]).sort(),
        ["ours", "rival"],
      );
    } finally {
      await server.stop();
    }
  });
}
