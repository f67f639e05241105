import assert from "assert";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { isKarsError } from "../../lib/errors.ts";
import type { RequestLogEntry } from "../../lib/oci/request_log.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { OCI_EMPTY, OCI_EMPTY_DIGEST, OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/types.ts";
import { haveTool, needs, startDockerRegistry } from "../support/docker_registry.ts";

function artifact(text: string, extra: Record<string, unknown> = {}) {
  const layer = utf8(text);
  const layerDesc = { mediaType: "text/plain", digest: digestBytes(layer), size: layer.length };
  const manifest = utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/vnd.test+type",
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [layerDesc],
    ...extra,
  }));
  return { layer, layerDesc, manifest, digest: digestBytes(manifest) };
}

Deno.test(
  "RegistryTarget: anonymous blob and manifest round trip on docker-registry",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    try {
      const log: RequestLogEntry[] = [];
      const t = new RegistryTarget({
        registry: reg.host,
        repository: "policy/egress-allowlist/web",
        log: (e) => log.push(e),
      });
      const a = artifact("hello\n");
      assert.equal(await t.blobExists(a.layerDesc.digest), false);
      await t.pushBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, utf8("{}"));
      await t.pushBlob(a.layerDesc, a.layer);
      assert.equal(await t.blobExists(a.layerDesc.digest), true);
      assert.deepEqual(await t.fetchBlob(a.layerDesc.digest, a.layerDesc.size), a.layer);
      const desc = await t.pushManifest(a.manifest, OCI_MANIFEST, "latest");
      assert.equal(desc.digest, a.digest);
      const r = await t.resolve("latest");
      assert.equal(r?.digest, a.digest);
      assert.equal(r?.mediaType, OCI_MANIFEST);
      const m = await t.fetchManifest(a.digest);
      assert.deepEqual(m.bytes, a.manifest);
      assert.equal(m.descriptor.artifactType, "application/vnd.test+type");
      assert.equal(await t.resolve("nope"), null);
      await assert.rejects(
        () => t.fetchManifest("nope"),
        (e) => isKarsError(e, "NOT_FOUND") && /MANIFEST_UNKNOWN/.test(e.message),
      );
      assert.deepEqual(await t.listTags(), ["latest"]);
      assert.ok(log.length > 0 && log.every((e) => e.url.startsWith(reg.url)));
      // referrers: docker-registry 2.8 has no API; the fallback index is written and read.
      const ref = artifact("sig", {
        subject: { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length },
      });
      await t.pushBlob(ref.layerDesc, ref.layer);
      await t.pushManifest(ref.manifest, OCI_MANIFEST);
      await t.pushManifest(ref.manifest, OCI_MANIFEST); // no duplicate entry
      const refs = await t.referrers(a.digest);
      assert.deepEqual(refs.map((d) => d.digest), [ref.digest]);
      assert.equal(refs[0].artifactType, "application/vnd.test+type");
      const fb = await t.fetchManifest(`sha256-${a.digest.slice(7)}`);
      assert.equal(fb.descriptor.mediaType, OCI_INDEX);
      assert.deepEqual(await t.referrers(a.digest, "other/type"), []);
    } finally {
      await reg.stop();
    }
  },
);

Deno.test(
  "RegistryTarget: a fallback tag that is not an OCI index is refused (docker-registry)",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    try {
      const t = new RegistryTarget({ registry: reg.host, repository: "policy/egress-allowlist/x" });
      const a = artifact("subject\n");
      await t.pushBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, utf8("{}"));
      await t.pushBlob(a.layerDesc, a.layer);
      await t.pushManifest(a.manifest, OCI_MANIFEST, "latest");
      // Something else (an image manifest) squats on the fallback tag.
      await t.pushManifest(a.manifest, OCI_MANIFEST, `sha256-${a.digest.slice(7)}`);
      await assert.rejects(
        () => t.referrers(a.digest),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "NotAnIndex",
      );
      const ref = artifact("sig", {
        subject: { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length },
      });
      await t.pushBlob(ref.layerDesc, ref.layer);
      await assert.rejects(
        () => t.pushManifest(ref.manifest, OCI_MANIFEST),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "NotAnIndex",
      );
    } finally {
      await reg.stop();
    }
  },
);

function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < parts.length) c.enqueue(parts[i++]);
      else c.close();
    },
  });
}

Deno.test(
  "RegistryTarget: streamed blob upload (chunked) and download, digest verified (docker-registry)",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    try {
      const log: RequestLogEntry[] = [];
      const t = new RegistryTarget({
        registry: reg.host,
        repository: "policy/egress-allowlist/stream",
        chunkSize: 100,
        log: (e) => log.push(e),
      });
      const parts = Array.from({ length: 7 }, (_, i) => utf8(`part ${i} `.repeat(9)));
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      const desc = { digest: digestBytes(all), size: all.length };
      await t.pushBlobStream(desc, streamOf(parts));
      assert.ok(log.filter((e) => e.method === "PATCH").length >= 3);
      const s = await t.fetchBlobStream(desc.digest, desc.size);
      assert.deepEqual(new Uint8Array(await new Response(s).arrayBuffer()), all);

      // A stream whose bytes do not match: the session is cancelled and nothing is stored.
      const wrong = { digest: digestBytes(utf8("something else")), size: all.length };
      await assert.rejects(
        () => t.pushBlobStream(wrong, streamOf(parts)),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
      );
      assert.equal(await t.blobExists(wrong.digest), false);
      // Downloading with a wrong expected digest errors at the end of the stream.
      const s2 = await t.fetchBlobStream(desc.digest, desc.size);
      await new Response(s2).arrayBuffer();
      await assert.rejects(
        async () => {
          const bad = await t.fetchBlobStream(desc.digest, desc.size + 1);
          await new Response(bad).arrayBuffer();
        },
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
      );
    } finally {
      await reg.stop();
    }
  },
);

Deno.test("haveTool: a missing tool skips with a warning, or fails under KARS_REQUIRE_TOOLS=1", () => {
  const saved = Deno.env.get("KARS_REQUIRE_TOOLS");
  const warn = console.warn;
  const warned: string[] = [];
  console.warn = (...a: unknown[]) => warned.push(a.join(" "));
  try {
    Deno.env.delete("KARS_REQUIRE_TOOLS");
    assert.equal(haveTool("/nonexistent/kars-tool", "kars-tool"), false);
    assert.ok(warned.some((w) => w.includes("skipping: kars-tool not installed")));
    Deno.env.set("KARS_REQUIRE_TOOLS", "1");
    assert.throws(() => haveTool("/nonexistent/kars-tool", "kars-tool"), /KARS_REQUIRE_TOOLS=1/);
  } finally {
    console.warn = warn;
    if (saved === undefined) Deno.env.delete("KARS_REQUIRE_TOOLS");
    else Deno.env.set("KARS_REQUIRE_TOOLS", saved);
  }
});
