/**
 * The per-run read cache (lib/oci/read_cache.ts): reads by digest are answered once; tags,
 * writes and faults always reach the target; the cache is bounded; callers get copies.
 */
import assert from "assert";
import { type Digest, digestBytes } from "../../lib/encoding/digest.ts";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { cachingTarget } from "../../lib/oci/read_cache.ts";
import { OCI_MANIFEST, type Target } from "../../lib/oci/types.ts";

/** A MemoryTarget that counts the calls it receives, by method. */
function counted(): { target: Target; calls: Map<string, number> } {
  const inner = new MemoryTarget("counted");
  const calls = new Map<string, number>();
  const target = new Proxy(inner, {
    get(t, prop, recv) {
      const v = Reflect.get(t, prop, recv);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return v.apply(t, args);
      };
    },
  });
  return { target, calls };
}

const enc = (s: string) => new TextEncoder().encode(s);

async function seed(t: Target) {
  const blob = enc("endpoints: []\n");
  const blobDigest = digestBytes(blob);
  await t.pushBlob({ digest: blobDigest, size: blob.length }, blob);
  await t.pushBlob({ digest: digestBytes(enc("{}")), size: 2 }, enc("{}"));
  const manifest = enc(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: digestBytes(enc("{}")),
      size: 2,
    },
    layers: [{ mediaType: "text/plain", digest: blobDigest, size: blob.length }],
  }));
  const desc = await t.pushManifest(manifest, OCI_MANIFEST, "latest");
  return { blob, blobDigest, manifest, manifestDigest: desc.digest };
}

Deno.test("read cache: a manifest and a blob read by digest are fetched once; existence follows", async () => {
  const { target, calls } = counted();
  const s = await seed(target);
  calls.clear();
  const t = cachingTarget(target);
  const m1 = await t.fetchManifest(s.manifestDigest);
  const m2 = await t.fetchManifest(s.manifestDigest);
  assert.deepEqual(m2.bytes, m1.bytes);
  assert.equal(m2.descriptor.digest, s.manifestDigest);
  assert.equal((await t.resolve(s.manifestDigest))?.digest, s.manifestDigest);
  const b1 = await t.fetchBlob(s.blobDigest, s.blob.length);
  const b2 = await t.fetchBlob(s.blobDigest, s.blob.length);
  assert.deepEqual(b2, s.blob);
  assert.deepEqual(b1, s.blob);
  assert.equal(await t.blobExists(s.blobDigest), true);
  assert.equal(calls.get("fetchManifest"), 1);
  assert.equal(calls.get("fetchBlob"), 1);
  assert.equal(calls.get("resolve") ?? 0, 0);
  assert.equal(calls.get("blobExists") ?? 0, 0);
  assert.deepEqual(t.stats, { hits: 4, misses: 2 });
});

Deno.test("read cache: tags are never cached, not even across no write; writes pass through", async () => {
  const { target, calls } = counted();
  const s = await seed(target);
  calls.clear();
  const t = cachingTarget(target);
  await t.fetchManifest("latest");
  await t.fetchManifest("latest");
  await t.resolve("latest");
  await t.resolve("latest");
  assert.equal(calls.get("fetchManifest"), 2);
  assert.equal(calls.get("resolve"), 2);
  // A tag read does not fill the cache for its digest either (only reads by digest do).
  await t.resolve(s.manifestDigest);
  assert.equal(calls.get("resolve"), 3);
  // Writes reach the target, and a write fills nothing: the read after it is real.
  const other = enc("other");
  const d = digestBytes(other);
  await t.pushBlob({ digest: d, size: other.length }, other);
  assert.equal(calls.get("pushBlob"), 1);
  await t.fetchBlob(d, other.length);
  assert.equal(calls.get("fetchBlob"), 1);
});

Deno.test("read cache: absent content and a size mismatch are not cached", async () => {
  const { target, calls } = counted();
  const s = await seed(target);
  calls.clear();
  const t = cachingTarget(target);
  const missing = ("sha256:" + "1".repeat(64)) as Digest;
  await assert.rejects(() => t.fetchBlob(missing));
  await assert.rejects(() => t.fetchBlob(missing));
  assert.equal(calls.get("fetchBlob"), 2);
  assert.equal(await t.resolve(missing), null);
  assert.equal(await t.resolve(missing), null);
  assert.equal(calls.get("resolve"), 2);
  await t.fetchBlob(s.blobDigest, s.blob.length);
  // The cached blob does not answer a read that expects another size: the target decides.
  await assert.rejects(() => t.fetchBlob(s.blobDigest, s.blob.length + 1));
  assert.equal(calls.get("fetchBlob"), 4);
});

Deno.test("read cache: callers get copies (altering one does not alter the next answer)", async () => {
  const { target } = counted();
  const s = await seed(target);
  const t = cachingTarget(target);
  const first = await t.fetchBlob(s.blobDigest, s.blob.length);
  first.fill(0);
  assert.deepEqual(await t.fetchBlob(s.blobDigest, s.blob.length), s.blob);
  const m = await t.fetchManifest(s.manifestDigest);
  m.bytes.fill(0);
  assert.deepEqual((await t.fetchManifest(s.manifestDigest)).bytes, s.manifest);
});

Deno.test("read cache: bounded — an entry over the entry bound is not kept; the oldest go first", async () => {
  const { target, calls } = counted();
  const blobs: { d: Digest; b: Uint8Array }[] = [];
  for (let i = 0; i < 3; i++) {
    const b = enc(String(i).repeat(100));
    const d = digestBytes(b);
    await target.pushBlob({ digest: d, size: b.length }, b);
    blobs.push({ d, b });
  }
  const big = enc("x".repeat(300));
  await target.pushBlob({ digest: digestBytes(big), size: big.length }, big);
  calls.clear();
  const t = cachingTarget(target, { maxEntryBytes: 200, maxBytes: 250 });
  await t.fetchBlob(digestBytes(big));
  await t.fetchBlob(digestBytes(big));
  assert.equal(calls.get("fetchBlob"), 2, "over the entry bound: not kept");
  for (const { d } of blobs) await t.fetchBlob(d); // 3 × 100 bytes > 250: the first goes
  calls.clear();
  await t.fetchBlob(blobs[2].d);
  await t.fetchBlob(blobs[1].d);
  assert.equal(calls.get("fetchBlob") ?? 0, 0);
  await t.fetchBlob(blobs[0].d);
  assert.equal(calls.get("fetchBlob"), 1, "the oldest entry was dropped");
});

Deno.test("read cache: keeps the target's optional capabilities", () => {
  const uploads: string[] = [];
  const inner = Object.assign(new MemoryTarget(), {
    uploadBlob: (d: { digest: string }) => {
      uploads.push(d.digest);
      return Promise.resolve();
    },
    willPush: () => {},
    recheckBlobs: true,
  });
  const t = cachingTarget(inner) as unknown as typeof inner;
  assert.equal(typeof t.uploadBlob, "function");
  assert.equal(typeof t.willPush, "function");
  assert.equal(t.recheckBlobs, true);
  assert.equal(
    typeof (cachingTarget(new MemoryTarget()) as { uploadBlob?: unknown }).uploadBlob,
    "undefined",
  );
});
