/**
 * First-run fixes (issue 14 item 5): the dry run reads the previous generation as the real run
 * does and prints the digest the real run pushes (`--offline` skips and says it guesses);
 * `latest` moves only after signing succeeded; the artifact is pushed by digest.
 */
import assert from "assert";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { runKars } from "../support/cli.ts";
import { startRegistryServer } from "../support/registry_server.ts";
import { pemEncode } from "../../lib/encoding/pem.ts";
import { pkcs8FromSecret } from "../../lib/sign/p256.ts";
import { RegistryTarget } from "../../lib/oci/registry.ts";

const sandbox = (hosts: string[]) =>
  `apiVersion: kars.azure.com/v1alpha1
kind: KarsSandbox
metadata:
  name: web
spec:
  networkPolicy:
    allowedEndpoints:
${hosts.map((h) => `      - host: ${h}\n`).join("")}`;

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("first run: dry run = real run (generation and digest); --offline guesses; latest after signing", async (t) => {
  const reg = await startRegistryServer();
  const dir = await Deno.makeTempDir({ prefix: "kars-first-run-" });
  try {
    const key = join(dir, "key.pem");
    await Deno.writeTextFile(
      key,
      pemEncode("PRIVATE KEY", pkcs8FromSecret(p256.utils.randomSecretKey())),
    );
    const file = join(dir, "sandbox.yaml");
    const manifest = join(dir, "gitops", "web.yaml");
    const real = ["--registry", reg.host, "--key", key, "--tlog-upload=false"];
    const base = ["egress", "web", "--enforce", "--from-file", file, "--emit-manifest", manifest];
    const target = new RegistryTarget({
      registry: reg.host,
      repository: "policy/egress-allowlist/web",
    });

    await t.step("signing fails: the digest is pushed, latest does not move", async () => {
      await Deno.writeTextFile(file, sandbox(["a.example"]));
      const r = await runKars([
        ...base,
        "--registry",
        reg.host,
        "--key",
        key,
        "--rekor-url",
        `http://127.0.0.1:${closedPort()}`,
      ]);
      assert.equal(r.code, 5, r.stderr); // Rekor refused the connection: transient
      assert.match(r.stderr, /signing failed/);
      assert.equal(await target.resolve("latest"), null);
      assert.ok(reg.requests.some((q) => q.method === "PUT" && /manifests\/sha256:/.test(q.path)));
    });

    let gen1Digest = "";
    await t.step("signing succeeds: latest names the signed digest", async () => {
      const r = await runKars([...base, ...real]);
      assert.equal(r.code, 0, r.stderr);
      gen1Digest = /digest=(sha256:[0-9a-f]{64})/.exec(await Deno.readTextFile(manifest))![1];
      assert.equal((await target.resolve("latest"))?.digest, gen1Digest);
    });

    await t.step(
      "dry run without --registry reads the previous generation as the real run does",
      async () => {
        await Deno.writeTextFile(file, sandbox(["a.example", "b.example"]));
        const dry = await runKars([...base, "--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /generation: 2\n/);
        const dryDigest = /manifest digest: (sha256:[0-9a-f]{64})/.exec(dry.stderr)![1];
        assert.notEqual(dryDigest, gen1Digest);
        const r = await runKars([...base, ...real, "--force"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(await Deno.readTextFile(manifest), new RegExp(`digest=${dryDigest}`));
      },
    );

    await t.step("--offline: no read, and it says the generation is a guess", async () => {
      await Deno.writeTextFile(file, sandbox(["a.example", "c.example"]));
      const before = reg.requests.length;
      const dry = await runKars([...base, "--dry-run", "--offline"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stderr, /offline: .*the generation \(and so the digest\) is a guess/);
      assert.match(dry.stdout, /generation: 1\n/);
      assert.equal(reg.requests.length, before, "no registry request");
      const bad = await runKars([...base, ...real, "--offline"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--offline applies to --dry-run only/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await reg.stop();
  }
});

Deno.test("first run: kars egress verify on the demo's own manifest finds the layout beside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kars-first-run-demo-" });
  try {
    const demo = await runKars(["demo", "--dir", "out"], { cwd: dir });
    assert.equal(demo.code, 0, demo.stderr);
    const r = await runKars([
      "egress",
      "verify",
      "--manifest",
      "out/gitops/demo-agent-allowlist.yaml",
      "--signer-policy",
      "out/signer-policy.yaml",
      "--verdict",
      "ours",
    ], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^AllowlistVerified=True\/Verified: /);
    assert.match(r.stderr, /reading oci-layout from .*out\/layout \(beside the manifest\)/);
    // The demo signs with a key: the kars controller's predicted verdict refuses it (exit 3).
    const both = await runKars([
      "egress",
      "verify",
      "--manifest",
      "out/gitops/demo-agent-allowlist.yaml",
      "--signer-policy",
      "out/signer-policy.yaml",
    ], { cwd: dir });
    assert.equal(both.code, 3, both.stdout + both.stderr);
    assert.match(both.stdout, /\n {2}controller: False\/IdentityMismatch \(predicted\)\n/);
    // Moved away from its layout: the error explains --registry oci:DIR (exit 2, not a DNS error).
    await Deno.rename(join(dir, "out", "layout"), join(dir, "elsewhere"));
    const lost = await runKars([
      "egress",
      "verify",
      "--manifest",
      "out/gitops/demo-agent-allowlist.yaml",
      "--signer-policy",
      "out/signer-policy.yaml",
    ], { cwd: dir });
    assert.equal(lost.code, 2, lost.stdout + lost.stderr);
    assert.match(lost.stderr, /placeholder registry oci-layout.*--registry oci:DIR/);
    const named = await runKars([
      "egress",
      "verify",
      "--manifest",
      "out/gitops/demo-agent-allowlist.yaml",
      "--signer-policy",
      "out/signer-policy.yaml",
      "--registry",
      "oci:elsewhere",
      "--verdict",
      "ours",
    ], { cwd: dir });
    assert.equal(named.code, 0, named.stdout + named.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
