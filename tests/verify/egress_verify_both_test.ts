/**
 * `kars egress verify` reports both verdicts — ours and the kars controller's predicted one
 * (formats.md §8) — and exits 3 when either is False; `--verdict ours|controller|both`
 * picks which decides. Artifacts live in an OCI layout (`--registry oci:DIR`); keyless
 * signatures come from the @sigstore/mock Fulcio/Rekor on loopback.
 */
import assert from "assert";
import { LayoutTarget } from "../../lib/oci/layout.ts";
import { runKars } from "../support/cli.ts";
import { type SigstoreMock, startSigstoreMock } from "../support/sigstore_mock.ts";
import type { Signer } from "../../lib/sign/signer.ts";
import { keylessSigner, keySigner, policyYaml, pushAllowlist, signLegacy } from "./fixtures.ts";

const REG = "myacr.azurecr.io";
const REPO = "policy/egress-allowlist/my-agent";
const GLOB = "https://github.com/acme/gitops/.github/workflows/*.yml@refs/heads/main";

interface Setup {
  dir: string;
  ref: string;
  mock: SigstoreMock;
  verify(policy: string, ...extra: string[]): ReturnType<typeof runKars>;
  stop(): Promise<void>;
}

/** A signed artifact in an OCI layout, the mock's trust root, and a verify runner. */
async function setup(signer: (mock: SigstoreMock) => Signer): Promise<Setup> {
  const mock = await startSigstoreMock();
  const dir = await Deno.makeTempDir({ prefix: "kars-verify-both-" });
  const layout = new LayoutTarget(`${dir}/layout`);
  const a = await pushAllowlist(layout);
  await signLegacy(layout, {
    registry: REG,
    repository: REPO,
    digest: a.manifestDigest,
    signer: signer(mock),
    rekorUrl: mock.rekorUrl,
  });
  await Deno.writeTextFile(`${dir}/root.json`, JSON.stringify(mock.trustedRoot));
  const ref = `${REG}/${REPO}@${a.manifestDigest}`;
  return {
    dir,
    ref,
    mock,
    verify: (policy, ...extra) =>
      runKars([
        "egress",
        "verify",
        ref,
        "--registry",
        "oci:layout",
        "--trusted-root",
        "root.json",
        "--signer-policy",
        policy,
        ...extra,
      ], { cwd: dir }),
    stop: async () => {
      await mock.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("egress verify: key-signed, policy pins its key → exit 3 (controller IdentityMismatch); --verdict ours → 0", async () => {
  const key = keySigner();
  const s = await setup(() => key.signer);
  try {
    await Deno.writeTextFile(
      `${s.dir}/pinned.yaml`,
      policyYaml([s.mock.defaultIssuer], [s.mock.defaultSubject], key.publicPem),
    );
    const r = await s.verify("pinned.yaml");
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const lines = r.stdout.split("\n");
    assert.match(lines[0], /^AllowlistVerified=False\/IdentityMismatch: .*accepts only keyless/);
    assert.equal(lines[1], "  ours:       True/Verified");
    assert.equal(lines[2], "  controller: False/IdentityMismatch (predicted)");
    assert.ok(r.stdout.includes("fix: sign keylessly"), r.stdout);

    const ours = await s.verify("pinned.yaml", "--verdict", "ours");
    assert.equal(ours.code, 0, ours.stdout + ours.stderr);
    assert.ok(ours.stdout.startsWith("AllowlistVerified=True/Verified: "), ours.stdout);
    assert.match(
      ours.stdout,
      /\n {2}controller: False\/IdentityMismatch \(predicted, not deciding\): .*accepts only keyless/,
    );

    const ctl = await s.verify("pinned.yaml", "--verdict", "controller");
    assert.equal(ctl.code, 3, ctl.stdout);
  } finally {
    await s.stop();
  }
});

Deno.test("egress verify: keyless under a glob → exit 3 (controller IdentityMismatch); --verdict ours → 0", async () => {
  const s = await setup((mock) => keylessSigner(mock));
  try {
    await Deno.writeTextFile(`${s.dir}/glob.yaml`, policyYaml([s.mock.defaultIssuer], [GLOB]));
    const r = await s.verify("glob.yaml");
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^AllowlistVerified=False\/IdentityMismatch: /);
    assert.ok(r.stdout.includes("exact string there (no globs)"), r.stdout);
    assert.ok(r.stdout.includes("fix: list the signer's exact SAN"), r.stdout);
    assert.ok(r.stdout.includes("  ours:       True/Verified\n"), r.stdout);

    const ours = await s.verify("glob.yaml", "--verdict", "ours");
    assert.equal(ours.code, 0, ours.stdout + ours.stderr);
  } finally {
    await s.stop();
  }
});

Deno.test("egress verify: keyless under an exact SAN → 0 for both; JSON carries both (C3)", async () => {
  const s = await setup((mock) => keylessSigner(mock));
  try {
    await Deno.writeTextFile(
      `${s.dir}/exact.yaml`,
      policyYaml([s.mock.defaultIssuer], [s.mock.defaultSubject]),
    );
    for (const by of ["both", "ours", "controller"]) {
      const r = await s.verify("exact.yaml", "--verdict", by);
      assert.equal(r.code, 0, `${by}: ${r.stdout}${r.stderr}`);
    }
    const r = await s.verify("exact.yaml");
    assert.ok(r.stdout.includes("  controller: True/Verified (predicted)\n"), r.stdout);
    // the mock's root is not the public-good one: said so
    assert.ok(r.stdout.includes("note: the trust material used differs"), r.stdout);
    assert.ok(!r.stdout.includes("fix:"), r.stdout);

    const j = JSON.parse((await s.verify("exact.yaml", "--json")).stdout);
    assert.equal(j.ok, true);
    assert.equal(j.schemaVersion, 1);
    assert.deepEqual(Object.keys(j.verification), [
      "reference",
      "ours",
      "controller",
      "decidedBy",
      "verified",
    ]);
    assert.equal(j.verification.reference, s.ref);
    assert.equal(j.verification.ours.status, "True");
    assert.equal(j.verification.controller.status, "True");
    assert.equal(j.verification.decidedBy, "both");
    assert.equal(j.verification.verified, true);

    await Deno.writeTextFile(`${s.dir}/glob.yaml`, policyYaml([s.mock.defaultIssuer], [GLOB]));
    const g = await s.verify("glob.yaml", "--json", "--verdict", "ours");
    assert.equal(g.code, 0);
    const gj = JSON.parse(g.stdout);
    assert.equal(gj.verification.decidedBy, "ours");
    assert.equal(gj.verification.verified, true);
    assert.equal(gj.verification.controller.reason, "IdentityMismatch");
    assert.deepEqual(gj.controllerFixes, ["exact-san"]);

    const bad = await s.verify("exact.yaml", "--verdict", "theirs");
    assert.equal(bad.code, 2);
    assert.ok(bad.stderr.includes("--verdict"), bad.stderr);
  } finally {
    await s.stop();
  }
});
