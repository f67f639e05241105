/** LayoutTarget.pushManifestIf: the compare-and-swap the `.sig` store relies on in layouts. */
import assert from "assert";
import { digestBytes } from "../../lib/encoding/digest.ts";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import { OCI_MANIFEST } from "../../lib/oci/types.ts";

Deno.test("LayoutTarget.pushManifestIf: moves the tag only from the expected digest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-cas-" });
  try {
    const t = new LayoutTarget(dir);
    const m = (n: number) =>
      new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, n }));
    const [m1, m2, m3] = [m(1), m(2), m(3)];
    assert.ok(await t.pushManifestIf(m1, OCI_MANIFEST, "sig", null), "absent → created");
    assert.equal(await t.pushManifestIf(m2, OCI_MANIFEST, "sig", null), null, "not absent now");
    assert.equal((await t.resolve("sig"))?.digest, digestBytes(m1));
    assert.equal(
      await t.pushManifestIf(m3, OCI_MANIFEST, "sig", digestBytes(m2)),
      null,
      "stale expectation",
    );
    assert.ok(await t.pushManifestIf(m2, OCI_MANIFEST, "sig", digestBytes(m1)));
    assert.equal((await t.resolve("sig"))?.digest, digestBytes(m2));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
