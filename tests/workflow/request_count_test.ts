/**
 * Request counts of the keyless `kars egress --enforce --emit-manifest` flow (issue 15), counted
 * on the wire — docker-registry behind the counting proxy, the @sigstore/mock services — so that
 * a change that adds a request fails here (the bench only reports counts). The lists are
 * compared as multisets (parallel requests arrive in any order); digests and upload ids are
 * replaced by what they name.
 */
import assert from "assert";
import { join } from "node:path";
import type { Digest } from "../../lib/encoding/digest.ts";
import { runKars } from "../support/cli.ts";
import { type ProxiedRequest, startCountingProxy } from "../support/counting_proxy.ts";
import { needs, startDockerRegistry } from "../support/docker_registry.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";

const BASIC = new URL("../../testdata/sandboxes/basic.yaml", import.meta.url).pathname;
const REPO = "policy/egress-allowlist/counted";

/** `METHOD what STATUS`, with the artifact's digest as `<digest>`, its `.sig` tag as `<sig>`. */
function shape(r: ProxiedRequest, digest: Digest): string {
  const hex = digest.slice(7);
  const path = r.path.replace(/^\/v2\/policy\/egress-allowlist\/counted\//, "")
    .replace(`sha256-${hex}.sig`, "<sig>")
    .replace(digest, "<digest>")
    .replace(/sha256:[0-9a-f]{64}/, "<other>")
    .replace(/uploads\/[^?]+\?.*$/, "uploads/<session>")
    .replace(/\?.*$/, "");
  return `${r.method} ${path} ${r.status}`;
}

Deno.test(
  "egress keyless: fresh and repeat runs make exactly the requests of the recorded baseline",
  needs("docker-registry"),
  async () => {
    const reg = await startDockerRegistry();
    const proxy = await startCountingProxy(reg.url);
    const mock = await startSigstoreMock();
    const dir = await Deno.makeTempDir({ prefix: "kars-count-" });
    try {
      const root = join(dir, "root.json");
      await Deno.writeTextFile(root, JSON.stringify(mock.trustedRoot));
      const run = async () => {
        proxy.reset();
        const before = mock.requests.length;
        const r = await runKars([
          ...["egress", "basic", "--enforce", "--from-file", BASIC],
          ...["--registry", proxy.host, "--repository", REPO],
          ...["--emit-manifest", join(dir, "basic.yaml"), "--force"],
          ...["--fulcio-url", mock.fulcioUrl, "--rekor-url", mock.rekorUrl],
          ...["--trusted-root", root, "--json"],
        ], { env: { SIGSTORE_ID_TOKEN: mock.mintToken() } });
        assert.equal(r.code, 0, r.stderr);
        const digest = JSON.parse(r.stdout).digest as Digest;
        return {
          registry: proxy.requests.map((q) => shape(q, digest)).sort(),
          sigstore: mock.requests.slice(before).map((q) => `${q.service} ${q.status}`).sort(),
          stdout: r.stdout,
        };
      };

      const fresh = await run();
      assert.deepEqual(fresh.sigstore, ["fulcio 201", "rekor 201"]);
      assert.deepEqual(
        fresh.registry,
        [
          "HEAD manifests/<digest> 404", // the push: is the artifact there?
          // the artifact's config and layer, the .sig payload and config
          ...Array(4).fill("POST blobs/uploads/ 202"),
          ...Array(4).fill("PUT blobs/uploads/<session> 201"),
          "PUT manifests/<digest> 201",
          "GET manifests/<sig> 404", // the store: read before the write
          "PUT manifests/<sig> 201",
          "GET manifests/<sig> 200", // the confirming read
          "PUT manifests/latest 201",
        ].sort(),
      );

      // The same run again: the GitOps manifest names the digest just pushed and signed.
      const repeat = await run();
      assert.deepEqual(repeat.sigstore, []);
      assert.match(repeat.stdout, /"alreadySigned": ?true/);
      assert.deepEqual(
        repeat.registry,
        [
          "GET manifests/<digest> 200", // the previous allowlist (generation)
          "GET blobs/<other> 200", // … its layer
          // own-signature lookup: the .sig manifest, by its tag; the discovery reuses it
          "GET manifests/<sig> 200",
          "GET blobs/<other> 200", // its payload
          "PUT manifests/latest 201",
        ].sort(),
      );
    } finally {
      await mock.stop();
      await proxy.stop();
      await reg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
