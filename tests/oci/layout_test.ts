import assert from "assert";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { isKarsError } from "../../lib/errors.ts";
import { copy, pushArtifact } from "../../lib/oci/copy.ts";
import { LayoutTarget, REF_NAME } from "../../lib/oci/layout.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { openTarget, parseTargetSpec } from "../../lib/oci/open.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";
import { OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/types.ts";
import { allowlistArtifact } from "../support/oci_fixtures.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "kars-layout-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await listAll(p));
    else out.push(p);
  }
  return out;
}

Deno.test("LayoutTarget: OCI layout files, tags as ref.name, no temp files left", async () => {
  await withDir(async (dir) => {
    const t = new LayoutTarget(dir);
    const a = allowlistArtifact("hosts: [a]\n");
    const d = await pushArtifact(t, a, { tags: ["latest"] });
    assert.equal(d.digest, a.digest);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/oci-layout`)), {
      imageLayoutVersion: "1.0.0",
    });
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(
      index.manifests.map((
        m: { digest: string; annotations?: Record<string, string> },
      ) => [m.digest, m.annotations?.[REF_NAME]]),
      [[a.digest, "latest"]],
    );
    const files = (await listAll(dir)).map((p) => p.slice(dir.length + 1)).sort();
    assert.deepEqual(
      files,
      [
        ...[a.digest, ...a.blobs.map((b) => b.desc.digest)].map((d) => `blobs/sha256/${d.slice(7)}`)
          .sort(),
        "index.json",
        "oci-layout",
      ].sort(),
    );
    // Moving the tag leaves one entry for it.
    const b = allowlistArtifact("hosts: [b]\n");
    await pushArtifact(t, b, { tags: ["latest", "gen-2"] });
    assert.equal((await t.resolve("latest"))?.digest, b.digest);
    assert.deepEqual(await t.listTags(), ["gen-2", "latest"]);
    const idx2 = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    assert.equal(
      idx2.manifests.filter((m: { annotations?: Record<string, string> }) =>
        m.annotations?.[REF_NAME] === "latest"
      ).length,
      1,
    );
    // Pushing by digest records an untagged entry; tagging it replaces that entry.
    await t.pushManifest(a.manifestBytes, OCI_MANIFEST);
    await t.tag({ mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifestBytes.length }, "old");
    const idx3 = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    assert.equal(idx3.manifests.filter((m: { digest: string }) => m.digest === a.digest).length, 1);
    assert.equal((await t.resolve("old"))?.digest, a.digest);
  });
});

Deno.test("LayoutTarget: referrers by subject scan, artifactType filter", async () => {
  await withDir(async (dir) => {
    const t = new LayoutTarget(dir);
    const a = allowlistArtifact("hosts: [subject]\n");
    await pushArtifact(t, a, { tags: ["latest"] });
    const subject = { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifestBytes.length };
    const sig = allowlistArtifact("sig\n", { artifactType: "application/vnd.sig", subject });
    const sbom = allowlistArtifact("sbom\n", { artifactType: "application/vnd.sbom", subject });
    await pushArtifact(t, sig);
    await pushArtifact(t, sbom);
    const all = await t.referrers(a.digest);
    assert.deepEqual(all.map((d) => d.digest).sort(), [sig.digest, sbom.digest].sort());
    assert.deepEqual((await t.referrers(a.digest, "application/vnd.sig")).map((d) => d.digest), [
      sig.digest,
    ]);
    assert.deepEqual(await t.referrers(digestBytes(utf8("other"))), []);
  });
});

Deno.test("LayoutTarget: verification and errors", async () => {
  await withDir(async (dir) => {
    const t = new LayoutTarget(dir);
    const a = allowlistArtifact("hosts: [verify]\n");
    await pushArtifact(t, a, { tags: ["latest"] });
    assert.equal(await t.resolve("missing"), null);
    assert.equal(await t.resolve(a.layerDesc.digest), null, "a layer blob is not a manifest");
    await assert.rejects(() => t.fetchManifest("missing"), (e) => isKarsError(e, "NOT_FOUND"));
    const good = await t.fetchBlobStream(a.layerDesc.digest, a.layerDesc.size);
    assert.deepEqual(new Uint8Array(await new Response(good).arrayBuffer()), a.layer);
    await Deno.writeFile(`${dir}/blobs/sha256/${a.layerDesc.digest.slice(7)}`, utf8("tampered"));
    await assert.rejects(
      async () => await new Response(await t.fetchBlobStream(a.layerDesc.digest)).arrayBuffer(),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    await assert.rejects(
      () => t.fetchBlob(a.layerDesc.digest),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    await assert.rejects(
      () => t.pushBlob({ digest: a.layerDesc.digest, size: 3 }, utf8("abc")),
      (e) => isKarsError(e, "REGISTRY") && e.details?.reason === "DigestMismatch",
    );
    await assert.rejects(
      () => t.pushManifest(a.manifestBytes, OCI_MANIFEST, "-bad"),
      (e) => isKarsError(e, "INPUT"),
    );
    await Deno.writeTextFile(`${dir}/oci-layout`, "nonsense");
    await assert.rejects(
      () => t.pushManifest(a.manifestBytes, OCI_MANIFEST, "x"),
      (e) => isKarsError(e, "INPUT") && /oci-layout/.test(e.message),
    );
  });
});

Deno.test("copy: memory → layout → memory with an index, digests preserved", async () => {
  await withDir(async (dir) => {
    const src = new MemoryTarget();
    const a = allowlistArtifact("one\n");
    const b = allowlistArtifact("two\n");
    await pushArtifact(src, a);
    await pushArtifact(src, b);
    const index = utf8(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [a, b].map((x) => ({
        mediaType: OCI_MANIFEST,
        digest: x.digest,
        size: x.manifestBytes.length,
      })),
    }));
    await src.pushManifest(index, OCI_INDEX, "multi");
    const layout = new LayoutTarget(dir);
    const d = await copy(src, layout, "multi");
    assert.equal(d.digest, digestBytes(index));
    const back = new MemoryTarget();
    await copy(layout, back, "multi", { tag: "again" });
    assert.deepEqual((await back.fetchManifest("again")).bytes, index);
    assert.deepEqual((await back.fetchManifest(b.digest)).bytes, b.manifestBytes);
    assert.deepEqual(await back.fetchBlob(b.layerDesc.digest), b.layer);
  });
});

Deno.test("copy: referrers (and theirs) follow the subject when asked", async () => {
  await withDir(async (dir) => {
    const src = new MemoryTarget();
    const a = allowlistArtifact("subject\n");
    await pushArtifact(src, a, { tags: ["latest"] });
    const subject = { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifestBytes.length };
    const sig = allowlistArtifact("bundle\n", { artifactType: "application/vnd.sig", subject });
    await pushArtifact(src, sig);
    const sigSubject = {
      mediaType: OCI_MANIFEST,
      digest: sig.digest,
      size: sig.manifestBytes.length,
    };
    const counter = allowlistArtifact("countersig\n", {
      artifactType: "application/vnd.c",
      subject: sigSubject,
    });
    await pushArtifact(src, counter);
    const plain = new LayoutTarget(`${dir}/plain`);
    await copy(src, plain, "latest");
    assert.deepEqual(await plain.referrers(a.digest), []);
    const layout = new LayoutTarget(`${dir}/with`);
    await copy(src, layout, "latest", { referrers: true });
    assert.deepEqual((await layout.referrers(a.digest)).map((d) => d.digest), [sig.digest]);
    assert.deepEqual((await layout.referrers(sig.digest)).map((d) => d.digest), [counter.digest]);
    assert.deepEqual(await layout.fetchBlob(counter.layerDesc.digest), counter.layer);
    // Copying again changes nothing.
    const before = await Deno.readTextFile(`${dir}/with/index.json`);
    await copy(src, layout, "latest", { referrers: true });
    assert.equal(await Deno.readTextFile(`${dir}/with/index.json`), before);
  });
});

Deno.test("openTarget: oci:<dir> is the layout; host is a registry; else USAGE", async () => {
  await withDir((dir) => {
    const t = openTarget(`oci:${dir}`, "policy/egress-allowlist/web");
    assert.ok(t instanceof LayoutTarget);
    assert.equal((t as LayoutTarget).dir, dir);
    const r = openTarget("127.0.0.1:5000", "policy/egress-allowlist/web");
    assert.ok(r instanceof RegistryTarget);
    assert.equal(r.location, "127.0.0.1:5000/policy/egress-allowlist/web");
    assert.throws(() => openTarget("https://r.example", "a/b"), (e) => isKarsError(e, "USAGE"));
    assert.throws(() => openTarget("oci:", "a/b"), (e) => isKarsError(e, "USAGE"));
    assert.throws(() => openTarget("r.example", "Bad/Name"), (e) => isKarsError(e, "INPUT"));
    return Promise.resolve();
  });
});

Deno.test("parseTargetSpec: the one reader of target strings (library and CLI)", () => {
  assert.deepEqual(parseTargetSpec("oci:./l", "registry"), { kind: "layout", path: "./l" });
  assert.deepEqual(parseTargetSpec("R.Example:5000", "registry"), {
    kind: "registry",
    host: "r.example:5000",
  });
  for (const bad of ["oci:", "https://r.example", "r.example/path", "169.254.169.254", ""]) {
    assert.throws(
      () => parseTargetSpec(bad, "--registry"),
      (e) => isKarsError(e, "USAGE") && e.message.includes("--registry"),
      bad,
    );
  }
});

Deno.test("openTarget: a hand-built registry spec gets the same host checks", () => {
  assert.throws(
    () => openTarget({ kind: "registry", host: "169.254.169.254" }, "a/b"),
    (e) => isKarsError(e, "USAGE"),
  );
  assert.equal(
    openTarget({ kind: "registry", host: "R.Example" }, "a/b").location,
    "r.example/a/b",
  );
});
