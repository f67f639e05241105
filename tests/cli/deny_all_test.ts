/**
 * Deny-all allowlists (issue 11 item 5): an empty endpoint list is signed as `endpoints: []`
 * only with `--allow-empty`; the signed artifact verifies (ours and the controller's
 * prediction) through the GitOps manifest; without the flag the run is refused with a
 * message naming it and nothing is written. OCI layout + @sigstore/mock keyless signing.
 */
import assert from "assert";
import { join } from "node:path";
import { fromUtf8 } from "../../lib/encoding/bytes.ts";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import type { Digest } from "../../lib/encoding/digest.ts";
import type { ImageManifest } from "../../lib/oci/types.ts";
import { runKars } from "../support/cli.ts";
import { startSigstoreMock } from "../support/sigstore_mock.ts";
import { policyYaml } from "../verify/fixtures.ts";

const SANDBOX = `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: locked
  namespace: kars-locked
spec:
  networkPolicy:
    egressMode: Strict
    allowedEndpoints:
      - host: api.github.com
`;

Deno.test("--allow-empty signs a deny-all allowlist that verifies; without it the empty list is refused naming the flag", async () => {
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-deny-all-" });
  try {
    await Deno.writeTextFile(join(dir, "sandbox.yaml"), SANDBOX);
    await Deno.writeTextFile(join(dir, "root.json"), JSON.stringify(mock.trustedRoot));
    await Deno.writeTextFile(
      join(dir, "policy.yaml"),
      policyYaml([mock.defaultIssuer], [mock.defaultSubject]),
    );
    const egress = (...extra: string[]) =>
      runKars([
        "egress",
        "locked",
        "--from-file",
        "sandbox.yaml",
        "--enforce",
        "--deny",
        "api.github.com",
        "--registry",
        "oci:layout",
        "--ref-registry",
        "myacr.azurecr.io",
        "--emit-manifest",
        "gitops/locked.yaml",
        "--fulcio-url",
        mock.fulcioUrl,
        "--rekor-url",
        mock.rekorUrl,
        "--trusted-root",
        "root.json",
        "--signer-policy",
        "policy.yaml",
        ...extra,
      ], { cwd: dir, env: { SIGSTORE_ID_TOKEN: mock.mintToken() } });

    // Without the flag: refused (input error), the flag named, nothing written.
    const refused = await egress();
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /refusing to sign empty allowlist/);
    assert.match(refused.stderr, /--allow-empty/);
    await assert.rejects(Deno.stat(join(dir, "gitops/locked.yaml")));
    await assert.rejects(Deno.stat(join(dir, "layout")));

    // With it: the exact deny-all bytes, signed, written.
    const ok = await egress("--allow-empty", "--json");
    assert.equal(ok.code, 0, ok.stderr);
    const res = JSON.parse(ok.stdout);
    assert.equal(res.endpoints, 0);
    // keyless, exact SAN: nothing the kars controller would refuse, so no warning
    assert.doesNotMatch(ok.stderr, /⚠/);
    assert.equal(res.verification.controller.status, "True");
    const layout = new LayoutTarget(join(dir, "layout"));
    const m = JSON.parse(
      fromUtf8((await layout.fetchManifest(res.digest as Digest)).bytes),
    ) as ImageManifest;
    const bytes = await layout.fetchBlob(m.layers[0].digest, m.layers[0].size);
    assert.equal(
      fromUtf8(bytes),
      `apiVersion: kars.dev/v1alpha1\nkind: EgressAllowlist\nmetadata:\n  generation: ${res.generation}\nspec:\n  endpoints: []\n`,
    );

    // The GitOps manifest verifies: both verdicts True, deny-all said plainly.
    const v = await runKars([
      "egress",
      "verify",
      "--manifest",
      "gitops/locked.yaml",
      "--registry",
      "oci:layout",
      "--trusted-root",
      "root.json",
      "--signer-policy",
      "policy.yaml",
    ], { cwd: dir });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.ok(
      v.stdout.startsWith(
        `AllowlistVerified=True/Verified: digest=${res.digest}, generation=${res.generation}\n`,
      ),
      v.stdout,
    );
    assert.ok(v.stdout.includes("  controller: True/Verified (predicted)\n"), v.stdout);
    assert.ok(v.stdout.includes("endpoints: none (deny-all allowlist)\n"), v.stdout);
  } finally {
    await mock.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
