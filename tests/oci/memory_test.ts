/**
 * MemoryTarget's referrers index: a referrers query answers from the manifests that name the
 * subject (indexed when pushed), filtered by artifactType, sorted by digest, and hands out
 * copies the caller may change without changing the store.
 */
import assert from "assert";
import { MemoryTarget } from "../../lib/oci/memory.ts";
import { utf8 } from "../../lib/encoding/bytes.ts";
import { digestBytes } from "../../lib/encoding/digest.ts";

const MT = "application/vnd.oci.image.manifest.v1+json";

function manifest(o: Record<string, unknown>): Uint8Array {
  return utf8(JSON.stringify({ schemaVersion: 2, mediaType: MT, layers: [], ...o }));
}

Deno.test("MemoryTarget: referrers by subject, artifactType filter, copies out", async () => {
  const t = new MemoryTarget();
  const a = await t.pushManifest(manifest({ annotations: { n: "a" } }), MT, "a");
  const b = await t.pushManifest(manifest({ annotations: { n: "b" } }), MT, "b");
  const subjectOf = (d: { digest: string; size: number }) => ({ mediaType: MT, ...d });
  const refs = [];
  for (let i = 0; i < 5; i++) {
    refs.push(
      await t.pushManifest(
        manifest({
          artifactType: i % 2 ? "application/vnd.sig" : "application/vnd.other",
          subject: subjectOf(i < 4 ? a : b),
          annotations: { i: String(i) },
        }),
        MT,
      ),
    );
  }
  // A manifest whose subject is not an object, and one that is not JSON, are in no index.
  await t.pushManifest(manifest({ subject: a.digest }), MT);
  await t.pushManifest(utf8("not json"), MT);
  // Pushing the same bytes again indexes them once.
  await t.pushManifest(
    manifest({
      artifactType: "application/vnd.sig",
      subject: subjectOf(a),
      annotations: { i: "1" },
    }),
    MT,
  );

  const all = await t.referrers(a.digest);
  assert.deepEqual(all.map((d) => d.digest), refs.slice(0, 4).map((d) => d.digest).sort());
  assert.deepEqual(
    (await t.referrers(a.digest, "application/vnd.sig")).map((d) => d.annotations?.i).sort(),
    ["1", "3"],
  );
  assert.deepEqual((await t.referrers(b.digest)).map((d) => d.digest), [refs[4].digest]);
  assert.deepEqual(await t.referrers(digestBytes(utf8("nothing"))), []);

  // Descriptors are copies: changing one changes neither the store nor the next answer.
  const one = all.find((d) => d.annotations?.i === "0")!;
  one.annotations!.i = "changed";
  one.size = 1;
  const again = (await t.referrers(a.digest)).find((d) => d.digest === one.digest)!;
  assert.equal(again.annotations?.i, "0");
  assert.notEqual(again.size, 1);
  const resolved = (await t.resolve("a"))!;
  resolved.annotations!.n = "changed";
  assert.equal((await t.resolve("a"))!.annotations?.n, "a");
  assert.equal((await t.resolve(a.digest))!.size, a.size);
});
