/**
 * A TypeScript port of the OCI distribution-spec conformance checks (pull, push —
 * monolithic, single POST, chunked, mount —, content discovery, content management, error
 * codes), run through RegistryTarget against Debian's docker-registry 2.8 and against the
 * in-process registry (which adds the referrers API and `n`/`last` pagination).
 */
import assert from "assert";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { type Digest, digestBytes } from "../../lib/encoding/digest.ts";
import { isKarsError } from "../../lib/errors.ts";
import type { RequestLogEntry } from "../../lib/oci/request_log.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { OCI_EMPTY, OCI_EMPTY_DIGEST, OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/types.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { startRegistryServer } from "../support/registry_server.ts";

const EMPTY = utf8("{}");

function blob(text: string) {
  const data = utf8(text);
  return { data, desc: { mediaType: "text/plain", digest: digestBytes(data), size: data.length } };
}

function manifestOf(layers: { digest: Digest; size: number; mediaType: string }[], extra = {}) {
  const bytes = utf8(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/vnd.conformance",
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers,
    ...extra,
  }));
  return { bytes, digest: digestBytes(bytes) };
}

interface Flavour {
  name: string;
  host: string;
  referrersApi: boolean;
  singlePost201: boolean;
  /** Honours `n`/`last` on tags/list with a `Link` header (docker-registry 2.8 does not). */
  paginates: boolean;
}

async function suite(t: Deno.TestContext, f: Flavour) {
  const log: RequestLogEntry[] = [];
  const open = (repository: string, extra: Record<string, unknown> = {}) =>
    new RegistryTarget({ registry: f.host, repository, log: (e) => log.push(e), ...extra });
  const repo = open("conformance/pull");
  const layer = blob(`layer of ${f.name}\n`);
  const m = manifestOf([layer.desc]);

  await t.step("push: monolithic POST then PUT", async () => {
    log.length = 0;
    await repo.uploadBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, EMPTY);
    await repo.uploadBlob(layer.desc, layer.data);
    assert.deepEqual(log.map((e) => `${e.method} ${e.status}`), [
      "POST 202",
      "PUT 201",
      "POST 202",
      "PUT 201",
    ]);
  });

  await t.step("push: manifest by tag and by digest", async () => {
    const d = await repo.pushManifest(m.bytes, OCI_MANIFEST, "v1");
    assert.equal(d.digest, m.digest);
    assert.equal((await repo.pushManifest(m.bytes, OCI_MANIFEST)).digest, m.digest);
  });

  await t.step("pull: manifest by tag/digest, HEAD, blob GET/HEAD", async () => {
    assert.deepEqual((await repo.fetchManifest("v1")).bytes, m.bytes);
    assert.deepEqual((await repo.fetchManifest(m.digest)).bytes, m.bytes);
    const r = await repo.resolve("v1");
    assert.deepEqual(r, { mediaType: OCI_MANIFEST, digest: m.digest, size: m.bytes.length });
    assert.deepEqual(await repo.fetchBlob(layer.desc.digest, layer.desc.size), layer.data);
    assert.equal(await repo.blobExists(layer.desc.digest), true);
  });

  await t.step("pull: absent manifest and blob → NOT_FOUND with registry codes", async () => {
    assert.equal(await repo.resolve("missing"), null);
    await assert.rejects(
      () => repo.fetchManifest("missing"),
      (e) =>
        isKarsError(e, "NOT_FOUND") && /MANIFEST_UNKNOWN/.test(e.message) &&
        e.message.includes("conformance/pull") && e.message.includes(f.host),
    );
    const absent = digestBytes(utf8(crypto.randomUUID()));
    assert.equal(await repo.blobExists(absent), false);
    await assert.rejects(
      () => repo.fetchBlob(absent),
      (e) => isKarsError(e, "NOT_FOUND") && /BLOB_UNKNOWN/.test(e.message),
    );
  });

  await t.step(
    "push: single POST ?digest= (201 where supported, else finished with PUT)",
    async () => {
      const b = blob(`single post ${f.name}\n`);
      const t2 = open("conformance/single", { singlePostUpload: true });
      log.length = 0;
      await t2.uploadBlob(b.desc, b.data);
      const steps = log.map((e) => `${e.method} ${e.status}`);
      assert.deepEqual(steps, f.singlePost201 ? ["POST 201"] : ["POST 202", "PUT 201"]);
      assert.deepEqual(await t2.fetchBlob(b.desc.digest), b.data);
      // The client learnt: the next upload goes straight to POST (no body) then PUT.
      const c = blob(`second ${f.name}\n`);
      log.length = 0;
      await t2.uploadBlob(c.desc, c.data);
      assert.equal(log.length, f.singlePost201 ? 1 : 2);
    },
  );

  await t.step("push: chunked (PATCH with Content-Range, then PUT)", async () => {
    const big = utf8("0123456789abcdefghijklmnopqrstuvwxyz".repeat(3)); // 108 bytes
    const desc = { digest: digestBytes(big), size: big.length };
    const t3 = open("conformance/chunked", { chunkThreshold: 50, chunkSize: 40 });
    log.length = 0;
    await t3.uploadBlob(desc, big);
    assert.deepEqual(log.map((e) => `${e.method} ${e.status}`), [
      "POST 202",
      "PATCH 202",
      "PATCH 202",
      "PATCH 202",
      "PUT 201",
    ]);
    assert.deepEqual(await t3.fetchBlob(desc.digest, desc.size), big);
  });

  await t.step("push: cross-repository mount", async () => {
    const t4 = open("conformance/mounted");
    log.length = 0;
    await t4.uploadBlob(layer.desc, layer.data, { mountFrom: "conformance/pull" });
    assert.deepEqual(log.map((e) => `${e.method} ${e.status}`), ["POST 201"]);
    assert.ok(log[0].url.includes("mount=") && log[0].url.includes("from=conformance"));
    assert.equal(await t4.blobExists(layer.desc.digest), true);
    // Mount from a repository without the blob: falls back to an upload in the same session.
    const other = blob(`not mountable ${f.name}\n`);
    log.length = 0;
    await t4.uploadBlob(other.desc, other.data, { mountFrom: "conformance/nothing-here" });
    assert.deepEqual(log.map((e) => `${e.method} ${e.status}`), ["POST 202", "PUT 201"]);
  });

  await t.step("content discovery: tags list with pagination", async () => {
    for (const tag of ["a", "b", "c", "d", "e"]) {
      await repo.pushManifest(m.bytes, OCI_MANIFEST, tag);
    }
    const all = ["a", "b", "c", "d", "e", "v1"];
    assert.deepEqual((await repo.listTags()).sort(), all);
    log.length = 0;
    const paged = await repo.listTags({ pageSize: 2 });
    assert.deepEqual(paged.sort(), all);
    if (f.paginates) {
      assert.equal(log.filter((e) => e.url.includes("/tags/list")).length, 3);
      assert.ok(log.some((e) => e.url.includes("last=")));
    }
    assert.deepEqual(await open("conformance/never-pushed").listTags(), []);
  });

  await t.step("content discovery: referrers (API or fallback tag)", async () => {
    const subject = { mediaType: OCI_MANIFEST, digest: m.digest, size: m.bytes.length };
    const r1 = manifestOf([layer.desc], { artifactType: "application/vnd.sig", subject });
    const r2 = manifestOf([layer.desc], { artifactType: "application/vnd.sbom", subject });
    await repo.pushManifest(r1.bytes, OCI_MANIFEST);
    await repo.pushManifest(r2.bytes, OCI_MANIFEST);
    await repo.pushManifest(r1.bytes, OCI_MANIFEST);
    log.length = 0;
    const refs = await repo.referrers(m.digest);
    assert.deepEqual(refs.map((d) => d.digest).sort(), [r1.digest, r2.digest].sort());
    const sigs = await repo.referrers(m.digest, "application/vnd.sig");
    assert.deepEqual(sigs.map((d) => d.digest), [r1.digest]);
    const fallbackTag = `sha256-${m.digest.slice(7)}`;
    const tags = await repo.listTags();
    if (f.referrersApi) {
      assert.ok(!tags.includes(fallbackTag), "no fallback tag where the API exists");
      assert.ok(log.some((e) => e.url.includes("/referrers/") && e.status === 200));
    } else {
      assert.ok(tags.includes(fallbackTag));
      const idx = await repo.fetchManifest(fallbackTag);
      assert.equal(idx.descriptor.mediaType, OCI_INDEX);
      const parsed = JSON.parse(new TextDecoder().decode(idx.bytes));
      assert.equal(parsed.manifests.length, 2, "no duplicate entries");
    }
  });

  await t.step("content management: delete manifest and blob", async () => {
    const b = blob(`to delete ${f.name}\n`);
    const dm = manifestOf([b.desc]);
    const t5 = open("conformance/delete");
    await t5.uploadBlob({ digest: OCI_EMPTY_DIGEST, size: 2 }, EMPTY);
    await t5.uploadBlob(b.desc, b.data);
    await t5.pushManifest(dm.bytes, OCI_MANIFEST, "gone");
    await t5.deleteManifest(dm.digest);
    assert.equal(await t5.resolve(dm.digest), null);
    await t5.deleteBlob(b.desc.digest);
    assert.equal(await t5.blobExists(b.desc.digest), false);
    await assert.rejects(() => t5.deleteManifest(dm.digest), (e) => isKarsError(e, "NOT_FOUND"));
  });

  await t.step("error codes: manifest with unknown blob is refused, nothing tagged", async () => {
    const missing = blob(`never uploaded ${crypto.randomUUID()}`);
    const bad = manifestOf([missing.desc]);
    await assert.rejects(
      () => repo.pushManifest(bad.bytes, OCI_MANIFEST, "bad"),
      (e) =>
        isKarsError(e, "REGISTRY") &&
        /MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN|MANIFEST_INVALID/.test(e.message),
    );
    assert.equal(await repo.resolve("bad"), null);
  });

  await t.step("error codes: an invalid tag is refused before any request", async () => {
    log.length = 0;
    await assert.rejects(
      () => repo.pushManifest(m.bytes, OCI_MANIFEST, "-not-a-tag"),
      (e) => isKarsError(e, "INPUT") && e.message.includes('"-not-a-tag"'),
    );
    assert.equal(log.length, 0);
  });

  await t.step(
    "error codes: a digest that does not match the bytes is refused locally",
    async () => {
      await assert.rejects(
        () => repo.uploadBlob({ digest: layer.desc.digest, size: 3 }, utf8("abc")),
        (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
      );
    },
  );
}

Deno.test("conformance: docker-registry 2.8", needs("docker-registry"), async (t) => {
  const reg = await startDockerRegistry();
  try {
    await suite(t, {
      name: "docker-registry",
      host: reg.host,
      referrersApi: false,
      singlePost201: false,
      paginates: false,
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("conformance: in-process registry (referrers API, pagination, single POST)", async (t) => {
  const reg = await startRegistryServer({ referrersApi: true, singlePost: true });
  try {
    await suite(t, {
      name: "in-process",
      host: reg.host,
      referrersApi: true,
      singlePost201: true,
      paginates: true,
    });
    // The upload _state query string came back byte for byte (the server checks it).
    assert.ok(reg.requests.some((r) => r.path.includes("_state=")));
  } finally {
    await reg.stop();
  }
});
