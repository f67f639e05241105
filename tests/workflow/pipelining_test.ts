/**
 * Pipelining in `kars egress` (issue 15): on a digest the registry does not have yet, the
 * keyless signer's Fulcio certificate is requested while the artifact's blobs upload, with no
 * extra request; when the push fails, nothing of the run is left running. Ordering is observed
 * (the registry holds the blob uploads until Fulcio has been asked, bounded), never timed.
 */
import assert from "assert";
import { join } from "node:path";
import { runKars } from "../support/cli.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 20) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

Deno.test("egress keyless: Fulcio is asked while the blobs upload (fresh digest); same request count", async () => {
  const reg = await startRegistryServer();
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-pipeline-" });
  try {
    const fulcio = () => mock.requests.filter((r) => r.service === "fulcio").length;
    // For each blob upload, in arrival order: had Fulcio been asked when it completed?
    const askedAtUpload: boolean[] = [];
    reg.setFault(async (req, url) => {
      if (req.method === "PUT" && url.pathname.includes("/blobs/uploads/")) {
        // Hold the blob upload until Fulcio has been asked (at most 3 s).
        askedAtUpload.push(await waitFor(() => fulcio() > 0, 3000));
      }
      return undefined;
    });
    const rootPath = join(dir, "root.json");
    await Deno.writeTextFile(rootPath, JSON.stringify(mock.trustedRoot));
    const args = [
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--registry",
      reg.host,
      "--emit-manifest",
      join(dir, "basic.yaml"),
      "--fulcio-url",
      mock.fulcioUrl,
      "--rekor-url",
      mock.rekorUrl,
      "--trusted-root",
      rootPath,
    ];
    const r = await runKars(args, { env: { SIGSTORE_ID_TOKEN: mock.mintToken() } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fulcio(), 1);
    // The artifact's two blobs (config, layer) come first; Fulcio was asked while they waited.
    assert.ok(askedAtUpload.length >= 2, `blob uploads seen: ${askedAtUpload.length}`);
    assert.deepEqual(
      askedAtUpload.slice(0, 2),
      [true, true],
      "Fulcio was not asked while the artifact's blobs uploaded",
    );
    const firstManifestPut = reg.requests.findIndex((q) =>
      q.method === "PUT" && q.path.includes("/manifests/")
    );
    assert.ok(firstManifestPut > 0);

    // The same run again: the digest exists and is signed, so nothing is started early.
    reg.setFault(undefined);
    const again = await runKars([...args, "--force"], {
      env: { SIGSTORE_ID_TOKEN: mock.mintToken() },
    });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already signed/);
    assert.equal(fulcio(), 1, "a repeat run must not ask Fulcio");
  } finally {
    await reg.stop();
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("egress keyless: a refused push leaves nothing running (the early Fulcio request is awaited)", async () => {
  const reg = await startRegistryServer();
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-pipeline-" });
  try {
    reg.setFault((req, url) =>
      req.method === "PUT" && url.pathname.includes("/blobs/uploads/")
        ? new Response(JSON.stringify({ errors: [{ code: "DENIED", message: "no" }] }), {
          status: 403,
          headers: { "content-type": "application/json" },
        })
        : undefined
    );
    const r = await runKars([
      "egress",
      "basic",
      "--enforce",
      "--from-file",
      BASIC,
      "--registry",
      reg.host,
      "--emit-manifest",
      join(dir, "basic.yaml"),
      "--fulcio-url",
      mock.fulcioUrl,
      "--rekor-url",
      mock.rekorUrl,
    ], { env: { SIGSTORE_ID_TOKEN: mock.mintToken() } });
    assert.notEqual(r.code, 0);
    assert.equal(mock.requests.filter((q) => q.service === "rekor").length, 0);
    // Deno's op sanitizer fails this test if a request of the run were still in flight.
  } finally {
    await reg.stop();
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
